// The rollout numbers that had no upper bound (docs/rollouts.md "Gates"): each is accepted at its bound
// and refused one step past it, with an error naming the field and what was expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { parseWire } from './common.js';
import { ROLLOUT_BOUNDS, RolloutCreate } from './rollout.js';

const base = {
  model: 'vibration-anomaly', version: '2.0.0', target: { all: true }, reason: 'bounds',
  waves: [{ name: 'canary', percent: 5, minDevices: 1, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 0 }],
};

/** A create body with one field set: a gate, the first wave's minDevices or the shadow stage's minSamples. */
function body(field: string, value: number): Record<string, unknown> {
  if (field === 'minDevices') return { ...base, waves: [{ ...base.waves[0], minDevices: value }, base.waves[1]] };
  if (field === 'shadowMinSamples') return { ...base, shadow: { minSamples: value } };
  return { ...base, gates: { [field]: value } };
}

const path = (field: string) => (field === 'minDevices' ? 'waves[0].minDevices' : field === 'shadowMinSamples' ? 'shadow.minSamples' : `gates.${field}`);

for (const [field, max] of Object.entries(ROLLOUT_BOUNDS)) {
  test(`${field}: ${max} is accepted, more is refused naming the field and the bound`, () => {
    parseWire(RolloutCreate, body(field, max), 'rollout');
    const step = Number.isInteger(max) && field !== 'latencyRatio' ? 1 : 0.5;
    assert.throws(() => parseWire(RolloutCreate, body(field, max + step), 'rollout'), (e: unknown) => {
      assert.ok(e instanceof AppError, String(e));
      assert.equal(e.code, 'SCHEMA_INVALID');
      assert.ok(e.message.includes(path(field)), e.message);
      assert.ok(e.message.includes(`${max}`), e.message);
      return true;
    });
  });
}

test('whole-number fields refuse a fraction and say so', () => {
  assert.throws(() => parseWire(RolloutCreate, body('minPredictions', 10.5), 'rollout'), /gates\.minPredictions: expected a whole number of predictions from 0 to 100000000/);
  assert.throws(() => parseWire(RolloutCreate, body('stuckSec', 0), 'rollout'), /gates\.stuckSec: expected a whole number of seconds from 1 to 2592000/);
});
