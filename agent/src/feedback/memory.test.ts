// The bounded memory of predictions (pure logic, a hand-moved clock): forgotten past the row and byte
// bounds oldest first (the byte count checked against the heap), past the age bound, ids and requests over their limits never remembered; and the
// predicted class and confidence read from a classifier's output (one column or one per class, logits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { entryBytes, PredictionMemory } from './memory.js';
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

test('a request of exactly maxRowsPerRequest rows and an id of exactly maxIdLength are remembered, one more of either not', () => {
  const m = new PredictionMemory({ maxRows: 100, maxIdLength: 8, maxRowsPerRequest: 3 });
  m.remember('three', 'm', '1.0.0', binary, out([0.1, 0.6, 0.9]));
  assert.deepEqual(Array.from(m.get('three')!.predicted), [0, 1, 1]);
  m.remember('four', 'm', '1.0.0', binary, out([0.1, 0.6, 0.9, 0.2]));
  assert.equal(m.get('four'), undefined);
  m.remember('x'.repeat(8), 'm', '1.0.0', binary, out([0.9]));
  assert.ok(m.get('x'.repeat(8)));
  m.remember('y'.repeat(9), 'm', '1.0.0', binary, out([0.9]));
  assert.equal(m.get('y'.repeat(9)), undefined);
  assert.equal(m.rows, 4);
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

test('the memory holds at most maxBytes as entryBytes counts them (one-row requests with long ids), oldest forgotten first', () => {
  const id = (i: number) => `${i}`.padStart(200, 'x');
  const each = entryBytes(200, 1);
  const m = new PredictionMemory({ maxBytes: 3 * each }, () => 0);
  for (let i = 0; i < 3; i++) m.remember(id(i), 'm', '1.0.0', binary, out([0.9]));
  assert.deepEqual([m.size, m.bytes], [3, 3 * each], 'exactly at the bound: all kept');
  m.remember(id(3), 'm', '1.0.0', binary, out([0.9]));
  assert.deepEqual([m.size, m.bytes], [3, 3 * each], 'one past it: the oldest forgotten');
  assert.equal(m.get(id(0)), undefined);
  assert.ok(m.get(id(3)));
  m.remember('big', 'm', '1.0.0', binary, out(new Array(3 * each / 16).fill(0.9))); // alone over maxBytes: not remembered
  assert.equal(m.get('big'), undefined);
  assert.equal(m.size, 3);
});

test('entryBytes is no less than what an entry holds, measured on the heap', () => {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();
  const n = 20_000;
  const m = new PredictionMemory({ maxRows: 10 * n, maxBytes: 1e12 });
  gc();
  const before = process.memoryUsage().heapUsed;
  // Ids as a request's JSON gives them (flat strings; a padStart result may be a larger cons string).
  for (let i = 0; i < n; i++) m.remember(JSON.parse(`"${`r-${i}`.padStart(32, '0')}"`) as string, 'm', '1.0.0', binary, out([0.9]));
  gc();
  const held = process.memoryUsage().heapUsed - before;
  assert.equal(m.size, n);
  assert.ok(held <= m.bytes, `${n} entries hold ${held} bytes, counted ${m.bytes}`);
  assert.ok(held >= m.bytes / 3, `the count is not wildly above what is held (${held} of ${m.bytes})`);
});
