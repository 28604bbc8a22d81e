// `promote --full` (docs/rollouts.md "Promoting to the full fleet") on the rollout test environment
// (testing.ts: real hub.db, broker and engine, device reports as ingest stores them), over the REST app and
// the CLI: a staging ring promoted while it bakes is still judged, and once it passes the last wave opens at
// once, the waves between skipped, under manual advance too; a ring that fails after --full is rolled back
// before any other device was told; --full on the last wave, twice, or on a paused rollout is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Wave } from '@edgefleet/shared';
import { actOverRest, bake, cleanup, cliAgainst, notified, others, prepare, report, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('full', () => {
  before(prepare);
  after(cleanup);

  const STAGING = ['d-000', 'd-007', 'd-013'];
  const WAVES: Wave[] = [
    { name: 'staging', tags: { env: 'staging' }, bakeSec: 600 }, { name: 'canary', percent: 10, minDevices: 2, bakeSec: 600 },
    { name: 'half', percent: 50, bakeSec: 600 }, { name: 'all', percent: 100, bakeSec: 60 },
  ];

  async function withRing(version: string, fn: (e: Env, id: string) => Promise<void>): Promise<void> {
    const e = await setup(20);
    try {
      for (const id of STAGING) e.store.devices.setTags(id, { ring: 'a', env: 'staging' });
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version, target: { all: true }, waves: WAVES, gates: { minPredictions: 150 }, advance: 'manual', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      assert.deepEqual(notified(e, r.id).sort(), STAGING);
      await fn(e, r.id);
    } finally {
      await e.close();
    }
  }

  const states = (e: Env, id: string) => e.engine.view(id).waves.map((w) => w.state);
  const entries = (e: Env, id: string, action: string) => e.store.audit.query({}).filter((x) => x.target === id && x.action === action);

  describe('promote --full', () => {
    it('promoted while the ring bakes: judged all the same, then every remaining device at once, the waves between skipped', () => withRing('2.0.0', async (e, id) => {
      const cli = await cliAgainst(e);
      try {
        const a = await cli.run('rollout', 'promote', id, '--full', '--reason', 'staging looked fine for a day');
        assert.equal(a.code, 0, a.err);
        assert.equal(a.out, `rollout ${id}: running, wave staging evaluating; once it passes, wave all opens (every remaining device)\n`);
        assert.deepEqual(notified(e, id).sort(), STAGING, 'nobody else told before the ring passes');
        const [promote] = entries(e, id, 'rollout.promote');
        assert.deepEqual(promote?.details, { model: 'audio-energy', version: '2.0.0', wave: 'staging', full: true, opens: 'all', skips: ['canary', 'half'], skippedBakeSec: 600 });
        const again = await actOverRest(e, id, 'promote', 'again', { full: true });
        assert.deepEqual([again.status, again.body.error?.code], [409, 'CONFLICT']);
        assert.match(again.body.error?.message ?? '', /was promoted to the full fleet already by ops at \S+: wave staging opens the last once it passes/);

        await bake(e, id, STAGING);
        await e.engine.tick();
        assert.deepEqual(states(e, id), ['passed', 'skipped', 'skipped', 'baking']);
        assert.equal(notified(e, id).length, 20, 'every device of the target told');
        const [next] = entries(e, id, 'rollout.wave_next');
        assert.equal(next?.reason, 'promoted to the full fleet by ops: staging looked fine for a day');
        assert.deepEqual([(next?.details as { next: string }).next, (next?.details as { skipped: string[] }).skipped], ['all', ['canary', 'half']]);
        const show = await cli.run('rollout', 'show', id);
        assert.match(show.out, /canary 10%.* skipped +skipped: promoted to the full fleet by ops at /);
        assert.match(show.out, /half 50%.* skipped +skipped: promoted to the full fleet by ops at /);

        // The last wave is judged as ever; under manual advance its promote completes the rollout.
        await bake(e, id, notified(e, id));
        assert.deepEqual(states(e, id), ['passed', 'skipped', 'skipped', 'passed']);
        const done = await cli.run('rollout', 'promote', id, '--reason', 'done');
        assert.equal(done.code, 0, done.err);
        assert.equal(e.engine.view(id).state, 'completed');
        assert.deepEqual(states(e, id), ['passed', 'skipped', 'skipped', 'passed']);
      } finally {
        cli.close();
      }
    }));

    it('the ring fails its gates after --full: rolled back, no other device told', () => withRing('3.0.0', async (e, id) => {
      const ok = await actOverRest(e, id, 'promote', 'ship it', { full: true });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      e.clock.advance(61_000);
      report(e, STAGING, '3.0.0', { bins: [0, 0, 0, 10, 20, 30, 40], bad: 8 });
      report(e, others(e, id), '1.0.0');
      await e.engine.tick();
      assert.equal(e.engine.view(id).state, 'rolled_back');
      assert.deepEqual(states(e, id), ['failed', 'skipped', 'skipped', 'skipped']);
      assert.deepEqual(notified(e, id).sort(), STAGING);
    }));

    it('a passed wave under manual advance opens the last at once; refused on the last wave and on a paused rollout', () => withRing('2.0.0', async (e, id) => {
      await bake(e, id, STAGING);
      e.clock.advance(600_000);
      await e.engine.tick();
      assert.deepEqual(states(e, id), ['passed', 'pending', 'pending', 'pending'], 'waiting for promote');
      const paused = await actOverRest(e, id, 'pause', 'look first');
      assert.equal(paused.status, 200);
      const onPause = await actOverRest(e, id, 'promote', 'go', { full: true });
      assert.deepEqual([onPause.status, onPause.body.error?.code], [409, 'CONFLICT']);
      assert.match(onPause.body.error?.message ?? '', new RegExp(`rollout ${id} is paused: promote --full expects a running rollout; edgefleet rollout resume ${id}`));
      assert.equal((await actOverRest(e, id, 'resume', 'looked')).status, 200);
      const full = await actOverRest(e, id, 'promote', 'go', { full: true });
      assert.equal(full.status, 200, JSON.stringify(full.body));
      assert.deepEqual(states(e, id), ['passed', 'skipped', 'skipped', 'baking']);
      assert.equal(notified(e, id).length, 20);
      const last = await actOverRest(e, id, 'promote', 'more', { full: true });
      assert.deepEqual([last.status, last.body.error?.code], [409, 'CONFLICT']);
      assert.match(last.body.error?.message ?? '', /is on its last wave all: promote --full expects a wave before the last/);
    }));
  });
});
