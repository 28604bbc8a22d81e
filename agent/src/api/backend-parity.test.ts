// The local API on runtime.backend wasm answers bad input as on native, over REST and gRPC alike:
// validation is the transports' (shared/src/infer/request.ts) and refuses before either backend sees
// a tensor, and a run onnxruntime fails is INFERENCE_FAILED on both (its reason in its own words).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mlpBundle, req, reshapeBundle } from '../testing.js';
import { refused, startGrpcAgent, type GrpcAgent } from './grpc/testing.js';
import { f32Bytes } from './grpc/client.js';

const x = (over: object) => ({ name: 'input', datatype: 'FP32', shape: [1, 4], ...over });
const bad: Array<[string, object, object]> = [
  ['data length', { inputs: [x({ data: [1, 2, 3] })] }, { inputs: [x({ contents: { fp32_contents: [1, 2, 3] } })] }],
  ['datatype', { inputs: [x({ datatype: 'FP64', data: [1, 2, 3, 4] })] }, { inputs: [x({ datatype: 'FP64', contents: { fp64_contents: [1, 2, 3, 4] } })] }],
  ['shape', { inputs: [x({ shape: [1, 5], data: [1, 2, 3, 4, 5] })] }, { inputs: [x({ shape: [1, 5], contents: { fp32_contents: [1, 2, 3, 4, 5] } })] }],
  ['unknown output', { inputs: [x({ data: [1, 2, 3, 4] })], outputs: [{ name: 'nope' }] }, { inputs: [x({ contents: { fp32_contents: [1, 2, 3, 4] } })], outputs: [{ name: 'nope' }] }],
  ['raw bytes', { inputs: [x({ data: [1, 2, 3, 4] })] }, { inputs: [x({})], raw_input_contents: [f32Bytes([1, 2, 3])] }],
];

interface Answers { rest: unknown[]; grpc: unknown[] }

async function answers(g: GrpcAgent): Promise<Answers> {
  const out: Answers = { rest: [], grpc: [] };
  for (const [, rest, grpc] of bad) {
    const r = await req(g.agent.url, 'POST', '/v2/models/mlp/infer', rest);
    out.rest.push([r.status, r.json]);
    const e = await refused(g.client.call('ModelInfer', { model_name: 'mlp', ...grpc }));
    out.grpc.push([e.code, e.metadata.get('error-code')[0], e.details]);
  }
  const run = await req(g.agent.url, 'POST', '/v2/models/reshape/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] });
  out.rest.push([run.status, run.json.code, /Reshape|reshape/.test(run.json.error)]);
  const e = await refused(g.client.call('ModelInfer', { model_name: 'reshape', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] } }] }));
  out.grpc.push([e.code, e.metadata.get('error-code')[0], /Reshape|reshape/.test(e.details)]);
  return out;
}

describe('local API: runtime.backend wasm answers bad input as native', () => {
  const agents: GrpcAgent[] = [];
  before(async () => {
    for (const backend of ['native', 'wasm'] as const) {
      agents.push(await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0'), await reshapeBundle(kit)], { runtime: { backend } }));
    }
  });
  after(async () => {
    for (const g of agents) await g.close();
  });

  it('gives the same status, code and message on REST and gRPC for each bad request, and INFERENCE_FAILED for a failed run', async () => {
    assert.deepEqual(agents.map((g) => g.agent.runtime.backendInUse), ['native', 'wasm']);
    const native = await answers(agents[0]!);
    assert.deepEqual(native.rest.at(-1), [500, 'INFERENCE_FAILED', true]);
    assert.deepEqual(native.grpc.at(-1), [13, 'INFERENCE_FAILED', true]);
    assert.deepEqual(await answers(agents[1]!), native);
  });
});
