// The agreement rules of a shadow run (agreement.ts) on hand-made tensors: labels must be equal, class
// scores must share each row's argmax, single values must be within the tolerance or, with a threshold,
// on the same side of it; a missing output or another shape disagrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manifest } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';
import { outputKind, outputsAgree } from './agreement.js';

const io = (outputs: Manifest['io']['outputs']) => ({ io: { inputs: [], outputs } }) as unknown as Manifest;
const t = (name: string, datatype: string, shape: number[], data: number[]): RecordedTensor => ({ name, datatype, shape, data: Float64Array.from(data) }) as unknown as RecordedTensor;
const RULE = { tolerance: 0.01 };

test('the kind of an output comes from its manifest spec (free last dimension: the tensor sent)', () => {
  assert.equal(outputKind({ datatype: 'INT64', shape: [-1] }, t('y', 'INT64', [2], [1, 2])), 'label');
  assert.equal(outputKind({ datatype: 'FP32', shape: [-1, 3] }, t('y', 'FP32', [1, 3], [0, 0, 1])), 'class');
  assert.equal(outputKind({ datatype: 'FP32', shape: [-1, 1] }, t('y', 'FP32', [1, 1], [0.3])), 'value');
  assert.equal(outputKind({ datatype: 'FP32', shape: [-1, -1] }, t('y', 'FP32', [1, 4], [0, 0, 0, 1])), 'class');
  assert.equal(outputKind(undefined, t('y', 'FP64', [3], [1, 2, 3])), 'value');
});

test('class scores agree on the same argmax per row, whatever the scores', () => {
  const m = io([{ name: 'p', datatype: 'FP32', shape: [-1, 3] }]);
  const a = [t('p', 'FP32', [2, 3], [0.1, 0.7, 0.2, 0.5, 0.3, 0.2])];
  assert.equal(outputsAgree(m, a, [t('p', 'FP32', [2, 3], [0.3, 0.4, 0.3, 0.9, 0.05, 0.05])], RULE), true);
  assert.equal(outputsAgree(m, a, [t('p', 'FP32', [2, 3], [0.3, 0.4, 0.3, 0.1, 0.8, 0.1])], RULE), false, 'row 2 changed class');
});

test('labels must be equal; values within tolerance * max(1, |a|), or with a threshold on its same side', () => {
  const labels = io([{ name: 'y', datatype: 'INT64', shape: [-1] }]);
  assert.equal(outputsAgree(labels, [t('y', 'INT64', [2], [1, 2])], [t('y', 'INT64', [2], [1, 2])], RULE), true);
  assert.equal(outputsAgree(labels, [t('y', 'INT64', [2], [1, 2])], [t('y', 'INT64', [2], [1, 3])], RULE), false);
  const values = io([{ name: 'v', datatype: 'FP32', shape: [-1, 1] }]);
  const v = (x: number[]) => [t('v', 'FP32', [x.length, 1], x)];
  assert.equal(outputsAgree(values, v([0.5, 200]), v([0.509, 201.9]), RULE), true);
  assert.equal(outputsAgree(values, v([0.5, 200]), v([0.52, 200]), RULE), false);
  assert.equal(outputsAgree(values, v([0.5, 200]), v([0.5, 202.1]), RULE), false, 'relative above 1');
  assert.equal(outputsAgree(values, v([0.55, 0.1]), v([0.95, 0.45]), { tolerance: 0.01, threshold: 0.5 }), true);
  assert.equal(outputsAgree(values, v([0.55, 0.1]), v([0.45, 0.1]), { tolerance: 0.01, threshold: 0.5 }), false);
});

test('a missing output, another shape or an empty answer disagrees', () => {
  const m = io([{ name: 'v', datatype: 'FP32', shape: [-1, 1] }]);
  const a = [t('v', 'FP32', [1, 1], [0.5])];
  assert.equal(outputsAgree(m, a, [t('w', 'FP32', [1, 1], [0.5])], RULE), false);
  assert.equal(outputsAgree(m, a, [t('v', 'FP32', [1, 1, 1], [0.5])], RULE), false);
  assert.equal(outputsAgree(m, [], [], RULE), false);
});
