// Told boxes switched off during a model rollout (offline.ts, docs/rollouts.md "Gates"), on the rollout
// test environment (real store, embedded broker, manual clock): one offline since gates.deferTimeoutSec
// after it was told is left out of install_success, named in the note and in what the rollout says when
// the wave passes, keeps its document, and counts again (failed, here) once it reports; a wave whose told
// boxes are mostly switched off, or that would be judged on fewer than its minDevices, is not judged
// without them: it waits, and gates.stuckSec pauses it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, notified, others, prepare, report, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('offline', () => {
  before(prepare);
  after(cleanup);

  const WAVES = [{ name: 'canary', percent: 40, minDevices: 3, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
  /** The same with a canary of minDevices 1 (it still takes 4 under the id start gives). */
  const ANY = [{ ...WAVES[0]!, minDevices: 1 }, WAVES[1]!];
  const GATES = { minPredictions: 150, stuckSec: 120, deferTimeoutSec: 600 };

  /** 1.0.0 everywhere, then 2.0.0 rolled out (its canary of 4 of the 10 devices under this id: places are drawn from it). */
  async function start(e: Env, waves = WAVES, advance: 'auto' | 'manual' = 'auto') {
    await v1Everywhere(e);
    return e.engine.create({ id: 'ro-00000000ab', model: 'audio-energy', version: '2.0.0', target: { all: true }, waves, gates: GATES, advance, onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
  }

  /** A minute later: `on` report 2.0.0 active with windows, the devices not told 1.0.0; one step. */
  async function minute(e: Env, id: string, on: readonly string[]): Promise<void> {
    e.clock.advance(61_000);
    report(e, on, '2.0.0');
    report(e, others(e, id), '1.0.0');
    await e.engine.tick();
  }

  const sentVersion = (e: Env, id: string) => e.store.desired.latest(id)?.signed.models.find((m) => m.name === 'audio-energy')?.version;
  const gateOf = (e: Env, id: string, wave: number) => e.engine.view(id).waves[wave]?.gates.find((g) => g.name === 'install_success');

  describe('told boxes switched off during a model rollout', () => {
    it('one offline since gates.deferTimeoutSec after it was told is left out and named; back and failing, it counts again', async () => {
      const e = await setup(10);
      try {
        const r = await start(e);
        const canary = notified(e, r.id);
        assert.equal(canary.length, 4);
        const [away, ...rest] = canary as [string, ...string[]];
        const seen = e.clock.now();
        e.store.devices.markSeen(away, false, seen);
        // Before gates.deferTimeoutSec the wave waits for it, and says when it stops waiting.
        await minute(e, r.id, rest);
        assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating');
        assert.match(gateOf(e, r.id, 0)?.note ?? '', new RegExp(`1 not installed yet: ${away} offline since ${seen.toISOString()}; an offline device is left out once offline for gates.deferTimeoutSec \\(600 s\\) since told`));
        // Still switched off 10 minutes after it was told: the wave is judged without it.
        e.clock.advance(540_000);
        await minute(e, r.id, rest);
        const v = e.engine.view(r.id);
        assert.equal(v.waves[0]?.state, 'passed', JSON.stringify(v.waves[0]?.gates));
        assert.deepEqual([gateOf(e, r.id, 0)?.value, gateOf(e, r.id, 0)?.samples.wave], [1, rest.length]);
        const left = `1 offline for gates.deferTimeoutSec (600 s) since told: left out, installs the version when it reconnects (${away} since ${seen.toISOString()})`;
        assert.equal(gateOf(e, r.id, 0)?.note, left);
        const passed = e.store.audit.query({ action: 'rollout.wave_passed' }).find((a) => a.target === r.id);
        assert.equal(passed?.reason, left, 'the audit entry of the pass names the box left out');
        assert.equal(sentVersion(e, away), '2.0.0', 'its document waits for it');
        // It comes back during the next wave and fails to install: counted again, as failed, and shown so.
        await e.engine.tick();
        e.store.devices.markSeen(away, true, e.clock.now());
        e.store.deployments.setStatus(away, 'audio-energy', '2.0.0', 'failed', e.clock.now(), { progress: 0 });
        await minute(e, r.id, notified(e, r.id).filter((id) => id !== away));
        const end = e.engine.view(r.id);
        assert.equal(end.state, 'rolled_back', JSON.stringify(end.waves[1]?.gates));
        assert.match(end.stateReason ?? '', /wave all failed its gates: install_success 0\.9 \(threshold 0\.95\)/);
        // Until the box reports the version it ran before active on the rollback's document, it reads so,
        // with the failure its wave recorded (not-installed.ts).
        assert.equal(end.devices?.find((d) => d.deviceId === away)?.status, 'rolling back: pending (had failed)');
        e.store.deployments.setStatus(away, 'audio-energy', '1.0.0', 'active', e.clock.now(), { progress: 1 });
        assert.equal(e.engine.view(r.id).devices?.find((d) => d.deviceId === away)?.status, 'rolled_back (had failed)');
      } finally {
        await e.close();
      }
    });

    it('a rollout that completes without a box names it, by itself or on promote (--manual); its document waits for it, and a failure after shows', async () => {
      for (const advance of ['manual', 'auto'] as const) {
        const e = await setup(10);
        try {
          const r = await start(e, WAVES, advance);
          const [away, ...rest] = notified(e, r.id) as [string, ...string[]];
          const seen = e.clock.now();
          e.store.devices.markSeen(away, false, seen);
          e.clock.advance(600_000);
          await minute(e, r.id, rest);
          if (advance === 'manual') await e.engine.act(r.id, 'promote', 'canary fine', { name: 'op' });
          await e.engine.tick();
          await minute(e, r.id, notified(e, r.id).filter((id) => id !== away));
          if (advance === 'manual') await e.engine.act(r.id, 'promote', 'ship it', { name: 'op' });
          const v = e.engine.view(r.id);
          assert.equal(v.state, 'completed', JSON.stringify(v.waves[1]?.gates));
          const left = `1 offline for gates.deferTimeoutSec (600 s) since told: left out, installs the version when it reconnects (${away} since ${seen.toISOString()})`;
          assert.equal(v.stateReason, `${advance === 'manual' ? 'ship it' : 'every wave passed'}; ${left}`);
          const next = e.store.audit.query({ action: 'rollout.wave_next' }).find((a) => a.target === r.id);
          assert.equal(next?.reason, advance === 'manual' ? `canary fine; ${left}` : left, 'moving on from the canary names the box too');
          if (advance === 'manual') continue;
          assert.equal(sentVersion(e, away), '2.0.0');
          assert.notEqual(v.devices?.find((d) => d.deviceId === away)?.status, 'active', 'rollout show lists it as not installed');
          // Back after the rollout completed, and failing: rollout show says so.
          e.store.deployments.setStatus(away, 'audio-energy', '2.0.0', 'failed', e.clock.now(), { progress: 0 });
          assert.equal(e.engine.view(r.id).devices?.find((d) => d.deviceId === away)?.status, 'failed');
        } finally {
          await e.close();
        }
      }
    });

    it('mostly switched off, or below minDevices without them, a wave is not judged on the rest: it waits and pauses at stuckSec', async () => {
      // Of the canary's 4, 2 switched off would leave 2, fewer than its minDevices 3; under minDevices 1, 3
      // would leave 1, not most of 4.
      for (const [n, waves, why] of [[2, WAVES, 'fewer than its minDevices 3'], [3, ANY, 'not most of the 4 told']] as const) {
        const e = await setup(10);
        try {
          const r = await start(e, waves);
          const canary = notified(e, r.id);
          const away = canary.slice(0, n);
          for (const id of away) e.store.devices.markSeen(id, false, e.clock.now());
          e.clock.advance(600_000);
          for (let i = 0; i < 4 && e.store.rollouts.get(r.id).state === 'running'; i++) await minute(e, r.id, canary.slice(n));
          const v = e.engine.view(r.id);
          assert.equal(v.state, 'paused', JSON.stringify(v.waves[0]?.gates));
          assert.match(v.stateReason ?? '', new RegExp(`install_success 0\\.\\d+ \\(needs >= 0\\.95; ${n} not installed yet: ${away[0]} offline since .*; ${n} of the 4 told offline for gates.deferTimeoutSec \\(600 s\\) since told `
            + `\\(${away[0]} since .*\\): not left out, as the wave would be judged on ${4 - n} device\\(s\\), ${why}; it waits for them\\)`));
        } finally {
          await e.close();
        }
      }
    });
  });
});
