// gRPC connections of an in-process agent (real installed bundle) against clients that hold a
// connection without speaking HTTP/2: a socket that never sends nor reads must not keep one of
// api.maxConnections for good (docs/agent.md "Limits"), or two such processes lock out every app; an
// HTTP/1.1 client (curl) is answered in HTTP/1.1 (./first-bytes.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import type { Agent } from '../../agent.js';
import { makeKit, mlpBundle, req, startAgent, type Kit } from '../../testing.js';
import { oipClient } from './client.js';
import { isHttp1 } from './first-bytes.js';

/** One ModelReady call on a fresh client, given `ms` to answer: the answer, or undefined. */
async function readyWithin(target: string, ms: number): Promise<unknown> {
  const c = oipClient(target);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([c.call('ModelReady', { name: 'mlp' }), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]).catch(() => undefined);
  } finally {
    clearTimeout(timer);
    c.close();
  }
}

/** What the agent answers `request`, sent on a raw TCP connection to `port` (in `parts`), read until it closes. */
function rawExchange(port: number, parts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    s.on('connect', () => {
      s.write(parts[0]!);
      // The rest after the answer came: a body the agent reads and drops, not a reset that loses the answer.
      if (parts.length > 1) s.once('data', () => { for (const p of parts.slice(1)) s.write(p); });
    });
  });
}

describe('which protocol the first bytes of a gRPC connection are', () => {
  it('takes HTTP/2 and its preface cut short as gRPC, an HTTP/1 request line (or its start) as HTTP/1', () => {
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    for (const head of [preface + '\0\0\x12\x04', preface, 'P', 'PRI * HT', '\x16\x03\x01\x02\x00', 'get / HTTP/1.1', '\0\0']) {
      assert.equal(isHttp1(Buffer.from(head, 'latin1')), false, JSON.stringify(head));
    }
    for (const head of ['GET / HTTP/1.1\r\n', 'POST /v2/models/mlp/infer HTTP/1.1\r\n', 'OPTIONS * HTTP/1.1\r\n', 'PRI / HTTP/1.1', 'GE', 'DELETE']) {
      assert.equal(isHttp1(Buffer.from(head, 'latin1')), true, JSON.stringify(head));
    }
  });
});

describe('local API over gRPC: connections that hold a slot', () => {
  let kit: Kit;
  let agent: Agent;
  const socks: Socket[] = [];
  before(async () => {
    kit = makeKit();
    const b = await mlpBundle(kit, '1.0.0');
    agent = await startAgent(join(kit.dir, 'data'), {
      // Silent connections are closed after max(headers, keep-alive) timeout: 1 s, long enough that the cap is
      // seen full on a loaded machine before they go.
      api: { host: '127.0.0.1', port: 0, maxConnections: 2, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 1_000, requestTimeoutMs: 2_000, grpc: { enabled: true, port: 0 } },
    });
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(b.path);
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await agent.stop();
    kit.cleanup();
  });

  it('answers an HTTP/1.1 request (curl) in HTTP/1.1, naming gRPC and where REST is, and serves gRPC on the same port', async () => {
    const target = agent.grpcAddress!;
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    const rest = `${agent.url} (api.port)`;
    const cases: Array<[string[], string]> = [
      [['GET /v2/health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], 'GET /v2/health/ready HTTP/1.1'],
      [['POST /v2/models/mlp/infer HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n', 'x'.repeat(2000), 'y'.repeat(2000)], 'POST /v2/models/mlp/infer HTTP/1.1'],
    ];
    for (const [parts, line] of cases) {
      const answer = await rawExchange(port, parts);
      const [head, body] = answer.split('\r\n\r\n');
      assert.match(head!, /^HTTP\/1\.1 400 Bad Request\r\n/, answer.slice(0, 80));
      assert.match(head!, /\r\ncontent-type: application\/json\r\n/);
      assert.deepEqual(JSON.parse(body!), {
        code: 'BAD_REQUEST',
        error: `api.grpc.port ${port} speaks gRPC (HTTP/2 without TLS), and this connection sent an HTTP/1 request ("${line}"): expected a gRPC client of inference.GRPCInferenceService (agent/proto/grpc_predict_v2.proto); REST (OIP v2 over HTTP/1.1) is at ${rest}`,
      });
    }
    assert.deepEqual(await readyWithin(target, 5_000), { ready: true }, 'a gRPC client on the same port is served');
  });

  it('closes connections that never send nor read, so a client within the cap is served again', async () => {
    const target = agent.grpcAddress!;
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    // Two sockets fill api.maxConnections: no HTTP/2 preface, and they never read the GOAWAY of the idle timeout.
    for (let i = 0; i < 2; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      socks.push(s);
    }
    const open = async () => Number(/^edgefleet_agent_api_connections\{listener="api\.grpc\.port"\} (\d+)$/m.exec((await req(agent.url, 'GET', '/metrics')).text)?.[1]);
    await waitFor('both silent connections taken', async () => (await open()) === 2 || undefined, { timeoutMs: 5_000, intervalMs: 20 });
    assert.equal(await readyWithin(target, 300), undefined, 'the cap is full: a new client is not served');
    const answer = await waitFor('a client served once the silent connections are closed', () => readyWithin(target, 300), { timeoutMs: 10_000, intervalMs: 50 });
    assert.deepEqual(answer, { ready: true });
  });
});
