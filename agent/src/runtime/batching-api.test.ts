// Dynamic batching under the local API (a real agent on port 0, REST): concurrent requests, some
// malformed (refused by validation before they reach the runtime, so never in a batch), some with
// bad values that onnxruntime rejects; each answered on its own, and /metrics shows the batches,
// the backend, and per-request counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bundleFromOnnx } from '@edgefleet/examples';
import { makeKit, req, startAgent } from '../testing.js';
import { pickModel } from './testing/fixtures.js';

test('REST requests batched together are answered one by one: a malformed or bad-valued request fails alone', { timeout: 60_000 }, async () => {
  const kit = makeKit();
  const pick = pickModel();
  const agent = await startAgent(join(kit.dir, 'data'), { runtime: { batching: 'on', maxQueueDelayUs: 30_000 } });
  try {
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install((await bundleFromOnnx({ dir: join(kit.dir, 'b'), onnx: pick.onnx, name: 'pick', version: '1.0.0', io: pick.io, keys: kit.keys })).path);
    const body = (k: number, idx: number, shape = [1, 4]) => ({ inputs: [
      { name: 'x', datatype: 'FP32', shape, data: [k, k + 1, k + 2, k + 3] },
      { name: 'idx', datatype: 'INT64', shape: [1, 1], data: [idx] },
    ] });
    const bodies = [body(0, 0), body(10, 3), body(20, 9), body(30, 1, [1, 5]), body(40, 2), body(50, 1)];
    const res = await Promise.all(bodies.map((b) => req(agent.url, 'POST', '/v2/models/pick/infer', b)));
    assert.deepEqual(res.map((r) => r.status), [200, 200, 500, 400, 200, 200], res.map((r) => r.text).join('\n'));
    assert.deepEqual(res.map((r) => (r.status === 200 ? r.json.outputs[0].data : r.json.code)), [[0], [13], 'INFERENCE_FAILED', 'INVALID_INPUT', [42], [51]]);
    assert.match(res[3]!.json.error, /input "x".*shape/);
    const stats = agent.runtime.batchStats('pick')!;
    // Five valid requests (the malformed one never reaches the runtime); all in batches of two or more.
    assert.ok(stats.runs >= 1 && stats.requests >= 2 && stats.requests <= 5, JSON.stringify(stats));
    const metrics = (await req(agent.url, 'GET', '/metrics')).text;
    assert.match(metrics, /edgefleet_agent_runtime_backend\{backend="native"\} 1/);
    assert.match(metrics, /edgefleet_agent_runtime_backend\{backend="wasm"\} 0/);
    assert.match(metrics, new RegExp(`edgefleet_agent_batched_requests_total\\{model="pick"\\} ${stats.requests}`));
    assert.match(metrics, /edgefleet_agent_requests_total\{model="pick",version="1.0.0",outcome="INFERENCE_FAILED"\} 1/);
  } finally {
    await agent.stop();
    kit.cleanup();
  }
});
