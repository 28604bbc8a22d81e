// wasmLoads on real onnxruntime-web sessions in its worker thread: a model it loads, one it refuses (with
// onnxruntime-web's reason), the size bound, and the deadline, after which the next check still answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStrictShapeModel, randomMlp } from '@edgefleet/examples';
import { describeBackends, modelBackends, wasmLoads } from './model-backends.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('model-backends', () => {
  let dir = '';
  const p = (f: string) => join(dir, f);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backends-'));
    writeFileSync(p('mlp.onnx'), randomMlp({ inputDim: 4, hidden: [3], outputDim: 2, seed: 7 }).onnx);
    writeFileSync(p('strict.onnx'), buildStrictShapeModel().onnx);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a model onnxruntime-web loads, and one it refuses with its reason', async () => {
    assert.deepEqual(await wasmLoads(p('mlp.onnx')), { checked: true });
    const refused = await wasmLoads(p('strict.onnx'));
    assert.ok(refused.checked);
    assert.match(refused.error ?? '', /ShapeInferenceError.*Inferred=1 Declared=2/);
    const b = await modelBackends(p('strict.onnx'), undefined);
    assert.match(describeBackends(b), /^loads on native; not on wasm: .*ShapeInferenceError/);
  });

  test('a model above the bound is not loaded; a load past the deadline is ended and the next check answers', async () => {
    const bounded = await wasmLoads(p('mlp.onnx'), { maxBytes: 10 });
    assert.equal(bounded.checked, false);
    assert.match(bounded.checked ? '' : bounded.reason, /^the model \(\d+ bytes\) is larger than the check's bound of 10 bytes$/);
    // An onnxruntime-web whose load never ends: the worker is ended at the deadline.
    const stuck = `data:text/javascript,${encodeURIComponent('export const env = { wasm: {} }; export const InferenceSession = { create: () => new Promise(() => {}) };')}`;
    const late = await wasmLoads(p('mlp.onnx'), { timeoutMs: 200, ort: stuck });
    assert.deepEqual(late, { checked: false, reason: 'onnxruntime-web did not load it within 200 ms' });
    assert.deepEqual(await wasmLoads(p('mlp.onnx')), { checked: true });
  });
});
