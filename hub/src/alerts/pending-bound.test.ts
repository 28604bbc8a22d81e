// An action's pending deliveries are bounded (deliveries.ts PENDING_PER_ACTION; docs/drift.md "Webhooks"):
// a rule that flaps while its receiver is down queues up to the bound, and what comes past it is recorded
// as dropped, never sent, where an operator looks: the alert's delivery log, /metrics and one error line a
// minute. A resolved follows a firing that was queued, past the bound; a retrain request by hand is refused
// whole. SQLite and PostgreSQL, the real evaluator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { PENDING_PER_ACTION } from './deliveries.js';
import { numericReference, registerVersion } from '../rollups/testing.js';

const { deliveries: MAX } = PENDING_PER_ACTION;

function setup(database?: string) {
  const h = makeHarness({ database });
  const errors: Array<{ obj: object; msg: string | undefined }> = [];
  const nop = () => undefined;
  const logger: LoggerPort = { debug: nop, info: nop, warn: nop, error: (obj, msg) => { errors.push({ obj, msg }); } };
  const alerts = new Alerts({ store: h.store, clock: h.clock, logger, metrics: h.metrics }, DEFAULT_ALERTS_OPTIONS);
  const pending = () => (h.store.db.prepare("SELECT COUNT(*) AS n FROM alert_deliveries WHERE state = 'pending'").get() as { n: number }).n;
  const dropped = () => Number(/edgefleet_alert_webhook_deliveries_total\{result="dropped"\} (\d+)/.exec(h.metrics.render())?.[1] ?? 0);
  const addRule = (name: string, type: 'webhook' | 'retrain' = 'webhook') => h.store.alerts.addRule(
    { name, metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'critical', actions: [{ type, url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(16) }] },
    { actor: 't', at: h.clock.now() });
  return { h, errors, alerts, pending, dropped, addRule };
}

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  test('a flapping rule queues its action\'s deliveries up to the bound; past it they are dropped, shown in the delivery log, counted and logged once', { timeout: 120_000 }, async () => {
    const { h, errors, alerts, pending, dropped, addRule } = setup(backend.database());
    try {
      h.store.devices.create('box-1', 'x'.repeat(32), {}, null, h.clock.now()); // never connected: offline
      addRule('box down');
      // Never started: nothing is sent, as with a receiver that stays down. Each flap fires and resolves one alert.
      const flap = () => {
        alerts.evaluate();
        h.clock.advance(60_000);
        h.store.devices.markSeen('box-1', true, h.clock.now());
        alerts.evaluate();
        h.clock.advance(60_000);
        h.store.devices.markSeen('box-1', false, h.clock.now());
      };
      for (let i = 0; i < MAX / 2; i++) flap();
      await new Promise((r) => setImmediate(r));
      assert.equal(pending(), MAX, 'at the bound: every firing and resolved queued');
      assert.equal(dropped(), 0);
      assert.equal(errors.length, 0, JSON.stringify(errors));
      flap(); // one more alert fires and resolves: past the bound
      flap();
      await new Promise((r) => setImmediate(r));
      assert.equal(pending(), MAX, 'past the bound nothing more is queued');
      assert.equal(dropped(), 4, 'two alerts\' firing and resolved');
      const past = h.store.alerts.alerts({ limit: 1 })[0];
      const log = h.store.alerts.deliveries(past?.id ?? 0);
      assert.deepEqual(log.map((d) => [d.event, d.state, d.nextAt, d.attempts.length]), [['firing', 'failed', null, 1], ['resolved', 'failed', null, 1]]);
      assert.match(log[0]?.attempts[0]?.error ?? '', new RegExp(`^not queued: ${MAX} deliveries to this action already pending \\(its receiver is down or slow\\): expected at most ${MAX}$`));
      assert.equal(errors.length, 1, 'one line a minute per action while it repeats');
      assert.match(errors[0]?.msg ?? '', /^alert webhook dropped: alert \d+'s firing was not queued \(GET \/api\/v1\/alerts\/\d+\/deliveries\)/);
      alerts.gauges();
      assert.match(h.metrics.render(), new RegExp(`edgefleet_alert_webhook_pending ${MAX}\\b`));
      const body = (h.store.db.prepare("SELECT MAX(LENGTH(body)) AS n FROM alert_deliveries WHERE state = 'failed'").get() as { n: number }).n;
      assert.equal(body, 0, 'a dropped delivery keeps no body');
    } finally {
      await alerts.stop(1000);
      h.close();
    }
  });

  test('a resolved follows its queued firing past the bound; a retrain by hand past it is refused whole, with its code', { timeout: 60_000 }, async () => {
    const { h, alerts, pending, dropped, addRule } = setup(backend.database());
    try {
      const rule = addRule('retrain on drift', 'retrain');
      const at = h.clock.now();
      const fire = (key: string) => {
        const a = h.store.alerts.update(h.store.alerts.start(rule.id, key, 1, at).id, { state: 'firing', at });
        h.store.alerts.queue(rule, a, 'firing', at);
        return a;
      };
      const first = fire('m@0');
      for (let i = 1; i < MAX; i++) fire(`m@${i}`);
      assert.equal(pending(), MAX);
      const resolved = h.store.alerts.update(first.id, { state: 'resolved', at });
      h.store.alerts.queue({ ...rule, actions: [{ ...rule.actions[0]!, type: 'webhook' }] }, resolved, 'resolved', at);
      assert.equal(pending(), MAX + 1, 'the resolved of a queued firing is queued past the bound');
      registerVersion(h.store.db, 'm', '1.0.0', { features: [{ name: 'temp', index: 0, kind: 'numeric' }], reference: { id: 'd'.repeat(64), rows: 1000, features: [numericReference('temp')], outputs: [] } });
      const count = (table: string) => (h.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      const before = [count('alerts'), count('drift_reports'), count('audit')];
      const res = await h.req('POST', '/api/v1/retrain-requests', { role: 'operator', json: { model: 'm', version: '1.0.0', rule: 'retrain on drift', reason: 'by hand' } });
      const err = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, 503, JSON.stringify(err));
      assert.equal(err.error.code, 'OVERLOADED');
      assert.match(err.error.message, new RegExp(`^alert rule "retrain on drift": retrain action 1 was not queued: ${MAX + 1} deliveries to this action already pending`));
      assert.deepEqual([count('alerts'), count('drift_reports'), count('audit')], before, 'nothing of the refused request is kept');
      await new Promise((r) => setImmediate(r));
      assert.equal(dropped(), 0, 'a refused request is not counted as dropped (rolled back)');
    } finally {
      await alerts.stop(1000);
      h.close();
    }
  });
});

test('an action\'s pending bodies are bounded in characters: a body that would pass the bound is dropped', { timeout: 60_000 }, async () => {
  const { h, alerts, addRule } = setup();
  try {
    const rule = addRule('big bodies');
    const at = h.clock.now();
    const half = 'x'.repeat(PENDING_PER_ACTION.bodyChars / 2);
    const one = (key: string, body: string) => h.store.alerts.queueOne({
      alertId: h.store.alerts.start(rule.id, key, 1, at).id, ruleId: rule.id, actionIndex: 0, action: 'webhook', url: 'http://127.0.0.1:9/hook', event: 'firing', body, at,
    });
    assert.equal(one('a', half).dropped, null);
    assert.equal(one('b', half).dropped, null, 'exactly at the bound');
    assert.equal(one('c', '{').dropped, `the pending deliveries to this action hold ${PENDING_PER_ACTION.bodyChars} characters of bodies, 1 more would pass the bound of ${PENDING_PER_ACTION.bodyChars}`);
  } finally {
    await alerts.stop(1000);
    h.close();
  }
});
