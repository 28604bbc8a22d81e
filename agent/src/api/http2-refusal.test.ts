// An HTTP/2 client with prior knowledge on the REST port (`curl --http2-prior-knowledge`, a gRPC client
// given api.port) is answered in HTTP/2: a GOAWAY with HTTP_1_1_REQUIRED whose debug data says the port
// speaks HTTP/1.1 and where gRPC is (./http2-refusal.ts), read by node:http2's own client; then the port
// still serves REST. Before, the client read an HTTP/1.1 400 as frames: a broken pipe or garbage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';
import { ApiServer } from './server.js';
import { HTTP_1_1_REQUIRED } from './http2-refusal.js';

/** What a node:http2 session to `url` is told: the GOAWAY's code and text, and the session's error. */
function goaway(url: string): Promise<{ code: number; text: string; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = connect(url);
    let got: { code: number; text: string } | undefined;
    let error: string | undefined;
    session.on('goaway', (code: number, _last: number, data?: Buffer) => { got = { code, text: data?.toString('utf8') ?? '' }; });
    session.on('error', (err: NodeJS.ErrnoException) => { error = err.code; });
    session.on('close', () => (got ? resolve({ ...got, error }) : reject(new Error(`no GOAWAY before the session closed (${error ?? 'no error'})`))));
    // A request too, as curl and gRPC clients send one at once: it fails with the session, unanswered.
    const stream = session.request({ ':path': '/v2/health/ready' });
    stream.on('error', () => undefined);
    stream.end();
  });
}

describe('the REST port given HTTP/2 with prior knowledge', () => {
  it('answers a GOAWAY HTTP_1_1_REQUIRED saying gRPC is not enabled, then serves HTTP/1.1', async () => {
    const server = new ApiServer((_req, res) => res.end('{"ok":true}'), {
      host: '127.0.0.1', port: 0, maxConnections: 8, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, writeTimeoutMs: 10_000, stopGraceMs: 1_000,
    });
    await server.start();
    try {
      const port = new URL(server.url).port;
      assert.deepEqual(await goaway(server.url), {
        code: HTTP_1_1_REQUIRED,
        text: `api.port ${port} speaks HTTP/1.1 (REST, OIP v2), not HTTP/2: gRPC is not enabled on this agent (api.grpc.enabled)`,
        error: 'ERR_HTTP2_SESSION_ERROR',
      });
      const r = await fetch(`${server.url}/v2/health/ready`);
      assert.deepEqual([r.status, await r.json()], [200, { ok: true }]);
    } finally {
      await server.stop();
    }
  });

  describe('of an agent serving gRPC', () => {
    let kit: Kit;
    let agent: Agent;
    before(async () => {
      kit = makeKit();
      agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, grpc: { enabled: true, port: 0 } } });
    });
    after(async () => {
      await agent.stop();
      kit.cleanup();
    });

    it('answers a GOAWAY HTTP_1_1_REQUIRED naming where gRPC is, then serves REST', async () => {
      const port = new URL(agent.url).port;
      const got = await goaway(agent.url);
      assert.deepEqual(got, {
        code: HTTP_1_1_REQUIRED,
        text: `api.port ${port} speaks HTTP/1.1 (REST, OIP v2), not HTTP/2: gRPC is at ${agent.grpcAddress!} (api.grpc.port)`,
        error: 'ERR_HTTP2_SESSION_ERROR',
      });
      assert.equal((await req(agent.url, 'GET', '/v2/health/live')).status, 200);
    });
  });
});
