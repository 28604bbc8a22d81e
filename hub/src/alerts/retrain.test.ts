// Scheduled retraining triggers (docs/drift.md "Retraining"): an alert rule of metric `schedule`
// sends its retrain actions the current drift report at each minute of its cron expression (UTC),
// once per matching minute, through the signed delivery queue, audited; a real HTTP receiver on
// 127.0.0.1 checks the HMAC. Bad schedules are refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Feature, Reference, WebhookEvent } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { noopLogger } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { signedReceiver } from './testing.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REFERENCE: Reference = { id: 'd'.repeat(64), rows: 1000, features: [numericReference('temp')], outputs: [] };
const SECRET = 'pipeline-secret-0123456789';

test('a schedule rule sends the drift report to its retrain URL at each matching minute, once', async () => {
  const h = makeHarness();
  h.clock.t = new Date('2026-03-02T02:58:10Z'); // a Monday
  const rx = await signedReceiver(SECRET, 200);
  const { got, url } = rx;
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics });
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
    const rand = seeded(3);
    const now = h.clock.now().getTime();
    h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', [sampleWindow({ model: 'press', version: '1.0.0', start: now - 1800_000 }, FEATURES, REFERENCE, 500, { numeric: { temp: normal(rand, 5, 1.5) } }, rand)]))();

    const add = (json: Record<string, unknown>) => h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'weekly', metric: 'schedule', model: 'press', version: '1.0.0', threshold: 0, actions: [{ type: 'retrain', url, secret: SECRET }], ...json } });
    const refused = async (json: Record<string, unknown>, msg: RegExp) => {
      const r = await add(json);
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, msg);
    };
    await refused({ schedule: '0 3 * * mon' }, /schedule: invalid cron expression "0 3 \* \* mon": day of week "mon": expected a number/);
    await refused({}, /metric schedule needs "schedule"/);
    await refused({ schedule: '0 3 * * 1', actions: [{ type: 'webhook', url, secret: SECRET }] }, /a schedule needs a retrain action/);
    await refused({ metric: 'drift.psi', threshold: 0.2, schedule: '0 3 * * 1' }, /"schedule" is only for metric schedule/);
    const ok = await add({ schedule: '0 3 * * 1', windowSec: 7200 });
    assert.equal(ok.status, 201, await ok.clone().text());

    const step = async (ms: number) => {
      h.clock.advance(ms);
      alerts.evaluate();
      await alerts.sender.tick();
    };
    await step(0); // the first pass only remembers the time
    await step(60_000); // 02:59:10: not yet
    assert.equal(got.length, 0);
    await step(60_000); // 03:00:10: 03:00 passed
    assert.equal(got.length, 1);
    await step(60_000); // 03:01:10: nothing new
    await step(24 * 3600_000); // Tuesday: nothing
    assert.equal(got.length, 1);
    assert.ok(got[0]!.valid, 'signed with the rule\'s secret');
    const event = JSON.parse(got[0]!.body) as WebhookEvent & { report: { model: string; groups: Array<{ predictions: number }> } };
    assert.equal(event.type, 'retrain.requested');
    assert.equal(event.request?.kind, 'schedule');
    assert.equal(event.request?.reason, 'schedule "0 3 * * 1" of alert rule "weekly"');
    assert.equal(event.report.groups[0]?.predictions, 500, 'the drift report over the rule\'s window');
    assert.deepEqual(h.store.audit.query({ action: 'retrain.request' }).map((e) => [e.actor, e.target]), [['alerts', 'press@1.0.0']]);
  } finally {
    await alerts.stop(1000);
    await rx.close();
    h.close();
  }
});

test('a hub that takes the lease back does not send a scheduled run again that passed while another hub held it', async () => {
  const h = makeHarness();
  h.clock.t = new Date('2026-03-02T02:58:10Z'); // a Monday
  const rx = await signedReceiver(SECRET, 200);
  // Two hubs on one database, as the hub lease starts and stops their alerts part (server/cluster.ts);
  // evaluations here are by hand (the timers' interval is far off).
  const opts = { ...DEFAULT_ALERTS_OPTIONS, evaluateEveryMs: 3600_000 };
  const a = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, opts);
  const b = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, opts);
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    h.store.alerts.addRule({ name: 'weekly', metric: 'schedule', model: 'press', version: '1.0.0', threshold: 0, forSec: 0, windowSec: 3600, severity: 'info', schedule: '0 3 * * 1', actions: [{ type: 'retrain', url: rx.url, secret: SECRET }] }, { actor: 't', at: h.clock.now() });
    const requests = () => h.store.audit.query({ action: 'retrain.request' }).length;

    a.start(); // 02:58:10: hub A holds the lease; its first pass only remembers the time
    h.clock.advance(60_000);
    a.evaluate(); // 02:59:10
    await a.stop(1000); // A loses the lease
    h.clock.advance(10_000);
    b.start(); // 02:59:20: hub B takes it
    h.clock.advance(50_000);
    b.evaluate(); // 03:00:10: B sends the 03:00 run
    assert.equal(requests(), 1);
    await b.stop(1000);
    h.clock.advance(600_000);
    a.start(); // 03:10:10: A takes the lease back; the 03:00 run was B's
    assert.equal(requests(), 1, 'the run of 03:00 was sent again by the hub that took the lease back');
    h.clock.advance(7 * 86_400_000);
    a.evaluate(); // the next Monday 03:10:10: A sends that week's run
    assert.equal(requests(), 2);
  } finally {
    await a.stop(1000);
    await b.stop(1000);
    await rx.close();
    h.close();
  }
});
