import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gammaP, gammaQ, lnGamma } from './gamma.js';

test('lnGamma: factorials and Γ(1/2) = sqrt(π)', () => {
  let fact = 1;
  for (let n = 1; n <= 30; n++) {
    if (n > 1) fact *= n - 1;
    const want = Math.log(fact);
    assert.ok(Math.abs(lnGamma(n) - want) <= 1e-12 * Math.max(1, want), `lnGamma(${n})`);
  }
  assert.ok(Math.abs(lnGamma(0.5) - Math.log(Math.sqrt(Math.PI))) < 1e-13);
  assert.ok(Math.abs(lnGamma(0.25) - Math.log(3.625609908221908)) < 1e-12);
  assert.throws(() => lnGamma(0), /expected x > 0/);
});

test('Q(n, x) for integer n matches the Poisson sum e^-x Σ_{k<n} x^k/k!', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 1e-6, max: 120, noNaN: true }), (n, x) => {
      let term = 1;
      let sum = 1;
      for (let k = 1; k < n; k++) { term *= x / k; sum += term; }
      const want = Math.exp(-x) * sum;
      const got = gammaQ(n, x);
      assert.ok(Math.abs(got - want) <= 1e-10 * want + 1e-14, `Q(${n}, ${x}) = ${got}, want ${want}`);
      assert.ok(Math.abs(gammaP(n, x) + got - 1) < 1e-12);
    }),
    { seed: 99, numRuns: 500 },
  );
});

test('limits and bad arguments', () => {
  assert.equal(gammaQ(2, 0), 1);
  assert.equal(gammaP(2, 0), 0);
  assert.equal(gammaQ(2, Infinity), 0);
  // Q(2, 100/2... ) for χ²(4) at 100: e^-50 (1 + 50), in the continued-fraction branch.
  const q = gammaQ(2, 50);
  assert.ok(Math.abs(q - 51 * Math.exp(-50)) <= 1e-12 * q);
  assert.throws(() => gammaQ(0, 1), /expected a > 0 and x >= 0/);
  assert.throws(() => gammaP(1, -1), /expected a > 0 and x >= 0/);
  assert.throws(() => gammaQ(1, Number.NaN), /expected a > 0 and x >= 0/);
});
