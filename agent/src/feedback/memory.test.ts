// The bounded memory of predictions (pure logic, a hand-moved clock): forgotten past the row bound
// oldest first, past the age bound, ids and requests over their limits never remembered; and the
// predicted class and confidence read from a classifier's output (one column or one per class, logits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PredictionMemory } from './memory.js';
import { eachPrediction, type TaskPlan } from './task.js';

const binary: TaskPlan = { kind: 'classification', output: 'p', classes: ['no', 'yes'], logits: false, column: 0 };
const out = (data: number[], shape = [data.length, 1]) => [{ name: 'p', datatype: 'FP32' as const, shape, data: Float32Array.from(data) }];

test('the memory holds at most maxRows rows (oldest forgotten first) and nothing older than maxAgeMs', () => {
  let now = 0;
  const m = new PredictionMemory({ maxRows: 5, maxAgeMs: 1000, maxIdLength: 8, maxRowsPerRequest: 3 }, () => now);
  for (let i = 0; i < 5; i++) m.remember(`a${i}`, 'm', '1.0.0', binary, out([0.9]));
  assert.equal(m.rows, 5);
  assert.ok(m.get('a0'));
  m.remember('b', 'm', '1.0.0', binary, out([0.1, 0.2])); // 7 rows: a0 and a1 go
  assert.equal(m.rows, 5);
  assert.equal(m.get('a0'), undefined);
  assert.equal(m.get('a1'), undefined);
  assert.deepEqual(Array.from(m.get('b')!.predicted), [0, 0]);
  m.remember('c', 'm', '1.0.0', binary, out([0.1, 0.2, 0.3, 0.4])); // over maxRowsPerRequest: not remembered
  m.remember('x'.repeat(9), 'm', '1.0.0', binary, out([0.1])); // id over maxIdLength
  assert.equal(m.get('c'), undefined);
  assert.equal(m.size, 4);
  now = 500;
  m.remember('b', 'm', '1.0.0', binary, out([0.7])); // the same id again replaces it (and is younger)
  assert.deepEqual(Array.from(m.get('b')!.predicted), [1]);
  assert.equal(m.rows, 4);
  now = 1000;
  assert.ok(m.get('a2'), 'exactly maxAgeMs old is kept');
  now = 1001;
  assert.equal(m.get('a2'), undefined);
  assert.ok(m.get('b'));
  now = 2001;
  assert.equal(m.get('b'), undefined);
  assert.equal(m.rows, 0);
});

test('predicted class and confidence: one probability column, one column per class, logits', () => {
  const seen: Array<[number, number]> = [];
  const each = (p: number, c: number) => { seen.push([p, Math.round(c * 1e4) / 1e4]); };
  assert.equal(eachPrediction(binary, out([0.8, 0.3, Number.NaN]), each), 3);
  assert.deepEqual(seen.splice(0), [[1, 0.8], [0, 0.7], [-1, Number.NaN]]);
  const three: TaskPlan = { ...binary, classes: ['a', 'b', 'c'] };
  eachPrediction(three, out([0.2, 0.5, 0.3, 0.6, 0.3, 0.1], [2, 3]), each);
  assert.deepEqual(seen.splice(0), [[1, 0.5], [0, 0.6]]);
  eachPrediction({ ...three, logits: true }, out([0, Math.log(2), 0], [1, 3]), each); // softmax: 1/4, 2/4, 1/4
  assert.deepEqual(seen.splice(0), [[1, 0.5]]);
  assert.equal(eachPrediction(binary, [], each), -1, 'the task output absent (not asked for)');
  const reg: TaskPlan = { kind: 'regression', output: 'p', classes: [], logits: false, column: 1 };
  eachPrediction(reg, out([1, 2, 3, 4], [2, 2]), each);
  assert.deepEqual(seen.map((s) => s[0]), [2, 4]);
});
