// A plain HTTP/2 client on the gRPC port (`curl --http2-prior-knowledge http://127.0.0.1:GRPCPORT/v2`, a
// REST client speaking HTTP/2) gets REST's JSON error naming what the port speaks and where REST is, not
// grpc-js's empty 415 (./not-grpc.ts); the same on api.grpc.socket, where an HTTP/1 one is named too; gRPC calls
// go on being served.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { h2, startGrpcAgent, type GrpcAgent } from './testing.js';

describe('the gRPC port given an HTTP/2 request that is not a gRPC call', () => {
  let g: GrpcAgent;
  let socket: string;
  let rest: string;
  before(async () => {
    g = await startGrpcAgent(async () => [], (kit) => {
      socket = join(kit.dir, 'grpc.sock');
      return { api: { grpc: { socket } } };
    });
    rest = `${g.agent.url} (api.port)`;
  });
  after(() => g.close());

  const expected = (where: string, came: string) => JSON.stringify({
    error: `${where} speaks gRPC (HTTP/2 without TLS), and this HTTP/2 request is not a gRPC call (${came}; expected application/grpc): expected a gRPC client of inference.GRPCInferenceService (agent/proto/grpc_predict_v2.proto); REST (OIP v2 over HTTP/1.1) is at ${rest}`,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  });

  it('answers curl --http2-prior-knowledge 415 naming the port and where REST is', async () => {
    const port = g.agent.grpcAddress!.split(':').pop()!;
    const r = await h2(`http://${g.agent.grpcAddress!}`, { ':path': '/v2', accept: '*/*' });
    assert.deepEqual(r, { status: 415, type: 'application/json', body: expected(`api.grpc.port ${port}`, '"GET /v2" with no content-type') });
  });

  it('names a content-type that is not gRPC\'s, and answers HEAD without a body', async () => {
    const port = g.agent.grpcAddress!.split(':').pop()!;
    const r = await h2(`http://${g.agent.grpcAddress!}`, { ':method': 'POST', ':path': '/v2/models/m/infer', 'content-type': 'application/json' });
    assert.deepEqual(r, { status: 415, type: 'application/json', body: expected(`api.grpc.port ${port}`, '"POST /v2/models/m/infer" with content-type "application/json"') });
    assert.deepEqual(await h2(`http://${g.agent.grpcAddress!}`, { ':method': 'HEAD', ':path': '/v2' }), { status: 415, type: 'application/json', body: '' });
  });

  it('names api.grpc.socket on the socket', async () => {
    const r = await h2('http://localhost', { ':path': '/v2/health/ready' }, socket);
    assert.deepEqual(r, { status: 415, type: 'application/json', body: expected(`api.grpc.socket ${socket}`, '"GET /v2/health/ready" with no content-type') });
  });

  it('and an HTTP/1 request on the socket is answered 400 in HTTP/1.1 naming the socket (./first-bytes.ts)', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const c = netConnect(socket);
      let text = '';
      c.on('data', (b: Buffer) => (text += b.toString()));
      c.on('close', () => resolve(text));
      c.on('error', reject);
      c.write('GET /v2 HTTP/1.1\r\nhost: localhost\r\n\r\n');
    });
    const body = JSON.stringify({
      error: `api.grpc.socket ${socket} speaks gRPC (HTTP/2 without TLS), and this connection sent an HTTP/1 request ("GET /v2 HTTP/1.1"): expected a gRPC client of inference.GRPCInferenceService (agent/proto/grpc_predict_v2.proto); REST (OIP v2 over HTTP/1.1) is at ${rest}`,
      code: 'BAD_REQUEST',
    });
    assert.equal(answer, `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });

  it('serves gRPC calls as before', async () => {
    assert.deepEqual(await g.client.call('ServerLive', {}, undefined, 5000), { live: true });
  });
});
