// What a running rollout waits for (shared/src/rollout-wait.ts): promote after a passed wave under manual advance only.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { promoteWait, promoteWaitText } from './rollout-wait.js';

const waves = (state: string) => [{ name: 'canary', percent: 5, state }, { name: 'staging', tags: { env: 'staging' }, state: 'pending' }] as never;

it('a manual rollout whose current wave passed waits for promote, which opens the next wave or completes it', () => {
  const r = { state: 'running', advance: 'manual', currentWave: 0, waves: waves('passed') } as const;
  assert.deepEqual(promoteWait(r), { wave: 'canary', opens: 'staging [env=staging]' });
  assert.equal(promoteWaitText(promoteWait(r)!, 'Promote'), 'waiting for promote: wave canary passed (advance manual); Promote opens wave staging [env=staging]');
  const last = { ...r, currentWave: 1, waves: [{ name: 'canary', state: 'passed' }, { name: 'all', percent: 100, state: 'passed' }] as never };
  assert.equal(promoteWaitText(promoteWait(last)!, 'P'), 'waiting for promote: wave all passed (advance manual); P completes the rollout');
});

it('nothing waits for promote under auto advance, in another state, or while the wave bakes or is judged', () => {
  assert.equal(promoteWait({ state: 'running', advance: 'auto', currentWave: 0, waves: waves('passed') }), null);
  assert.equal(promoteWait({ state: 'paused', advance: 'manual', currentWave: 0, waves: waves('passed') }), null);
  for (const s of ['baking', 'evaluating']) assert.equal(promoteWait({ state: 'running', advance: 'manual', currentWave: 0, waves: waves(s) }), null);
});
