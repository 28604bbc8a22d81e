import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMoment, emptyMoments, mergeMoments, stddev, variance } from './moments.js';

function of(xs: number[]) {
  const m = emptyMoments();
  for (const x of xs) addMoment(m, x);
  return m;
}

test('Welford: mean, m2, variance, stddev, min, max by hand', () => {
  // 2,4,4,4,5,5,7,9: mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32 = m2;
  // sample variance 32/7; stddev sqrt(32/7).
  const m = of([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(m.n, 8);
  assert.equal(m.mean, 5);
  assert.equal(m.m2, 32);
  assert.equal(variance(m), 32 / 7);
  assert.equal(stddev(m), Math.sqrt(32 / 7));
  assert.equal(m.min, 2);
  assert.equal(m.max, 9);
});

test('empty and single-value moments', () => {
  assert.deepEqual(emptyMoments(), { n: 0, mean: 0, m2: 0, min: null, max: null });
  assert.equal(variance(emptyMoments()), 0);
  const one = of([3.5]);
  assert.deepEqual(one, { n: 1, mean: 3.5, m2: 0, min: 3.5, max: 3.5 });
  assert.equal(variance(one), 0);
});

test('Chan merge by hand, and with empty sides', () => {
  // [1,2,3]: mean 2, m2 2.  [10,14]: mean 12, m2 8.  delta 10, n 5:
  // m2 = 2 + 8 + 10² · 3·2/5 = 130; mean = 2 + 10·2/5 = 6 (= 30/5).
  const m = mergeMoments(of([1, 2, 3]), of([10, 14]));
  assert.deepEqual(m, { n: 5, mean: 6, m2: 130, min: 1, max: 14 });
  assert.deepEqual(mergeMoments(emptyMoments(), of([1, 2])), of([1, 2]));
  assert.deepEqual(mergeMoments(of([1, 2]), emptyMoments()), of([1, 2]));
  assert.deepEqual(mergeMoments(emptyMoments(), emptyMoments()), emptyMoments());
});

test('stays accurate where a sum of squares would cancel', () => {
  // 1e9 + {4, 7, 13, 16}: variance 30 exactly (deviations -6,-3,3,6 -> 90/3).
  const m = of([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]);
  assert.ok(Math.abs(variance(m) - 30) < 1e-6, `variance ${variance(m)}`);
});

test('addMoment refuses NaN and infinities', () => {
  const m = of([1]);
  for (const x of [Number.NaN, Infinity, -Infinity]) {
    assert.throws(() => addMoment(m, x), { code: 'INVALID_INPUT', message: /expected a finite number/ });
  }
  assert.deepEqual(m, of([1]));
});
