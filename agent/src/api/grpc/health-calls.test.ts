// ServerLive and ServerReady on a busy agent (./health-calls.ts, docs/agent.md "Local API"): answered
// while api.grpc.maxCalls is full, as REST's /v2/health/live is, and held to bounds of their own (calls
// in progress, message size), through a real grpc-js client on a real agent with a real ONNX session.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle, req } from '../../testing.js';
import { HEALTH_MAX_CALLS } from './health-calls.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const LIVE = '/inference.GRPCInferenceService/ServerLive';
const mlpReq = { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] };
const raw = (x: Buffer) => x;

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

  it('refuses a health message over 1 KiB from its length prefix, naming its bound', async () => {
    const err = await new Promise<ServiceError | null>((resolve) => {
      g.client.raw.makeUnaryRequest(LIVE, raw, raw, Buffer.alloc(2048, 1), (e) => resolve(e));
    });
    assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
    assert.match(err!.details, /request body of 2048 bytes is too large: expected at most 1024 bytes \(ServerLiveRequest is an empty message\)/);
  });
});
