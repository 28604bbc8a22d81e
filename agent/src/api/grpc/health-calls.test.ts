// ServerLive and ServerReady on a busy agent (./health-calls.ts, docs/agent.md "Local API"): answered
// while api.grpc.maxCalls is full, as REST's /v2/health/live is, and held to bounds of their own (calls
// in progress; message size at the bound and one byte past it, sent as it is and gzipped), through a
// real grpc-js client on a real agent with a real ONNX session.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Metadata, status, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle, req } from '../../testing.js';
import { HEALTH_MAX_CALLS, HEALTH_MAX_MESSAGE_BYTES } from './health-calls.js';
import { oipClient, type OipGrpcClient } from './client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const LIVE = '/inference.GRPCInferenceService/ServerLive';
const mlpReq = { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] };
const raw = (x: Buffer) => x;
/** One ServerLive call of the message `body` as it is (framed by grpc-js, compressed if the client does). */
const send = (client: OipGrpcClient, body: Buffer) => new Promise<{ err: ServiceError | null; res?: Buffer }>((resolve) => {
  client.raw.makeUnaryRequest(LIVE, raw, raw, body, (err, res) => resolve({ err, res }));
});
/** A valid ServerLiveRequest of `n` bytes (n >= 131): an unknown bytes field 15, which protobuf skips. */
const emptyMessage = (n: number) => Buffer.concat([Buffer.from([0x7a, ((n - 3) & 0x7f) | 0x80, (n - 3) >> 7]), Buffer.alloc(n - 3, 1)]);

describe('gRPC health calls on a busy agent', () => {
  let g: GrpcAgent;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { maxBodyBytes: 4096, requestTimeoutMs: 20_000, grpc: { maxCalls: 2 } } });
  });
  after(() => g.close());

  it('answers ServerLive and ServerReady while api.grpc.maxCalls is full, as REST answers /v2/health/live', async () => {
    const { agent, client } = g;
    const limiter = agent.runtime.limiterFor('mlp')!;
    let held = 0;
    for (; limiter.free; held++) assert.ok(limiter.tryAcquire()); // every ORT slot busy: calls queue
    const queued = Array.from({ length: 2 }, () => client.call('ModelInfer', mlpReq));
    try {
      await waitFor('2 calls queued', () => agent.runtime.queueDepth('mlp') === 2);
      const err = await refused(client.call('ModelInfer', mlpReq));
      assert.match(err.details, /2 gRPC calls in progress \(limit 2, api.grpc.maxCalls\)/, 'the gate is full');
      assert.deepEqual(await client.call('ServerLive', {}), { live: true });
      assert.deepEqual(await client.call('ServerReady', {}), { ready: true });
      assert.equal((await req(agent.url, 'GET', '/v2/health/live')).status, 200);
    } finally {
      for (let i = 0; i < held; i++) limiter.release();
    }
    await Promise.all(queued);
  });

  it(`holds ServerLive and ServerReady in progress to ${HEALTH_MAX_CALLS}, apart from inference`, async () => {
    const { client } = g;
    // Calls that never end their stream hold their place until api.requestTimeoutMs (20 s here).
    const calls: Array<ClientWritableStream<Buffer>> = [];
    const ended: Array<Promise<ServiceError | null>> = [];
    for (let i = 0; i < HEALTH_MAX_CALLS; i++) {
      ended.push(new Promise((resolve) => {
        const c = client.raw.makeClientStreamRequest(LIVE, raw, raw, new Metadata(), {}, (err) => resolve(err));
        c.on('error', () => undefined);
        calls.push(c);
      }));
    }
    try {
      const err = await waitFor('a health call refused', async () => {
        try {
          await client.call('ServerLive', {});
          return undefined;
        } catch (e) {
          return e as ServiceError;
        }
      });
      assert.equal(err.code, status.UNAVAILABLE);
      assert.match(err.details, new RegExp(`${HEALTH_MAX_CALLS} ServerLive and ServerReady calls in progress \\(limit ${HEALTH_MAX_CALLS}, apart from api.grpc.maxCalls\\)`));
      assert.equal((await client.call('ModelInfer', mlpReq)).model_name, 'mlp', 'inference has its own places');
    } finally {
      for (const c of calls) c.cancel();
    }
    await Promise.all(ended);
    // The client ends a cancelled call at once; the agent gives its place back when the RST_STREAM arrives.
    await waitFor('a cancelled call gives its place back', () => client.call('ServerLive', {}).then((r) => r.live === true, () => undefined));
  });

  it(`reads a health message of exactly ${HEALTH_MAX_MESSAGE_BYTES} bytes and refuses one of ${HEALTH_MAX_MESSAGE_BYTES + 1} from its length prefix, naming its bound`, async () => {
    const atBound = emptyMessage(HEALTH_MAX_MESSAGE_BYTES);
    assert.equal(atBound.length, HEALTH_MAX_MESSAGE_BYTES);
    const ok = await send(g.client, atBound);
    assert.equal(ok.err, null, ok.err?.details);
    assert.deepEqual(ok.res, Buffer.from([0x08, 0x01]), 'ServerLiveResponse {live: true}');
    const { err } = await send(g.client, emptyMessage(HEALTH_MAX_MESSAGE_BYTES + 1));
    assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
    assert.equal(err!.details, `request body of ${HEALTH_MAX_MESSAGE_BYTES + 1} bytes is too large: expected at most ${HEALTH_MAX_MESSAGE_BYTES} bytes (ServerLiveRequest is an empty message)`);
    assert.equal(err!.metadata.get('error-code')[0], 'PAYLOAD_TOO_LARGE');
  });

  it(`holds a gzip health message and what it inflates to to ${HEALTH_MAX_MESSAGE_BYTES} bytes together: at the bound read, one byte past refused`, async () => {
    // grpc-js gzips as zlib does by default: the sizes on the wire are gzipSync's.
    const together = (n: number) => n + gzipSync(emptyMessage(n)).length;
    const atBound = Array.from({ length: 200 }, (_, i) => HEALTH_MAX_MESSAGE_BYTES - i).find((n) => together(n) === HEALTH_MAX_MESSAGE_BYTES);
    const over = Array.from({ length: 200 }, (_, i) => HEALTH_MAX_MESSAGE_BYTES - i).find((n) => together(n) === HEALTH_MAX_MESSAGE_BYTES + 1);
    assert.ok(atBound !== undefined && over !== undefined, 'messages whose gzip and inflated bytes come to the bound and one past it');
    const gz = oipClient(g.agent.grpcAddress!, { 'grpc.default_compression_algorithm': 2 }); // grpc-js: 2 gzip
    try {
      const ok = await send(gz, emptyMessage(atBound));
      assert.equal(ok.err, null, ok.err?.details);
      assert.deepEqual(ok.res, Buffer.from([0x08, 0x01]));
      const { err } = await send(gz, emptyMessage(over));
      assert.equal(err?.code, status.RESOURCE_EXHAUSTED, err?.details);
      const gzBytes = gzipSync(emptyMessage(over)).length;
      assert.equal(err!.details, `gzip message of ${gzBytes} bytes inflates past ${HEALTH_MAX_MESSAGE_BYTES - gzBytes} bytes: expected the message and what it inflates to at most ${HEALTH_MAX_MESSAGE_BYTES} bytes together (ServerLiveRequest is an empty message)`);
      assert.equal(err!.metadata.get('error-code')[0], 'PAYLOAD_TOO_LARGE');
      // Before, it inflated up to api.maxBodyBytes (4096 here).
      assert.equal((await send(gz, emptyMessage(3000))).err?.code, status.RESOURCE_EXHAUSTED);
    } finally {
      gz.close();
    }
  });
});
