// A verdict stored without what follows it (hub/src/rollouts/judge.ts `finishVerdict`): the verdict and
// the next wave, rollback or pause are separate writes with awaits between, so a hub killed there left
// the rollout running on a failed wave (the canary on the bad version, for good) or on a passed one under
// auto advance. The hub that steps it next (after a restart, or another hub that took the lease) finishes
// it. Simulated by storing the rollout as it was between the two writes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GATES, WAVES, actions, cleanup, notified, prepare, running, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('interrupted', () => {
  before(prepare);
  after(cleanup);

  const base = { model: 'audio-energy', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback' } as const;

  /** The rollout's canary judged, stored as the hub left it just after the verdict: state, nothing after. */
  async function canaryJudged(e: Env, version: string, verdict: 'passed' | 'failed', onFailure: 'rollback' | 'pause' = 'rollback'): Promise<string> {
    await v1Everywhere(e);
    const r = await e.engine.create({ ...base, onFailure, version, reason: 'interrupted' }, { name: 'op' });
    const rec = e.store.rollouts.get(r.id);
    const p = rec.progress[0]!;
    p.state = verdict;
    p.gates = [{ name: 'output_shift', value: 1.2, threshold: 0.2, verdict: verdict === 'passed' ? 'pass' : 'fail', blocking: true, samples: { wave: 400, control: 400 } } as never];
    e.store.rollouts.save(rec);
    return r.id;
  }

  describe('a verdict the hub stopped after', () => {
    it('a failed canary is rolled back by the next step', async () => {
      const e = await setup(20);
      try {
        const id = await canaryJudged(e, '3.0.0', 'failed');
        const canary = notified(e, id);
        assert.ok(canary.length >= 2);
        await e.engine.tick();
        const v = e.engine.view(id);
        assert.equal(v.state, 'rolled_back');
        assert.match(v.stateReason ?? '', /^wave canary failed its gates: output_shift 1\.2 \(threshold 0\.2\)/);
        assert.equal(running(e, '3.0.0'), 0, 'no device is left on the failed version');
        assert.deepEqual(actions(e, id).slice(-1), ['rollout.rolled_back']);
      } finally {
        await e.close();
      }
    });

    it('a failed canary under onFailure pause is paused', async () => {
      const e = await setup(20);
      try {
        const id = await canaryJudged(e, '3.0.0', 'failed', 'pause');
        await e.engine.tick();
        assert.equal(e.engine.view(id).state, 'paused');
        assert.deepEqual(actions(e, id).slice(-1), ['rollout.paused']);
      } finally {
        await e.close();
      }
    });

    it('a passed canary under auto advance goes on to the next wave', async () => {
      const e = await setup(20);
      try {
        const id = await canaryJudged(e, '2.0.0', 'passed');
        await e.engine.tick();
        const rec = e.store.rollouts.get(id);
        assert.equal(rec.state, 'running');
        assert.equal(rec.currentWave, 1, 'on the next wave');
        assert.ok(actions(e, id).includes('rollout.wave_next'));
        await e.engine.tick();
        assert.equal(notified(e, id).length, 20, 'the next step tells the last wave\'s devices');
      } finally {
        await e.close();
      }
    });
  });
});
