// The OIP v2 gRPC API of an in-process agent (real installed bundles, real
// onnxruntime sessions) through a grpc-js client generated from the same .proto:
// every RPC, typed and raw contents, outputs equal to REST's for the same
// request (the example MLP and the multi-input model with an INT64 scalar),
// errors with REST's messages under the mapped status codes, and the bounds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'node:net';
import http2 from 'node:http2';
import { maxHeaderSize } from 'node:http';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { buildMultiBundle, waitFor } from '@edgefleet/examples';
import { STOP_TOTAL_MS, type Agent } from '../../agent.js';
import { mlpBundle, req } from '../../testing.js';
import { f32Bytes, i64Bytes, type OipGrpcClient } from './client.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';
import { inferenceService } from './server.js';

const mlpReq = (data: number[], rows = Math.ceil(data.length / 4)) => ({ model_name: 'mlp', id: 'g1', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 4], contents: { fp32_contents: data } }] });
const f32 = (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));

describe('local API over gRPC', () => {
  let g: GrpcAgent;
  let agent: Agent;
  let client: OipGrpcClient;
  before(async () => {
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0'), await buildMultiBundle({ dir: join(kit.dir, 'bundles'), keys: kit.keys })], {
      api: { maxBodyBytes: 4096, maxConnections: 8, requestTimeoutMs: 400, grpc: { maxCalls: 4, maxConcurrentStreams: 6 } },
    });
    ({ agent, client } = g);
  });
  after(() => g.close());

  it('serves ServerLive, ServerReady, ServerMetadata, ModelReady and ModelMetadata', async () => {
    assert.deepEqual(await client.call('ServerLive', {}), { live: true });
    assert.deepEqual(await client.call('ServerReady', {}), { ready: true });
    const sm = await client.call('ServerMetadata', {});
    assert.equal(sm.name, 'edgefleet-agent');
    assert.deepEqual(sm.extensions, (await req(agent.url, 'GET', '/v2')).json.extensions);
    assert.deepEqual(await client.call('ModelReady', { name: 'mlp' }), { ready: true });
    const md = await client.call('ModelMetadata', { name: 'audio-energy' });
    assert.deepEqual(md, (await req(agent.url, 'GET', '/v2/models/audio-energy')).json);
  });

  it('infers with typed contents and with raw_input_contents, the same outputs as REST', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const rest = await req(agent.url, 'POST', '/v2/models/mlp/infer', { id: 'g1', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: x }] });
    assert.equal(rest.status, 200, rest.text);
    const typed = await client.call('ModelInfer', mlpReq(x));
    assert.equal(typed.model_name, 'mlp');
    assert.equal(typed.model_version, '1.0.0');
    assert.equal(typed.id, 'g1');
    const out = rest.json.outputs[0];
    assert.deepEqual(typed.outputs[0].shape, out.shape);
    assert.deepEqual(typed.outputs[0].contents.fp32_contents.map((v: number) => Math.fround(v)), out.data.map((v: number) => Math.fround(v)));
    const raw = await client.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4] }], raw_input_contents: [f32Bytes(x)] });
    assert.equal(raw.outputs[0].contents, undefined);
    assert.deepEqual(f32(raw.raw_output_contents[0]), out.data.map((v: number) => Math.fround(v)));
  });

  it('infers the multi-input model with an INT64 scalar: typed and raw equal REST', async () => {
    const audio = [0.5, -0.5, 1, -1];
    const rest = await req(agent.url, 'POST', '/v2/models/audio-energy/infer', {
      inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, 4], data: audio }, { name: 'sample_rate', datatype: 'INT64', shape: [], data: [16000] }],
    });
    assert.equal(rest.status, 200, rest.text);
    const want = Object.fromEntries((rest.json.outputs as Array<{ name: string; data: number[]; shape: number[] }>).map((o) => [o.name, o]));
    const typed = await client.call('ModelInfer', {
      model_name: 'audio-energy',
      inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: audio } }, { name: 'sample_rate', datatype: 'INT64', shape: [], contents: { int64_contents: [16000] } }],
    });
    const got = Object.fromEntries((typed.outputs as Array<{ name: string; shape: number[]; contents: Record<string, number[]> }>).map((o) => [o.name, o]));
    assert.deepEqual(got.energy!.contents.fp32_contents!.map(Math.fround), want.energy!.data.map(Math.fround));
    assert.deepEqual(got.sr_out!.contents.int64_contents, want.sr_out!.data);
    assert.deepEqual(got.sr_out!.shape, []);
    const raw = await client.call('ModelInfer', {
      model_name: 'audio-energy',
      inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, 4] }, { name: 'sample_rate', datatype: 'INT64', shape: [] }],
      raw_input_contents: [f32Bytes(audio), i64Bytes([16000])],
    });
    const names = (raw.outputs as Array<{ name: string }>).map((o) => o.name);
    const rawOf = (n: string) => raw.raw_output_contents[names.indexOf(n)] as Buffer;
    assert.deepEqual(f32(rawOf('energy')), want.energy!.data.map(Math.fround));
    assert.equal(rawOf('sr_out').readBigInt64LE(0), 16000n);
  });

  const cases: Array<[string, unknown, object, status, RegExp]> = [
    ['wrong shape', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], contents: { fp32_contents: [1, 2, 3, 4, 5] } }] }, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] }, status.INVALID_ARGUMENT, /input "input": shape \[1, 5\].*expected \[-1, 4\]/],
    ['wrong datatype', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 4], contents: { int64_contents: [1, 2, 3, 4] } }] }, { inputs: [{ name: 'input', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }] }, status.INVALID_ARGUMENT, /datatype "INT64".*expected "FP32"/],
    ['unknown model', { ...mlpReq([1, 2, 3, 4]), model_name: 'nope' }, {}, status.NOT_FOUND, /unknown model "nope"/],
  ];
  for (const [what, body, restBody, code, re] of cases) {
    it(`refuses ${what} with ${status[code]} and REST's message`, async () => {
      const err = await refused(client.call('ModelInfer', body));
      assert.equal(err.code, code, err.details);
      assert.match(err.details, re);
      const model = (body as { model_name: string }).model_name;
      const rest = await req(agent.url, 'POST', `/v2/models/${model}/infer`, restBody);
      assert.equal(err.details, rest.json.error);
      assert.equal(err.metadata.get('error-code')[0], rest.json.code);
    });
  }

  it('refuses metadata over REST\'s bound on headers with RESOURCE_EXHAUSTED naming it, and keeps the connection', async () => {
    const md = (bytes: number) => {
      const m = new Metadata();
      m.set('x-big', 'a'.repeat(bytes));
      return m;
    };
    // At the bound (the client's own metadata, user-agent and the like, comes on top), and far over it (taken before).
    for (const n of [maxHeaderSize, 60_000]) {
      const err = await refused(client.call('ServerLive', {}, md(n)));
      assert.deepEqual([err.code, err.metadata.get('error-code')[0]], [status.RESOURCE_EXHAUSTED, 'PAYLOAD_TOO_LARGE'], String(n));
      const bytes = Number(/^request metadata of (\d+) bytes is too large: expected at most (\d+) bytes \(as REST's request line and headers; send large values in the message\)$/.exec(err.details)?.[1]);
      assert.ok(bytes > n && bytes < n + 1000, err.details);
    }
    assert.deepEqual(await client.call('ServerLive', {}, md(maxHeaderSize - 1000)), { live: true });
  });

  it('refuses raw bytes that do not fit the shape, naming the input', async () => {
    const err = await refused(client.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32Bytes([1, 2, 3])] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /input "input": raw data has 12 bytes but shape \[1, 4\] of FP32 needs 16/);
    // A shape no memory could hold, sent with 16 bytes: refused by its byte count, not INTERNAL (a model failure).
    const huge = await refused(client.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [2 ** 40, 4] }], raw_input_contents: [f32Bytes([1, 2, 3, 4])] }));
    assert.equal(huge.code, status.INVALID_ARGUMENT, huge.details);
    assert.equal(huge.details, 'input "input": raw data has 16 bytes but shape [1099511627776, 4] of FP32 needs 17592186044416 (4398046511104 values of 4 bytes)');
  });

  it('refuses typed values in the contents field of another datatype, naming both fields', async () => {
    const err = await refused(client.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp64_contents: [1, 2, 3, 4] } }] }));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(err.details, 'input "input": has values in contents.fp64_contents but datatype FP32 takes them in contents.fp32_contents');
    assert.equal(err.metadata.get('error-code')[0], 'INVALID_INPUT');
  });

  it('refuses a message over api.maxBodyBytes with RESOURCE_EXHAUSTED, REST\'s message and the error-code trailer', async () => {
    const err = await refused(client.call('ModelInfer', mlpReq(new Array(2000).fill(1))));
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /^request body of \d+ bytes is too large: expected at most 4096 bytes \(api\.maxBodyBytes\)$/);
    assert.equal(err.metadata.get('error-code')[0], 'PAYLOAD_TOO_LARGE');
    // The same text as REST's 413 for the same limit.
    const rest = await req(agent.url, 'POST', '/v2/models/mlp/infer', JSON.stringify(mlpReq(new Array(2000).fill(1))));
    assert.equal(rest.status, 413);
    assert.equal((JSON.parse(rest.text) as { error: string }).error.replace(/\d+ bytes is/, 'N bytes is'), err.details.replace(/\d+ bytes is/, 'N bytes is'));
  });

  it('counts gRPC requests in the same metrics as REST', async () => {
    const before = /edgefleet_agent_requests_total\{model="mlp",version="1.0.0",outcome="INVALID_INPUT"\} (\d+)/.exec((await req(agent.url, 'GET', '/metrics')).text)?.[1] ?? '0';
    await refused(client.call('ModelInfer', mlpReq([1, 2, 3])));
    const text = (await req(agent.url, 'GET', '/metrics')).text;
    assert.match(text, new RegExp(`edgefleet_agent_requests_total\\{model="mlp",version="1.0.0",outcome="INVALID_INPUT"\\} ${Number(before) + 1}\\b`));
  });

  it('holds calls in progress to api.grpc.maxCalls, refusing more before their message is read', async () => {
    const limiter = agent.runtime.limiterFor('mlp')!;
    for (let i = 0; i < 4; i++) assert.equal(limiter.acquire(), undefined, 'a free slot, taken at once'); // every ORT slot busy: calls queue
    const queued = Array.from({ length: 4 }, () => client.call('ModelInfer', mlpReq([1, 2, 3, 4])));
    await waitFor('4 calls queued', () => agent.runtime.queueDepth('mlp') === 4); // in one batch (dynamic batching): one limiter waiter
    const err = await refused(client.call('ModelInfer', mlpReq([1, 2, 3, 4])));
    assert.equal(err.code, status.UNAVAILABLE);
    assert.match(err.details, /4 gRPC calls in progress \(limit 4, api.grpc.maxCalls\)/);
    for (let i = 0; i < 4; i++) limiter.release();
    await Promise.all(queued);
  });

  it('announces api.grpc.maxConcurrentStreams in its HTTP/2 settings', async () => {
    const session = http2.connect(`http://${agent.grpcAddress!}`);
    session.on('error', () => undefined);
    const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
    session.destroy();
    assert.equal(settings.maxConcurrentStreams, 6);
  });

  it('ends a call whose message does not come within api.requestTimeoutMs', async () => {
    const pending = new Promise<ServiceError | null>((resolve) => {
      const call = client.raw.makeClientStreamRequest('/inference.GRPCInferenceService/ModelInfer', (x: Buffer) => x, (x: Buffer) => x, new Metadata(), {}, (err) => resolve(err));
      call.on('error', () => undefined); // the status arrives through the callback
    });
    const err = await pending;
    assert.equal(err?.code, status.DEADLINE_EXCEEDED);
    assert.match(err!.details, /request not received within 400 ms/);
  });

  it('ends a call whose message came but whose stream never ended within api.requestTimeoutMs', async () => {
    // grpc-js runs a unary handler only at the end of the stream: such a call held its place among
    // api.grpc.maxCalls and its decoded message for good (16 of them shut gRPC inference out).
    const pending = new Promise<ServiceError | null>((resolve) => {
      // The client's own deadline, far past the agent's, only so that the test ends when the agent does not end the call.
      const call = client.raw.makeClientStreamRequest('/inference.GRPCInferenceService/ModelInfer', (x: Buffer) => x, (x: Buffer) => x, new Metadata(), { deadline: Date.now() + 15_000 }, (err) => resolve(err));
      call.on('error', () => undefined); // the status arrives through the callback
      call.write(inferenceService()['ModelInfer']!.requestSerialize(mlpReq([1, 2, 3, 4])));
    });
    const err = await pending;
    assert.equal(err?.code, status.DEADLINE_EXCEEDED);
    assert.match(err!.details, /request not received within 400 ms/);
  });
  // Connections over api.maxConnections: ./connection-cap.test.ts.
});

describe('local API over gRPC: the shared byte budget, and stop', () => {
  let g: GrpcAgent;
  let agent: Agent;
  let client: OipGrpcClient;
  before(async () => {
    // maxCalls × maxBodyBytes within 4 × maxInflightBodyBytes (api.grpc.maxCalls's bound, docs/agent.md "Limits").
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0')], { api: { maxBodyBytes: 4096, maxInflightBodyBytes: 4096, stopGraceMs: 300, grpc: { maxCalls: 4 } } });
    ({ agent, client } = g);
  });
  after(() => g.close());

  it('refuses a call before reading it while REST bodies fill api.maxInflightBodyBytes', async () => {
    const { port } = new URL(agent.url);
    // A REST request that declares 4096 bytes and sends none: the whole shared budget is reserved.
    const hog = connect(Number(port), '127.0.0.1');
    hog.on('error', () => undefined);
    hog.write('POST /v2/models/mlp/infer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n');
    // Held once its headers are read (a call served meanwhile holds its tensors in the same budget: wait for the hog's).
    await waitFor('the hog\'s 4096 bytes reserved', async () => (await req(agent.url, 'GET', '/metrics')).text.includes('edgefleet_agent_request_bytes{kind="bodies"} 4096\n') || undefined);
    const err = await refused(client.call('ModelInfer', mlpReq([1, 2, 3, 4])));
    assert.equal(err.code, status.UNAVAILABLE);
    assert.match(err.details, /the agent holds 4096 bytes of requests \(4096 of bodies being read, 0 of parsed tensors waiting or running; limit 4096, api\.maxInflightBodyBytes\)/);
    hog.destroy();
    await waitFor('the budget released', async () => (await client.call('ModelInfer', mlpReq([1, 2, 3, 4])).then(() => true, () => false)) || undefined);
  });

  it('stops within its budget with a call queued and a call whose message never came', async () => {
    const limiter = agent.runtime.limiterFor('mlp')!;
    for (let i = 0; i < 4; i++) assert.equal(limiter.acquire(), undefined);
    const queued = refused(client.call('ModelInfer', mlpReq([1, 2, 3, 4])));
    const silent = new Promise<ServiceError | null>((resolve) => {
      const call = client.raw.makeClientStreamRequest('/inference.GRPCInferenceService/ModelInfer', (x: Buffer) => x, (x: Buffer) => x, new Metadata(), {}, (err) => resolve(err));
      call.on('error', () => undefined);
    });
    await waitFor('a call queued', () => limiter.depth === 1);
    const t0 = performance.now();
    await agent.stop();
    const ms = performance.now() - t0;
    assert.ok(ms < STOP_TOTAL_MS, `stopped in ${Math.round(ms)} ms, budget ${STOP_TOTAL_MS} ms`);
    assert.ok((await queued).code !== status.OK);
    assert.ok((await silent) !== null, 'the silent call was ended');
  });
});
