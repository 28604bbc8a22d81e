// Maintenance windows and deferred devices on the hub (decision 0031), on the rollout test environment
// (real store, real embedded broker, manual clock): the window is signed into the wave's desired
// documents; a device reporting `deferred` over MQTT shows so on the deployment; the wave waits for it
// (and is not called stuck meanwhile) until gates.deferTimeoutSec after it was told, then goes on
// without it. REST takes the window on rollouts and deployments and refuses a bad one naming the field.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { statusFromEvents } from '../deployments/status.js';
import { GATES, WAVES, actions, appOf, bake, cleanup, notified, others, prepare, publishState, report, setup, v1Everywhere, type Env } from './testing.js';
import { defaultDeferTimeoutSec, longestWaitSec } from './plan.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

before(prepare);
after(cleanup);

const WINDOW = { cron: '0 2 * * *', durationSec: 7200, timeZone: 'Europe/Berlin' };

/** The device's own report over the real broker: 2.0.0 downloaded, its switch deferred by its window. */
function reportDeferred(e: Env, id: string): Promise<void> {
  const opens = '2026-03-02T01:00:00.000Z';
  return publishState(e, id, {
    active: '1.0.0', installed: ['1.0.0', '2.0.0'], status: 'deferred', target: '2.0.0', progress: 1,
    reason: { code: 'OUTSIDE_WINDOW', message: `outside the maintenance window "0 2 * * *" for 2h in Europe/Berlin: it opens at ${opens} (by this box's clock)` }, deferredUntil: opens,
  });
}

const statusOf = (e: Env, rolloutId: string, id: string) => e.engine.view(rolloutId).devices?.find((d) => d.deviceId === id)?.status;

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('maintenance windows and deferred devices', () => {
  it('a wave waits on a deferred device, not stuck, and goes on without it at gates.deferTimeoutSec', async () => {
    const e = await setup(20, {}, backend.database());
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({
        model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { ...GATES, stuckSec: 120, deferTimeoutSec: 600 },
        window: WINDOW, advance: 'auto', onFailure: 'rollback', reason: 'v2 at night',
      }, { name: 'op' });
      const canary = notified(e, r.id);
      assert.ok(canary.length >= 2, `canary of ${canary.length}`);
      for (const id of canary) assert.deepEqual(e.store.desired.latest(id)?.signed.models[0]?.maintenance, WINDOW, `${id}'s document carries the window`);
      for (const id of others(e, r.id)) assert.equal(e.store.desired.latest(id)?.signed.models[0]?.maintenance, undefined);
      const [late, ...onTime] = canary as [string, ...string[]];

      await reportDeferred(e, late);
      await waitFor('deferred on the deployment', () => (statusOf(e, r.id, late) === 'deferred' ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
      const row = e.store.deployments.get(e.store.rollouts.get(r.id).deploymentId!).devices.find((d) => d.deviceId === late);
      assert.match(row?.reason ?? '', /^OUTSIDE_WINDOW: outside the maintenance window .* it opens at 2026-03-02T01:00:00.000Z/);
      // Its download and verify events arrive later through the outbox: older news, the row stays deferred.
      const ev = (seq: number, kind: 'download_progress' | 'verifying') => ({ seq, at: e.clock.now().toISOString(), kind, model: 'audio-energy', version: '2.0.0', message: kind, data: { progress: 1 } });
      statusFromEvents(e.store, late, [ev(1, 'download_progress'), ev(2, 'verifying')], e.clock.now());
      assert.equal(statusOf(e, r.id, late), 'deferred');

      await bake(e, r.id, onTime);
      const install = () => e.engine.view(r.id).waves[0]?.gates.find((g) => g.name === 'install_success');
      assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating');
      assert.equal(install()?.verdict, 'pending');
      assert.match(install()?.note ?? '', /1 deferred \(maintenance window or update lock\): waiting up to gates.deferTimeoutSec \(600 s\)/);

      // Past stuckSec (120 s) but within deferTimeoutSec (600 s): waiting, not stuck.
      e.clock.advance(300_000);
      await e.engine.tick();
      const waiting = e.engine.view(r.id);
      assert.equal(waiting.state, 'running', waiting.stateReason ?? '');
      assert.equal(waiting.waves[0]?.state, 'evaluating');

      // 600 s after it was told: the wave goes on without it.
      e.clock.advance(300_000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.waves[0]?.state, 'passed', JSON.stringify(v.waves[0]?.gates));
      assert.equal(v.currentWave, 1);
      assert.deepEqual([install()?.value, install()?.samples.wave], [1, canary.length - 1]);
      assert.match(install()?.note ?? '', /1 deferred past gates.deferTimeoutSec: left out/);
      assert.ok(actions(e, r.id).includes('rollout.wave_passed'));
      assert.ok(!actions(e, r.id).includes('rollout.paused'));
      // It stays told: when its window opens it switches and shows active.
      report(e, [late], '2.0.0');
      assert.equal(statusOf(e, r.id, late), 'active');
    } finally {
      await e.close();
    }
  });

  it('without deferTimeoutSec the default covers the window\'s longest wait plus an hour', () => {
    const from = Date.parse('2026-01-05T12:00:00Z');
    assert.equal(longestWaitSec(WINDOW, from), 22 * 3600); // daily, 2 h open: 22 h closed
    assert.equal(defaultDeferTimeoutSec(WINDOW, from), 23 * 3600);
    assert.equal(defaultDeferTimeoutSec(undefined, from), 3600);
    // Weekdays only: Friday's window closes, Monday's opens 70 h later.
    assert.equal(longestWaitSec({ ...WINDOW, cron: '0 2 * * 1-5' }, from), 70 * 3600);
    // A window that opens only on the 29th of February (years apart): the bound (35 days). One that
    // never opens ("0 0 31 2 *") is refused where a window is given (shared/src/cron.ts).
    assert.equal(longestWaitSec({ ...WINDOW, cron: '0 0 29 2 *' }, from), 35 * 86400);
  });

  it('REST: rollouts and deployments take a window ("2h" too) and refuse a bad one naming the field', async () => {
    const e = await setup(4, {}, backend.database());
    try {
      await v1Everywhere(e);
      const admin = e.store.tokens.create('ops', 'operator', 'test', e.clock.now()).token;
      const app = appOf(e);
      const req = async (method: string, path: string, body?: unknown) => {
        const res = await app.request(`/api/v1${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      const base = { model: 'audio-energy', version: '2.0.0', target: { all: true }, reason: 'v2' };
      const cases: Array<[unknown, RegExp]> = [
        [{ cron: '0 25 * * *', durationSec: 3600 }, /window\.cron: invalid cron expression "0 25 \* \* \*": hour "25": expected values in 0-23/],
        [{ cron: '0 2 * * *', durationSec: '2 hours' }, /window\.durationSec: expected a number of seconds or a duration such as "2h"/],
        [{ cron: '0 2 * * *', durationSec: 30 }, /window\.durationSec: expected a window of at least 60 s/],
        [{ cron: '0 2 * * *', durationSec: 3600, timeZone: 'Europe/Berlim' }, /window\.timeZone: unknown time zone "Europe\/Berlim": expected an IANA name/],
        [{ cron: '0 2 * * *', duration: 3600 }, /window\.durationSec|window: .*"duration"/],
        [{ cron: '0 2 30 2 *', durationSec: 3600 }, /window\.cron: invalid cron expression "0 2 30 2 \*": never matches: no month it names \(2\) has day 30/],
      ];
      for (const [window, message] of cases) {
        for (const path of ['/rollouts', '/deployments']) {
          const bad = await req('POST', path, { ...base, window });
          assert.equal(bad.status, 400, `${path} ${JSON.stringify(window)}`);
          assert.match(bad.body.error?.message ?? '', message);
        }
      }
      const big = await req('POST', '/rollouts', { ...base, gates: { deferTimeoutSec: 40 * 86400 } });
      assert.match(big.body.error?.message ?? '', /gates\.deferTimeoutSec: expected at most 35 days/);
      const d = await req('POST', '/deployments', { ...base, target: { devices: ['d-000'] }, window: { cron: '30 1 * * 6,0', durationSec: '90m', timeZone: 'America/New_York' } });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      const w = { cron: '30 1 * * 6,0', durationSec: 5400, timeZone: 'America/New_York' };
      assert.deepEqual(d.body.window, w);
      assert.deepEqual(e.store.desired.latest('d-000')?.signed.models[0]?.maintenance, w);
      const ro = await req('POST', '/rollouts', { ...base, target: { devices: ['d-001', 'd-002', 'd-003'] }, window: { cron: '0 3 * * *', durationSec: '1h' } });
      assert.equal(ro.status, 201, JSON.stringify(ro.body));
      assert.deepEqual(ro.body.window, { cron: '0 3 * * *', durationSec: 3600, timeZone: 'UTC' });
      assert.equal(ro.body.gates.deferTimeoutSec, 24 * 3600, 'daily 1 h window: 23 h closed + 1 h');
    } finally {
      await e.close();
    }
  });
});
}
