// A canary box whose disk is full (decision 0064), on the rollout test environment (real store, real
// embedded broker, manual clock): the device reports `waiting_for_disk` over MQTT and its deployment row
// says so with the room needed; the install_success gate counts it pending, not failed (counted failed,
// one box of the canary makes 0.95 unreachable and the wave rolls back a good model), and its note
// says how many wait for disk space. Once the box has room and installs, the wave passes; a box that
// never gets room holds the wave only until gates.stuckSec, which pauses it (no rollback). A shadow
// candidate waiting for disk space (`models[].shadow`) is pending on the shadow stage's gate, said in its
// note, and its event moves no deployment row.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { ReportedState, STATE_SCHEMA } from '@edgefleet/shared';
import { statusFromEvents } from '../deployments/status.js';
import { GATES, WAVES, actions, bake, cleanup, notified, others, prepare, publishState, report, setup, v1Everywhere, type Env } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

before(prepare);
after(cleanup);

const MESSAGE = 'waiting for disk space to install audio-energy@2.0.0: about 2.0 MiB needed, 180 KiB free; tried again by itself when there is room (disk full: ENOSPC)';

/** The device's own report over the real broker: 2.0.0 refused by its full disk. */
function reportWaiting(e: Env, id: string): Promise<void> {
  return publishState(e, id, {
    active: '1.0.0', installed: ['1.0.0'], status: 'waiting_for_disk', target: '2.0.0',
    reason: { code: 'DISK_FULL', message: MESSAGE }, diskWait: { needed: 2 << 20, free: 180 << 10 },
  });
}

const statusOf = (e: Env, rolloutId: string, id: string) => e.engine.view(rolloutId).devices?.find((d) => d.deviceId === id)?.status;
const installGate = (e: Env, id: string) => e.engine.view(id).waves[0]?.gates.find((g) => g.name === 'install_success');

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('a device waiting for disk space in a rollout', () => {
  /** A rollout of 2.0.0 over 1.0.0 whose first canary device (`full`) reports waiting for disk space. */
  const start = async (e: Env) => {
    await v1Everywhere(e);
    const r = await e.engine.create({
      model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { ...GATES, stuckSec: 120 }, advance: 'auto', onFailure: 'rollback', reason: 'v2',
    }, { name: 'op' });
    const [full, ...ok] = notified(e, r.id) as [string, ...string[]];
    assert.ok(ok.length >= 1 && ok.length < 19, `canary of ${ok.length + 1}`);
    await reportWaiting(e, full);
    await waitFor('waiting_for_disk on the deployment', () => (statusOf(e, r.id, full) === 'waiting_for_disk' ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    return { r, full, ok };
  };

  it('is pending on install_success, not failed; the wave passes once it installs', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      const { r, full, ok } = await start(e);
      const row = () => e.store.deployments.get(e.store.rollouts.get(r.id).deploymentId!).devices.find((d) => d.deviceId === full);
      assert.equal(row()?.reason, `DISK_FULL: ${MESSAGE}`);
      assert.equal(e.store.deployments.get(e.store.rollouts.get(r.id).deploymentId!).counts.waiting_for_disk, 1);
      // Its event arrives later through the outbox: the same status, and a download event after it (room
      // again, the agent retried) moves the row on.
      const ev = (seq: number, kind: 'waiting_for_disk' | 'download_started') => ({ seq, at: e.clock.now().toISOString(), kind, model: 'audio-energy', version: '2.0.0', code: 'DISK_FULL', message: MESSAGE, data: { progress: 0 } });
      statusFromEvents(e.store, full, [ev(1, 'waiting_for_disk')], e.clock.now());
      assert.equal(statusOf(e, r.id, full), 'waiting_for_disk');

      await bake(e, r.id, ok);
      assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating', JSON.stringify(e.engine.view(r.id).waves[0]?.gates));
      assert.equal(installGate(e, r.id)?.verdict, 'pending');
      assert.match(installGate(e, r.id)?.note ?? '', /^1 waiting for disk space on the device \(not failed\): pending until installed; a wave pending for gates.stuckSec \(120 s\) pauses$/);
      assert.ok(!actions(e, r.id).includes('rollout.wave_failed'));

      statusFromEvents(e.store, full, [ev(2, 'download_started')], e.clock.now());
      assert.equal(statusOf(e, r.id, full), 'downloading');
      e.clock.advance(30_000);
      report(e, [full, ...ok], '2.0.0');
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.waves[0]?.state, 'passed', JSON.stringify(v.waves[0]?.gates));
      assert.equal(installGate(e, r.id)?.value, 1);
      assert.equal(installGate(e, r.id)?.note, undefined);
      assert.ok(!actions(e, r.id).includes('rollout.rolled_back'));
    } finally {
      await e.close();
    }
  });

  it('holds the wave only until gates.stuckSec: paused, not failed or rolled back', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      const { r, ok } = await start(e);
      for (let t = 0; t < 6; t++) { // 60 s bake, then 120 s evaluating
        e.clock.advance(40_000);
        report(e, ok, '2.0.0');
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
      }
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused', v.stateReason ?? '');
      assert.match(v.stateReason ?? '', new RegExp(`^wave canary stuck for 120 s with gates pending: install_success ${Math.round((ok.length / (ok.length + 1)) * 1e4) / 1e4} \\(needs >= 0\\.95[;)]`));
      assert.equal(v.waves[0]?.state, 'evaluating');
      assert.ok(!actions(e, r.id).includes('rollout.wave_failed'));
      assert.ok(!actions(e, r.id).includes('rollout.rolled_back'));
    } finally {
      await e.close();
    }
  });

  it('a shadow candidate waiting for disk space is pending on shadow_agreement, not failed, and moves no deployment row', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({
        model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2',
        shadow: { sampleRate: 0.2, bakeSec: 60, minAgreement: 0.9, minSamples: 50, tolerance: 0.01 },
      }, { name: 'op' });
      const [full] = notified(e, r.id) as [string];
      const message = 'waiting for disk space to install shadow candidate audio-energy@2.0.0: about 2.0 MiB needed, 180 KiB free; tried again by itself when there is room (disk full: ENOSPC)';
      const diskWait = { needed: 2 << 20, free: 180 << 10 };
      // The state as the hub stores it, through the wire schema (the hub process stores what its link parsed).
      e.store.devices.setReported(full, ReportedState.parse({
        schema: STATE_SCHEMA, deviceId: full, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1, capabilities: [],
        models: [{ name: 'audio-energy', active: '1.0.0', installed: ['1.0.0'], status: 'active', shadow: { version: '2.0.0', status: 'waiting_for_disk', reason: { code: 'DISK_FULL', message }, diskWait } }],
      }));
      // Its event (marked shadow) moves no deployment row: the device's row of 1.0.0 stays active.
      statusFromEvents(e.store, full, [{ seq: 1, at: e.clock.now().toISOString(), kind: 'waiting_for_disk', model: 'audio-energy', version: '2.0.0', code: 'DISK_FULL', message, data: { ...diskWait, shadow: true } }], e.clock.now());
      const v1 = e.store.deployments.effectiveFor(full)[0]!;
      assert.deepEqual([v1.version, e.store.deployments.get(v1.deploymentId).devices.find((d) => d.deviceId === full)?.status], ['1.0.0', 'active']);

      e.clock.advance(61_000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      const gate = v.waves[0]?.gates.find((g) => g.name === 'shadow_agreement');
      assert.equal(gate?.verdict, 'pending', JSON.stringify(v.waves[0]?.gates));
      assert.match(gate?.note ?? '', /; needs 50 runs; 1 waiting for disk space on the device to load the candidate \(not failed: pending until it runs\)$/);
      assert.equal(v.state, 'running');
      assert.ok(!actions(e, r.id).includes('rollout.wave_failed'));
    } finally {
      await e.close();
    }
  });
});
}
