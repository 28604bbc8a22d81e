import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addCategory, categoricalToDistribution, categoricalTotal, emptyCategorical, mergeCategorical } from './categorical.js';

const VOCAB = ['idle', 'run', 'stop'];

test('counts vocabulary values by string or index; everything else is other', () => {
  const c = emptyCategorical();
  for (const v of ['run', 'run', 'idle', 'RUN', 'x', 2, 0, 3, -1, 1.5]) addCategory(c, VOCAB, v);
  assert.deepEqual(c, { counts: { run: 2, idle: 2, stop: 1 }, other: 5 });
  assert.equal(categoricalTotal(c), 10);
});

test('a vocabulary value "__proto__" is an ordinary key', () => {
  const c = emptyCategorical();
  addCategory(c, ['__proto__', 'a'], '__proto__');
  addCategory(c, ['__proto__', 'a'], 0);
  assert.equal(Object.getPrototypeOf(c.counts), Object.prototype);
  assert.deepEqual(Object.entries(c.counts), [['__proto__', 2]]);
  const m = mergeCategorical(c, c);
  assert.deepEqual(Object.entries(m.counts), [['__proto__', 4]]);
});

test('refuses a value that is neither a string nor an index', () => {
  assert.throws(() => addCategory(emptyCategorical(), VOCAB, null as unknown as string), { code: 'INVALID_INPUT', message: /type object: expected a string/ });
});

test('merge adds key by key; inputs are not mutated', () => {
  const a = { counts: { run: 1, idle: 2 }, other: 3 };
  const b = { counts: { run: 10, stop: 5 }, other: 1 };
  assert.deepEqual(mergeCategorical(a, b), { counts: { run: 11, idle: 2, stop: 5 }, other: 4 });
  assert.deepEqual(a, { counts: { run: 1, idle: 2 }, other: 3 });
});

test('to a distribution in vocabulary order plus other; unknown keys count as other', () => {
  assert.deepEqual(categoricalToDistribution({ counts: { stop: 4, run: 1, legacy: 2 }, other: 3 }, VOCAB), [0, 1, 4, 5]);
  assert.throws(() => categoricalToDistribution(emptyCategorical(), ['a', 'a']), /duplicate values/);
});
