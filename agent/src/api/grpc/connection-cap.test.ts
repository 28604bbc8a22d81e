// gRPC connections over api.maxConnections on a real agent, its TCP port and its socket (docs/agent.md
// "Limits", ./refused.ts). Before, node closed them on accept, and a grpc-js client's call failed with
// `14 UNAVAILABLE: No connection established. Last error: Failed to connect`, nothing naming why. Now each call on one is answered UNAVAILABLE
// with OVERLOADED in the `error-code` trailer and a message naming the setting and the listener; the
// client is served again once a connection closes. Past SPARE_CONNECTIONS such connections, closed on accept.
// An HTTP/2 request that is not a gRPC call on one over the cap gets the JSON 415 of one under it (./not-grpc.ts).
// /metrics counts each listener's connections and those refused, answered or closed (edgefleet_agent_api_connections*).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle } from '../../testing.js';
import { SPARE_CONNECTIONS } from '../connection-cap.js';
import { oipClient, type OipGrpcClient } from './client.js';
import { agentMetric, h2, refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const connections = (listener: string) => `edgefleet_agent_api_connections{listener="${listener}"}`;
const refusedTotal = (listener: string, how: string) => `edgefleet_agent_api_connections_refused_total{listener="${listener}",how="${how}"}`;

describe('local API over gRPC: connections over api.maxConnections', () => {
  let g: GrpcAgent;
  let socket: string;
  const clients: OipGrpcClient[] = [];
  const client = (target: string) => {
    // A connection of its own (grpc-js clients of one target share one otherwise).
    const c = oipClient(target, { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  };
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], (kit) => {
      socket = join(kit.dir, 'grpc.sock');
      return { api: { maxConnections: 2, grpc: { socket } } };
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await g.close();
  });

  for (const listener of ['api.grpc.port', 'api.grpc.socket']) {
    it(`a call on one over the cap is answered UNAVAILABLE naming it (${listener}), and served once one closes`, async () => {
      const target = listener === 'api.grpc.port' ? g.agent.grpcAddress! : `unix://${socket}`;
      // Two clients, a connection each, fill the cap.
      const holders = [client(target), client(target)];
      for (const h of holders) assert.deepEqual(await h.call('ModelReady', { name: 'mlp' }), { ready: true });
      const over = client(target);
      const err = await refused(over.call('ModelReady', { name: 'mlp' }));
      assert.equal(err.code, status.UNAVAILABLE);
      const where = listener === 'api.grpc.port' ? `api.grpc.port ${g.agent.grpcAddress!.split(':').pop()}` : `api.grpc.socket ${socket}`;
      assert.equal(err.details, `${where} holds 2 connections (api.maxConnections): expected at most 2 at once on it; retry once one closes, or send more requests on fewer connections (one channel for all calls)`);
      assert.deepEqual(err.metadata.get('error-code'), ['OVERLOADED']);
      assert.equal(await agentMetric(g, connections(listener)), 2, 'the cap full on /metrics');
      assert.equal(await agentMetric(g, refusedTotal(listener, 'answered')), 1, 'the refused connection counted');
      assert.equal(await agentMetric(g, `edgefleet_agent_api_connections_waiting{listener="${listener}"}`), 0, 'gRPC connections never wait');
      holders[0]!.close();
      // The refused connection gets a GOAWAY after REFUSED_CONNECTION_MS: the client's next call connects again.
      const served = await waitFor('the client over the cap served once a connection closed', () => over.call('ModelReady', { name: 'mlp' }).catch(() => undefined), { timeoutMs: 10_000, intervalMs: 100 });
      assert.deepEqual(served, { ready: true });
      for (const c of [holders[1]!, over]) c.close();
    });
  }

  it('an HTTP/2 request that is not a gRPC call on a connection over it gets the JSON 415 of one under it (./not-grpc.ts)', async () => {
    const url = `http://${g.agent.grpcAddress!}`;
    await waitFor('the connections of the tests before closed', async () => (await agentMetric(g, connections('api.grpc.port'))) === 0, { timeoutMs: 10_000 });
    const answered = await agentMetric(g, refusedTotal('api.grpc.port', 'answered'));
    // Two sessions fill the cap (accepted in the order they connect): the third is the refusing server's.
    const holders = [h2connect(url), h2connect(url)];
    for (const h of holders) h.on('error', () => undefined);
    try {
      for (const h of holders) await new Promise((r) => h.once('connect', r));
      const r = await h2(url, { ':path': '/v2', accept: '*/*' });
      const port = g.agent.grpcAddress!.split(':').pop()!;
      assert.deepEqual(r, {
        status: 415,
        type: 'application/json',
        body: JSON.stringify({
          error: `api.grpc.port ${port} speaks gRPC (HTTP/2 without TLS), and this HTTP/2 request is not a gRPC call ("GET /v2" with no content-type; expected application/grpc): expected a gRPC client of inference.GRPCInferenceService (agent/proto/grpc_predict_v2.proto); REST (OIP v2 over HTTP/1.1) is at ${g.agent.url} (api.port)`,
          code: 'UNSUPPORTED_MEDIA_TYPE',
        }),
      });
      assert.equal(await agentMetric(g, refusedTotal('api.grpc.port', 'answered')), answered + 1, 'it came over the cap');
    } finally {
      for (const h of holders) h.destroy();
    }
  });
});

describe('local API over gRPC: past the refused connections', () => {
  let g: GrpcAgent;
  const socks: Socket[] = [];
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { maxConnections: 2 } });
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await g.close();
  });

  it(`closes connections on accept past ${SPARE_CONNECTIONS} refused ones; a refused one is closed even if it never speaks`, async () => {
    const target = g.agent.grpcAddress!;
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    const closed = new Set<number>();
    const spoken = new Set<number>();
    // 2 within the cap (no HTTP/2 preface: held until the idle timeout), SPARE_CONNECTIONS refused, one more.
    const n = 2 + SPARE_CONNECTIONS + 1;
    for (let i = 0; i < n; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed.add(i));
      // Read what comes, so a close is seen (nothing: the agent waits for a client's first bytes, ./first-bytes.ts).
      s.on('data', () => spoken.add(i));
      socks.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await waitFor('every refused connection closed by the agent', () => closed.size >= n - 2 || undefined, { timeoutMs: 10_000 });
    assert.deepEqual([...closed].sort((a, b) => a - b), Array.from({ length: n - 2 }, (_, i) => 2 + i));
    // The last was closed on accept; the refused ones, silent, were closed once they had said nothing for REFUSED_CONNECTION_MS.
    assert.deepEqual([...spoken], []);
    assert.equal(await agentMetric(g, refusedTotal('api.grpc.port', 'answered')), SPARE_CONNECTIONS);
    assert.equal(await agentMetric(g, refusedTotal('api.grpc.port', 'closed')), 1);
});
});
