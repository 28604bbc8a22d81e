// checkOnnxModel on real ORT sessions over models built with @edgefleet/examples,
// and compareModelIo on metadata alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '@edgefleet/shared';
import { buildMultiInputModel, randomMlp, rejectsWith } from '@edgefleet/examples';
import { checkOnnxModel, compareModelIo } from './model-check.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('model-check', () => {
  let dir = '';
  let mlpPath = '';
  let multiPath = '';
  const mlp = randomMlp({ inputDim: 4, hidden: [3], outputDim: 2, seed: 7 });
  const multi = buildMultiInputModel();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-model-check-'));
    mlpPath = join(dir, 'mlp.onnx');
    multiPath = join(dir, 'multi.onnx');
    writeFileSync(mlpPath, mlp.onnx);
    writeFileSync(multiPath, multi.onnx);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a model whose io matches the manifest passes (tabular and multi-input with a scalar)', async () => {
    await checkOnnxModel(mlpPath, mlp.io);
    await checkOnnxModel(multiPath, multi.io);
  });

  test('a wrong datatype names the tensor and expected vs actual', async () => {
    const io: Manifest['io'] = { inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, 4] }], outputs: mlp.io.outputs };
    await assert.rejects(checkOnnxModel(mlpPath, io), rejectsWith('MODEL_IO_MISMATCH', /input "input": expected datatype FP64, the model has FP32/));
  });

  test('a wrong rank, a fixed dimension and a wrong name are each reported', async () => {
    const io: Manifest['io'] = {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 5] }],
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }],
    };
    await assert.rejects(checkOnnxModel(mlpPath, io), rejectsWith('MODEL_IO_MISMATCH',
      /input "input": dimension 1 expected 5, the model has 4/,
      /output "probs": declared in the manifest but the model has no such output \(model outputs: output\)/));
    const scalar: Manifest['io'] = { inputs: [multi.io.inputs[0]!, { name: 'sample_rate', datatype: 'INT64', shape: [1] }], outputs: multi.io.outputs };
    await assert.rejects(checkOnnxModel(multiPath, scalar), rejectsWith('MODEL_IO_MISMATCH', /input "sample_rate": expected rank 1 \(shape \[1\]\), the model has rank 0/));
  });

  test('a file that is not ONNX is MODEL_LOAD_FAILED naming the file', async () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await assert.rejects(checkOnnxModel(bad, mlp.io), rejectsWith('MODEL_LOAD_FAILED', /bad\.onnx: onnxruntime could not load the model/));
  });

  test('compareModelIo: an undeclared model input and a non-tensor output are mismatches', () => {
    const model = {
      inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }, { name: 'mask', type: 'bool', shape: ['N'] }],
      outputs: [{ name: 'y', type: null, shape: [] }],
    };
    const io: Manifest['io'] = {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [8, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [] }],
    };
    assert.deepEqual(compareModelIo(io, model), [
      'input "mask": the model requires it but the manifest io does not declare it',
      'output "y": expected datatype FP32, the model has a non-tensor value',
    ]);
  });
});
