// Restarts, the rate cap, late enrollers and the operator actions of the rollout engine (testing.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GATES, WAVES, actOverRest, actions, cleanup, notified, others, prepare, report, running, setup, v1Everywhere } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { view } from './actions.js';

before(prepare);
after(cleanup);

const op = { name: 'op' };

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('rollouts resume after a restart', () => {
  it('restarted during the bake: the wave keeps its devices and bake deadline, then passes once', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, op);
      const canary = notified(e, r.id);
      const bakeUntil = e.store.rollouts.get(r.id).progress[0]?.bakeUntil;
      await e.restart();
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.bakeUntil, bakeUntil);
      await e.engine.tick();
      assert.deepEqual(notified(e, r.id), canary, 'no device added or told twice');
      e.clock.advance(61_000);
      report(e, canary, '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).currentWave, 1);
      assert.equal(actions(e, r.id).filter((a) => a === 'rollout.wave_baking').length, 1);
    } finally {
      await e.close();
    }
  });

  it('restarted during a fan-out at the rate cap: the rest are told at the cap, each device once', async () => {
    const e = await setup(30, { desiredPerMinute: 60, tickMs: 10_000, jitter: 0 }, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 0 }], advance: 'auto', onFailure: 'rollback', reason: 'capped' }, op);
      const first = notified(e, r.id).length;
      assert.equal(first, 5, 'half a tick of budget at start (60/min x 10 s / 2)');
      await e.restart();
      const seen = [first];
      for (let i = 0; i < 5 && notified(e, r.id).length < 30; i++) {
        e.clock.advance(10_000);
        await e.engine.tick();
        seen.push(notified(e, r.id).length);
      }
      assert.deepEqual(seen, [5, 15, 25, 30], 'after the restart: 10 a tick of 10 s (the fresh half-tick budget is capped at one tick)');
      const dep = e.store.deployments.get(e.store.rollouts.get(r.id).deploymentId as number);
      assert.equal(dep.devices.length, 30);
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'evaluating');
    } finally {
      await e.close();
    }
  });
});

describe('rollout cohorts and operator actions', () => {
  it('a device enrolling mid-rollout takes its place: told at once when its wave is open', async () => {
    const e = await setup(10, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { tags: { ring: 'a' } }, waves: [{ name: 'half', percent: 50, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }], advance: 'auto', onFailure: 'rollback', reason: 'v2' }, op);
      const before = e.store.rollouts.devices(r.id).length;
      for (let i = 0; i < 6; i++) e.store.devices.create(`late-${i}`, `s-${i}`, { ring: 'a' }, null, e.clock.now());
      e.store.devices.create('elsewhere', 's', { ring: 'b' }, null, e.clock.now());
      await e.engine.tick();
      const rows = e.store.rollouts.devices(r.id);
      assert.equal(rows.length, before + 6, 'the six matching devices joined, the other did not');
      for (const d of rows.filter((x) => x.deviceId.startsWith('late-'))) {
        assert.equal(d.notifiedAt !== null, d.place < 50, `${d.deviceId} at place ${d.place.toFixed(1)}`);
      }
    } finally {
      await e.close();
    }
  });

  it('manual advance waits for promote; promote skips a bake; pause holds; resume; abort stops; rollback returns devices', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 10, minDevices: 2, bakeSec: 3600 }, { name: 'half', percent: 50, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 0 }], gates: GATES, advance: 'manual', onFailure: 'pause', reason: 'v2' }, op);
      const canary = notified(e, r.id);
      e.clock.advance(60_000);
      report(e, canary, '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await assert.rejects(e.engine.act(r.id, 'resume', 'x', op), /is running .*: resume expects a paused rollout/);
      await e.engine.act(r.id, 'promote', 'canary looks fine', op); // skips the rest of the hour
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'passed', 'judged at once, and waits: manual');
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).currentWave, 0);
      await e.engine.act(r.id, 'promote', 'go on', op);
      assert.equal(e.store.rollouts.get(r.id).currentWave, 1);
      const half = notified(e, r.id).length;
      assert.ok(half > canary.length && half < 20);
      await e.engine.act(r.id, 'pause', 'lunch', op);
      assert.equal(e.engine.view(r.id).waves[2]?.state, 'pending', 'paused: the wave not started yet still runs on resume');
      e.clock.advance(7200_000);
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).progress[1]?.state, 'baking', 'paused: nothing moves');
      await e.engine.act(r.id, 'resume', 'back', op);
      assert.equal(e.store.rollouts.get(r.id).progress[1]?.state, 'evaluating');
      await e.engine.act(r.id, 'abort', 'enough', op);
      // The wave under way is stopped, not shown baking or evaluating for ever; the passed one stays passed.
      assert.deepEqual(e.store.rollouts.get(r.id).progress.map((p) => [p.state, p.bakeUntil]), [['passed', e.store.rollouts.get(r.id).progress[0]?.bakeUntil ?? null], ['stopped', null], ['pending', null]]);
      // Shown, the wave that never started reads skipped, not pending as if it would still run (decision 0118).
      const waveStates = () => e.engine.view(r.id).waves.map((w) => w.state);
      assert.deepEqual(waveStates(), ['passed', 'stopped', 'skipped']);
      e.clock.advance(7200_000);
      await e.engine.tick();
      assert.equal(notified(e, r.id).length, half, 'abort: the others never start');
      assert.equal(running(e, '2.0.0'), half, 'abort: switched devices keep the new version');
      await e.engine.act(r.id, 'rollback', 'back to v1', op);
      assert.equal(running(e, '2.0.0'), 0);
      assert.equal(running(e, '1.0.0'), 20);
      assert.deepEqual(waveStates(), ['passed', 'stopped', 'skipped'], 'rolled back: still skipped');
      const audit = e.store.audit.query({}).filter((a) => a.target === r.id && a.actor === 'op');
      assert.deepEqual(audit.map((a) => [a.action, a.reason]), [
        ['rollout.create', 'v2'], ['rollout.promote', 'canary looks fine'], ['rollout.wave_next', 'go on'], ['rollout.paused', 'lunch'],
        ['rollout.resumed', 'back'], ['rollout.aborted', 'enough'], ['rollout.rolled_back', 'back to v1'],
      ]);
    } finally {
      await e.close();
    }
  });

  it('rollback of an ended rollout is refused (409) while a device it would move runs another version than the rollout\'s', async () => {
    const e = await setup(10, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, op);
      const canary = notified(e, r.id);
      await e.engine.act(r.id, 'abort', 'enough', op);
      // After the abort one canary device is given 3.0.0: a rollback of the old rollout would take it to 1.0.0.
      const moved = canary[0]!;
      await e.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { devices: [moved] }, reason: 'hotfix' }, 'alice');
      const refused = await actOverRest(e, r.id, 'rollback', 'back to v1');
      assert.deepEqual([refused.status, refused.body.error?.code], [409, 'CONFLICT']);
      assert.match(refused.body.error?.message ?? '', new RegExp(`^rollout ${r.id} is aborted: 1 device\\(s\\) it would roll back run another version of audio-energy than its 2\\.0\\.0 now \\(${moved} 3\\.0\\.0\\)`));
      assert.equal(e.store.rollouts.get(r.id).state, 'aborted');
      assert.deepEqual([running(e, '3.0.0'), running(e, '2.0.0')], [1, canary.length - 1], 'nothing moved');
      // Given the rollout's version again, the device is the rollout's to roll back.
      await e.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { devices: [moved] }, reason: 'undo the hotfix' }, 'alice');
      const ok = await actOverRest(e, r.id, 'rollback', 'back to v1');
      assert.deepEqual([ok.status, ok.body.state], [200, 'rolled_back'], JSON.stringify(ok.body));
      assert.equal(running(e, '1.0.0'), 10);
      const toldNow = () => (view(e.store, e.store.rollouts.get(r.id), true).devices ?? []).filter((d) => d.notifiedAt !== null);
      assert.ok(toldNow().length > 0);
      // Sent back but not there yet (a box offline, say): it still runs 2.0.0, so it does not read rolled_back.
      assert.deepEqual([...new Set(toldNow().map((d) => d.status))], ['rolling back: pending']);
      const [first, ...rest] = toldNow().map((d) => d.deviceId);
      e.store.deployments.setStatus(first!, 'audio-energy', '1.0.0', 'active', e.clock.now(), { progress: 1 });
      assert.deepEqual(toldNow().map((d) => [d.deviceId, d.status]), toldNow().map((d) => [d.deviceId, d.deviceId === first ? 'rolled_back' : 'rolling back: pending']), 'each as its own box reports');
      for (const id of rest) e.store.deployments.setStatus(id, 'audio-energy', '1.0.0', 'active', e.clock.now(), { progress: 1 });
      const told = toldNow();
      assert.deepEqual([...new Set(told.map((d) => d.status))], ['rolled_back'], 'the devices it told show what happened to them, not "superseded"');
      // Undeploying the rolled back deployment afterwards removes nothing from them (the rollback's
      // deployment replaced their rows): they still read rolled_back, not removed.
      const undone = e.parts.deployments.undeploy(e.store.rollouts.get(r.id).deploymentId!, { reason: 'tidy up', actor: 'alice', confirmDevices: 10 }).result;
      assert.deepEqual([undone.devices, undone.superseded > 0], [0, true], JSON.stringify(undone));
      const after = (view(e.store, e.store.rollouts.get(r.id), true).devices ?? []).filter((d) => d.notifiedAt !== null);
      assert.deepEqual([...new Set(after.map((d) => d.status))], ['rolled_back']);
      assert.equal(running(e, '1.0.0'), 10);
    } finally {
      await e.close();
    }
  });
});
}
