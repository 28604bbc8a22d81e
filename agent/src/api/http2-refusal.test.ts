// An HTTP/2 client with prior knowledge on the REST port (`curl --http2-prior-knowledge`, a gRPC client
// given api.port) is answered in HTTP/2: a GOAWAY with HTTP_1_1_REQUIRED whose debug data says the port
// speaks HTTP/1.1 and where gRPC is (./http2-refusal.ts), read by node:http2's own client; then the port
// still serves REST; on api.socket too, naming the socket. Before, the client read an HTTP/1.1 400 as frames: a broken pipe or garbage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';
import { ApiServer } from './server.js';
import { HTTP_1_1_REQUIRED } from './http2-refusal.js';

/** What a node:http2 session to `url` is told: the GOAWAY's code and text, and the session's error. */
function goaway(url: string, socketPath?: string): Promise<{ code: number; text: string; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = socketPath === undefined ? connect(url) : connect(url, { createConnection: () => netConnect(socketPath) });
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

  it('on api.socket names the socket, then serves HTTP/1.1 there', async () => {
    const kit = makeKit();
    const socket = join(kit.dir, 'agent.sock');
    const server = new ApiServer((_req, res) => res.end('{"ok":true}'), {
      host: '127.0.0.1', port: 0, socket, maxConnections: 8, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, writeTimeoutMs: 10_000, stopGraceMs: 1_000,
    });
    await server.start();
    try {
      assert.deepEqual(await goaway('http://localhost', socket), {
        code: HTTP_1_1_REQUIRED,
        text: `api.socket ${socket} speaks HTTP/1.1 (REST, OIP v2), not HTTP/2: gRPC is not enabled on this agent (api.grpc.enabled)`,
        error: 'ERR_HTTP2_SESSION_ERROR',
      });
      const body = await new Promise<string>((resolve, reject) => {
        request({ socketPath: socket, path: '/v2/health/ready' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(`${res.statusCode ?? 0} ${text}`));
        }).on('error', reject).end();
      });
      assert.equal(body, '200 {"ok":true}');
    } finally {
      await server.stop();
      kit.cleanup();
    }
  });

  describe('of an agent serving gRPC', () => {
    let kit: Kit;
    let agent: Agent;
    let socket: string;
    let grpcSocket: string;
    before(async () => {
      kit = makeKit();
      socket = join(kit.dir, 'agent.sock');
      grpcSocket = join(kit.dir, 'grpc.sock');
      agent = await startAgent(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, socket, grpc: { enabled: true, port: 0, socket: grpcSocket } } });
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
        text: `api.port ${port} speaks HTTP/1.1 (REST, OIP v2), not HTTP/2: gRPC is at ${agent.grpcAddress!} (api.grpc.port) or unix://${grpcSocket} (api.grpc.socket)`,
        error: 'ERR_HTTP2_SESSION_ERROR',
      });
      assert.equal((await req(agent.url, 'GET', '/v2/health/live')).status, 200);
    });

    it('on api.socket names the socket and where gRPC is', async () => {
      assert.deepEqual(await goaway('http://localhost', socket), {
        code: HTTP_1_1_REQUIRED,
        text: `api.socket ${socket} speaks HTTP/1.1 (REST, OIP v2), not HTTP/2: gRPC is at ${agent.grpcAddress!} (api.grpc.port) or unix://${grpcSocket} (api.grpc.socket)`,
        error: 'ERR_HTTP2_SESSION_ERROR',
      });
    });
  });
});
