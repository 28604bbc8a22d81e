// The rollout engine end to end on the hub side (testing.ts): a good version walks the waves, a
// regressed one is rolled back by its gates, a wave with too few reports never passes and pauses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GATES, WAVES, actions, cleanup, notified, others, prepare, report, running, setup, v1Everywhere, v3OverV1 } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

before(prepare);
after(cleanup);

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('rollout engine', () => {
  it('a good version walks canary -> all and completes; every transition is audited with its numbers', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { tags: { ring: 'a' } }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      assert.equal(r.fromVersion, '1.0.0');
      const canary = notified(e, r.id);
      assert.ok(canary.length >= 2 && canary.length < 10, `canary of ${canary.length}`);
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'baking');
      e.clock.advance(30_000);
      report(e, canary, '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'baking', 'still baking at 30 s of 60');
      e.clock.advance(31_000);
      report(e, canary, '2.0.0');
      await e.engine.tick();
      const afterCanary = e.store.rollouts.get(r.id);
      assert.equal(afterCanary.progress[0]?.state, 'passed', JSON.stringify(afterCanary.progress[0]?.gates));
      assert.equal(afterCanary.currentWave, 1);
      await e.engine.tick();
      assert.equal(notified(e, r.id).length, 20);
      e.clock.advance(61_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      const done = e.engine.view(r.id);
      assert.equal(done.state, 'completed', JSON.stringify(done.waves[1]?.gates));
      assert.equal(running(e, '2.0.0'), 20);
      assert.deepEqual(actions(e, r.id), [
        'rollout.create', 'rollout.wave_deploying', 'rollout.wave_baking', 'rollout.wave_evaluating', 'rollout.wave_passed', 'rollout.wave_next',
        'rollout.wave_deploying', 'rollout.wave_baking', 'rollout.wave_evaluating', 'rollout.wave_passed', 'rollout.completed',
      ]);
      const passed = e.store.audit.query({}).find((a) => a.action === 'rollout.wave_passed');
      const gates = (passed?.details as { gates: Array<{ name: string; value: number; samples: { wave: number; control: number } }> }).gates;
      assert.equal(gates.find((g) => g.name === 'model_error_rate')?.value, 0);
      assert.ok((gates.find((g) => g.name === 'predictions')?.samples.control ?? 0) > 0, 'control devices were counted');
    } finally {
      await e.close();
    }
  });

  it('gates.minPredictions 0: the last wave is judged against the target before it began, not rolled back on no control', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { minPredictions: 0 }, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      const canary = notified(e, r.id);
      e.clock.advance(61_000);
      report(e, canary, '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).currentWave, 1, JSON.stringify(e.engine.view(r.id).waves[0]?.gates));
      await e.engine.tick();
      e.clock.advance(61_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      const done = e.engine.view(r.id);
      const control = 100 * (20 - canary.length); // the devices still on 1.0.0 during the canary, a window each
      const errors = done.waves[1]?.gates.find((g) => g.name === 'model_error_rate');
      assert.equal(done.state, 'completed', `${done.stateReason}: ${JSON.stringify(done.waves[1]?.gates)}`);
      assert.deepEqual([errors?.against, errors?.threshold, errors?.samples.control], ['control', 1, control], 'control: the target\'s 1.0.0 windows over the span before the wave');
      assert.equal(running(e, '2.0.0'), 20);
    } finally {
      await e.close();
    }
  });

  it('a regressed version is stopped at canary by its gates and rolled back to the previous version', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      const { r, canary } = await v3OverV1(e);
      e.clock.advance(61_000);
      // Wrong on part of the input space: its outputs pile into the top bins, and some requests fail in the model.
      report(e, canary, '3.0.0', { bins: [0, 0, 0, 10, 20, 30, 40], bad: 8 });
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'rolled_back');
      const g = Object.fromEntries((v.waves[0]?.gates ?? []).map((x) => [x.name, x]));
      assert.equal(g['output_shift']?.verdict, 'fail');
      assert.equal(g['model_error_rate']?.verdict, 'fail');
      assert.equal(g['model_error_rate']?.value, 8);
      for (const id of canary) assert.equal(e.store.desired.latest(id)?.signed.models[0]?.version, '1.0.0', `${id} back on 1.0.0`);
      assert.equal(running(e, '3.0.0'), 0);
      const failed = e.store.audit.query({}).find((a) => a.action === 'rollout.wave_failed' && a.target === r.id);
      assert.match(failed?.reason ?? '', /output_shift .* \(threshold 0.2\)/);
      assert.ok(actions(e, r.id).includes('rollout.rolled_back'));
      // Its deployment names it (its stored target is only the canary's devices); the rollback's lists its devices, as it should.
      const page = e.store.deployments.list().deployments;
      const own = page.find((d) => d.version === '3.0.0');
      assert.ok(own, 'the rollout made a deployment of 3.0.0');
      assert.deepEqual([own.rollout, e.store.deployments.get(own.id).rollout], [r.id, r.id]);
      const back = page.find((d) => d.reason.startsWith(`rollback of rollout ${r.id}`));
      assert.deepEqual([back?.rollout, [...(back?.target.devices ?? [])].sort()], [undefined, [...canary].sort()]);
    } finally {
      await e.close();
    }
  });

  it('a version that fails every request (no prediction ever) fails model_error_rate over its requests and is rolled back', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      const { r, canary } = await v3OverV1(e);
      e.clock.advance(61_000);
      // Each canary device: 100 requests, every one failed in the model, so no row answered (count 0).
      report(e, canary, '3.0.0', { failed: 'INFERENCE_FAILED' });
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      const v = e.engine.view(r.id);
      const g = Object.fromEntries((v.waves[0]?.gates ?? []).map((x) => [x.name, x]));
      assert.deepEqual([g['predictions']?.value, g['predictions']?.verdict], [0, 'pending']);
      assert.deepEqual([g['model_error_rate']?.value, g['model_error_rate']?.verdict, g['model_error_rate']?.samples.wave], [100, 'fail', 100 * canary.length]);
      assert.equal(v.state, 'rolled_back', 'not left pending until gates.stuckSec pauses it');
      assert.equal(running(e, '3.0.0'), 0);
    } finally {
      await e.close();
    }
  });

  it('a version whose callers\' requests are all refused as invalid input is not failed for it, and pauses when stuck saying why', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      const { r, canary } = await v3OverV1(e, { ...GATES, stuckSec: 120 });
      e.clock.advance(61_000);
      report(e, canary, '3.0.0', { failed: 'INVALID_INPUT' });
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      e.clock.advance(121_000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused');
      const requests = 100 * canary.length;
      assert.match(v.stateReason ?? '', new RegExp(`^wave canary stuck for 120 s with gates pending: predictions 0 \\(needs >= 150; ${requests} of the wave's ${requests} requests were refused as invalid input, which answers no prediction: `));
      assert.equal(v.waves[0]?.gates.find((g) => g.name === 'model_error_rate')?.value, 0, 'not held against the version');
    } finally {
      await e.close();
    }
  });

  it('a device revoked mid-rollout leaves it: never told, not counted in the gates, noted', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { ...GATES, stuckSec: 600 }, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      const toldThenRevoked = notified(e, r.id)[0]!;
      const notYetTold = others(e, r.id)[0]!;
      e.store.devices.revoke(toldThenRevoked, e.clock.now()); // what POST /devices/{id}/revoke does
      e.store.devices.revoke(notYetTold, e.clock.now());
      await e.engine.tick(); // a canary at minDevices is topped up with the next place
      const canary = notified(e, r.id);
      assert.ok(canary.length >= 2 && !canary.includes(toldThenRevoked), `canary ${canary.join(', ')}`);
      e.clock.advance(61_000);
      report(e, canary, '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      const afterCanary = e.engine.view(r.id);
      const install = afterCanary.waves[0]?.gates.find((g) => g.name === 'install_success');
      assert.equal(afterCanary.waves[0]?.state, 'passed', JSON.stringify(afterCanary.waves[0]?.gates));
      assert.deepEqual([install?.value, install?.samples.wave], [1, canary.length]);
      assert.match(install?.note ?? '', /^2 devices revoked during the rollout: left out$/);
      await e.engine.tick();
      assert.equal(notified(e, r.id).length, 18);
      assert.equal(e.store.desired.latest(notYetTold)?.signed.models[0]?.version, '1.0.0', 'the revoked device was not told');
      e.clock.advance(61_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      const done = e.engine.view(r.id);
      assert.equal(done.state, 'completed', JSON.stringify(done.waves[1]?.gates));
      assert.deepEqual([done.waves[1]?.devices, done.waves[1]?.notified, done.waves[1]?.active], [18, 18, 18]);
      assert.ok(!done.devices?.some((d) => d.deviceId === notYetTold || d.deviceId === toldThenRevoked), 'revoked devices are not listed');
    } finally {
      await e.close();
    }
  });

  it('a wave never passes on too few reports; stuck past gates.stuckSec it pauses with the reason', async () => {
    const e = await setup(10, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { minPredictions: 10_000, stuckSec: 120 }, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      e.clock.advance(61_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating');
      assert.deepEqual([e.engine.view(r.id).stateBy, e.engine.view(r.id).stateAt], [null, null], 'no state change yet');
      e.clock.advance(121_000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused');
      // The hub paused it (not the operator who created it), stored with the rollout (read back from the database).
      assert.deepEqual([v.stateBy, v.stateAt], ['hub', e.clock.now().toISOString()]);
      assert.match(v.stateReason ?? '', /stuck .* predictions \d+ \(needs >= 10000\).*; resume judges it again, promote --accept GATE accepts a gate for the wave, abort or roll back ends it$/);
    } finally {
      await e.close();
    }
  });

  it('the hub clock stepped back days: a bake ends bakeSec after the step, and a stuck wave pauses stuckSec after it', async () => {
    const DAYS = 3 * 86_400_000;
    const e = await setup(10, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { minPredictions: 10_000, stuckSec: 120 }, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'baking');
      e.clock.advance(-DAYS); // NTP steps a clock that ran days ahead back
      await e.engine.tick();
      const cut = e.store.rollouts.get(r.id).progress[0]!;
      assert.equal(cut.bakeUntil, new Date(e.clock.now().getTime() + 60_000).toISOString(), 'the bake is cut to bakeSec from now, and kept');
      e.clock.advance(30_000);
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.bakeUntil, cut.bakeUntil, 'not moved again');
      e.clock.advance(31_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating', 'not days later');
      e.clock.advance(-DAYS);
      await e.engine.tick();
      e.clock.advance(121_000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused', 'stuckSec counted from the step back, not days later');
      assert.match(v.stateReason ?? '', /stuck for 120 s/);
    } finally {
      await e.close();
    }
  });

  it('refuses a rollout of the version every device of its target is given already (nothing to judge), not one some still need', async () => {
    const e = await setup(4, {}, backend.database());
    try {
      await v1Everywhere(e);
      const req = { model: 'audio-energy', version: '1.0.0', waves: WAVES, gates: GATES, advance: 'auto' as const, onFailure: 'rollback' as const, reason: 'again' };
      await assert.rejects(e.engine.create({ ...req, target: { all: true } }, { name: 'op' }),
        { code: 'CONFLICT', message: /^version: every device of the target \(4\) is given audio-energy 1\.0\.0 already, so a rollout would change nothing: expected a version they do not run/ });
      assert.deepEqual(e.store.rollouts.list().rollouts, [], 'nothing stored');
      const [first] = e.store.devices.list().map((d) => d.id);
      await e.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { devices: [first!] }, reason: 'one on 2' }, 'op');
      const r = await e.engine.create({ ...req, target: { all: true } }, { name: 'op' });
      assert.equal(r.fromVersion, '2.0.0', 'one device to bring back');
    } finally {
      await e.close();
    }
  });
});
}
