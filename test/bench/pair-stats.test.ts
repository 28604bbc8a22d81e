import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPairStats, pairStats } from './pair-stats.js';

test('pairStats: mean, median, range and a t-based 95 % interval', () => {
  const s = pairStats([0.9, 1.1, 1.0, 0.8]);
  assert.equal(s.n, 4);
  assert.ok(Math.abs(s.mean - 0.95) < 1e-12);
  assert.ok(Math.abs(s.median - 0.95) < 1e-12);
  assert.equal(s.min, 0.8);
  assert.equal(s.max, 1.1);
  // sd = 0.1291, t(3) = 3.182: half-width 0.2054
  assert.ok(s.ci);
  assert.ok(Math.abs(s.ci[0] - (0.95 - 0.2054)) < 1e-3 && Math.abs(s.ci[1] - (0.95 + 0.2054)) < 1e-3);
  assert.equal(pairStats([1.2, 0.7, 1]).median, 1);
  assert.equal(pairStats([0.93]).ci, null);
  assert.match(formatPairStats(s), /^mean 0\.95x \(95 % CI 0\.74-1\.16\), median 0\.95x, 0\.80-1\.10x over 4 pairs$/);
});

test('pairStats refuses what cannot be averaged', () => {
  assert.throws(() => pairStats([]), /expected finite numbers/);
  assert.throws(() => pairStats([1, Number.NaN]), /expected finite numbers/);
});
