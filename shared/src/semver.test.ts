import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareSemver, isSemver, satisfiesMin } from './semver.js';

test('orders versions by semver precedence (semver.org section 11 example chain)', () => {
  const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '1.10.0', '2.0.0'];
  for (let i = 0; i < chain.length; i++) {
    for (let j = 0; j < chain.length; j++) {
      assert.equal(compareSemver(chain[i]!, chain[j]!), Math.sign(i - j), `${chain[i]} vs ${chain[j]}`);
    }
  }
  assert.equal(compareSemver('1.2.3+build.5', '1.2.3'), 0);
  assert.equal(compareSemver('99999999999999999999.0.0', '99999999999999999998.0.0'), 1);
});

test('satisfiesMin', () => {
  assert.equal(satisfiesMin('0.2.0', '0.1.9'), true);
  assert.equal(satisfiesMin('0.1.0', '0.1.0'), true);
  assert.equal(satisfiesMin('0.1.0-rc.1', '0.1.0'), false);
  assert.equal(satisfiesMin('0.0.9', '0.1.0'), false);
});

test('bad versions are refused with a message naming them', () => {
  assert.equal(isSemver('1.2'), false);
  assert.throws(() => compareSemver('1.2', '1.0.0'), /version "1.2" is not a semantic version; expected MAJOR.MINOR.PATCH/);
  assert.throws(() => satisfiesMin('1.0.0', '01.0.0'), /"01.0.0"/);
  assert.throws(() => compareSemver('1.0.0-', '1.0.0'), /not a semantic version/);
});

test('property: antisymmetric and transitive', () => {
  const id = fc.oneof(fc.nat(20).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'x-1'));
  const v = fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.array(id, { maxLength: 3 }))
    .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre.length ? `-${pre.join('.')}` : ''}`);
  fc.assert(fc.property(v, v, v, (a, b, c) => {
    assert.equal(compareSemver(a, b), -compareSemver(b, a) || 0);
    if (compareSemver(a, b) <= 0 && compareSemver(b, c) <= 0) assert.ok(compareSemver(a, c) <= 0);
  }), { seed: 7, numRuns: 500 });
});
