import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chiSquare, histogramToDistribution, jsDistance, ksBinned, normalize, psi } from './distance.js';

function near(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

test('histogramToDistribution puts under and over at the ends', () => {
  assert.deepEqual(histogramToDistribution({ counts: [1, 2], under: 3, over: 4 }), [3, 1, 2, 4]);
});

test('psi by hand', () => {
  // e = [.5,.3,.2], a = [.3,.3,.4]:
  // (.3-.5)·ln(.3/.5) + 0 + (.4-.2)·ln(.4/.2) = 0.2·0.5108256237659907 + 0.2·ln 2
  // = 0.10216512475319814 + 0.13862943611198905 = 0.2407945608651872
  near(psi([50, 30, 20], [30, 30, 40]), 0.2407945608651872);
  // Counts are normalised, so scale does not matter.
  near(psi([5, 3, 2], [300, 300, 400]), 0.2407945608651872);
});

test('psi floors an empty bin at epsilon', () => {
  // e = [1, 0 -> 1e-4], a = [.9, .1]:
  // (.9-1)·ln(.9) + (.1-1e-4)·ln(.1/1e-4) = 0.010536051565782628 + 0.0999·6.907755278982137
  // = 0.010536051565782628 + 0.6900847523703155 = 0.7006208039360981
  near(psi([100, 0], [90, 10]), 0.700620803936098);
  // A larger epsilon gives a smaller but still finite PSI: (.1-.01)·ln(10) - 0.1·ln(.9).
  near(psi([100, 0], [90, 10], { epsilon: 0.01 }), 0.09 * Math.log(10) + 0.1 * -Math.log(0.9));
  assert.throws(() => psi([1], [1], { epsilon: 0 }), /expected a number in \(0, 1\)/);
});

test('jsDistance by hand', () => {
  // p = [1,0], q = [.5,.5], m = [.75,.25]:
  // KL(p‖m) = log2(4/3) = 0.41503749927884376
  // KL(q‖m) = .5·log2(2/3) + .5·log2(2) = .5·(-0.5849625007211562) + .5 = 0.2075187496394219
  // JSD = .5·(0.41503749927884376 + 0.2075187496394219) = 0.31127812445913283; distance = sqrt of it.
  near(jsDistance([10, 0], [5, 5]), Math.sqrt(0.31127812445913283));
});

test('ksBinned by hand', () => {
  // CDFs: p .1,.3,.6,1 and q .4,.7,.9,1 -> |diffs| .3,.4,.3,0 -> .4
  near(ksBinned([1, 2, 3, 4], [4, 3, 2, 1]), 0.4);
});

test('identical distributions give 0 drift; disjoint give JS and KS 1', () => {
  const d = [3, 0, 7, 1];
  assert.equal(psi(d, d), 0);
  assert.equal(jsDistance(d, [6, 0, 14, 2]), 0);
  assert.equal(ksBinned(d, d), 0);
  assert.deepEqual(chiSquare(d, d), { statistic: 0, df: 2, pValue: 1 });
  assert.equal(jsDistance([1, 0], [0, 1]), 1);
  assert.equal(jsDistance([5, 5, 0, 0], [0, 0, 1, 3]), 1);
  assert.equal(ksBinned([1, 0], [0, 1]), 1);
});

test('zero totals, negative counts and different bins are refused with a clear error', () => {
  for (const fn of [psi, jsDistance, ksBinned, chiSquare] as Array<(a: number[], b: number[]) => unknown>) {
    assert.throws(() => fn([0, 0], [1, 2]), { code: 'INVALID_INPUT', message: /has a total of 0: expected at least one observation/ });
    assert.throws(() => fn([1, 2], [0, 0]), /has a total of 0/);
    assert.throws(() => fn([1, -2], [1, 2]), /bin 1 is -2: expected a finite count >= 0/);
    assert.throws(() => fn([1, Number.NaN], [1, 2]), /bin 1 is NaN/);
    assert.throws(() => fn([1, 2, 3], [1, 2]), /has 3 bins and .* has 2: expected the same bins/);
    assert.throws(() => fn([], []), /expected at least one bin/);
  }
});

test('chiSquare by hand, with p-values from closed forms', () => {
  // E = 25 each: (25 + 25 + 0 + 0) / 25 = 2, df 3.
  // χ²(3) survival at 2: erfc(1) + sqrt(2·2/π)·e^-1 = 0.15729920705028513 + 1.1283791670955126·0.36787944117144233 = 0.5724067044708798
  const r = chiSquare([25, 25, 25, 25], [30, 20, 25, 25]);
  assert.equal(r.statistic, 2);
  assert.equal(r.df, 3);
  near(r.pValue, 0.15729920705028513 + 1.1283791670955126 * 0.36787944117144233, 1e-12);
  // Expected shares 1/3 of 60 -> 20 each: (100 + 0 + 100)/20 = 10, df 2; χ²(2) survival is e^(-x/2) = e^-5.
  const r2 = chiSquare([1, 1, 1], [10, 20, 30]);
  near(r2.statistic, 10);
  near(r2.pValue, Math.exp(-5), 1e-12);
  // Table values: χ²(1) at 3.841458820694124 and χ²(10) at 18.307038053275146 have p = 0.05.
  near(chiSquare([1, 1], [50 + Math.sqrt(3.841458820694124 * 25), 50 - Math.sqrt(3.841458820694124 * 25)]).pValue, 0.05, 1e-9);
});

test('chiSquare skips bins empty on both sides and floors a new category at epsilon', () => {
  assert.deepEqual(chiSquare([10, 10, 0], [5, 5, 0]), { statistic: 0, df: 1, pValue: 1 });
  // n = 11, shares [.5,.5,0 -> 1e-4]: E = [5.5, 5.5, 0.0011]
  // 2·(0.5²/5.5) + (1 - 0.0011)²/0.0011 = 0.09090909090909091 + 907.0920090909092
  const r = chiSquare([10, 10, 0], [5, 5, 1]);
  near(r.statistic, 0.09090909090909091 + (0.9989 * 0.9989) / 0.0011, 1e-9);
  assert.equal(r.df, 2);
  assert.ok(r.pValue < 1e-100 && r.pValue >= 0, `p ${r.pValue}`);
});

test('properties: JS symmetric in [0,1]; PSI >= 0 and symmetric; KS in [0,1]; scale-free', () => {
  const counts = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(counts, counts, (p0, q0) => {
      const n = Math.min(p0.length, q0.length);
      const p = p0.slice(0, n);
      const q = q0.slice(0, n);
      fc.pre(p.some((x) => x > 0) && q.some((x) => x > 0));
      const js = jsDistance(p, q);
      assert.ok(js >= 0 && js <= 1);
      near(js, jsDistance(q, p), 1e-12);
      const s = psi(p, q);
      assert.ok(s >= 0);
      near(s, psi(q, p), 1e-9);
      const ks = ksBinned(p, q);
      assert.ok(ks >= 0 && ks <= 1);
      near(ksBinned(p.map((x) => x * 7), q), ks, 1e-12);
      const c = chiSquare(p, q);
      assert.ok(c.pValue >= 0 && c.pValue <= 1 && c.statistic >= 0);
    }),
    { seed: 4242, numRuns: 300 },
  );
  assert.deepEqual(normalize([1, 3]), [0.25, 0.75]);
});
