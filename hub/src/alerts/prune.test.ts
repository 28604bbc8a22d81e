// Retention of alert webhook deliveries (decision 0060) and of resolved alerts, on each database
// backend: deliveries delivered or failed for good more than alerts.deliveriesDays ago are deleted with
// their attempts, a day at the bound is kept, pending ones never go whatever their age, a large backlog
// goes in batches; alerts resolved more than alerts.historyDays ago go with their deliveries, open ones
// and ones with a delivery still pending stay; migration 31 dates the deliveries that ended before it;
// both settings are bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHarness, ManualClock } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Metrics } from '../metrics.js';
import { noopLogger } from '../mqtt/ports.js';
import { loadConfig } from '../config-load.js';
import { alertsOptions } from '../server/wiring.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS, DELIVERIES_DAYS, HISTORY_DAYS } from './service.js';
import { PRUNE_BATCH } from './prune.js';

const SECRET = 'whsec-0123456789abcdef';
const DAY = 86_400_000;

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test('deliveries ended more than deliveriesDays ago are pruned with their attempts; the bound day and pending ones stay', async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, deliveriesDays: 30 });
    try {
      const repo = h.store.alerts;
      const rule = repo.addRule({ name: 'r', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [{ type: 'webhook', url: 'http://127.0.0.1:9/x', secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      const now = h.clock.now().getTime();
      const alert = repo.start(rule.id, 'fleet', 1, new Date(now - 100 * DAY));
      /** A delivery queued at `queued` that ends (or is retried) at `at`. */
      const delivery = (queued: number, at: number, state: 'delivered' | 'failed' | 'pending') => {
        const id = repo.enqueue({ alertId: alert.id, ruleId: rule.id, actionIndex: 0, action: 'webhook', url: 'http://127.0.0.1:9/x', event: 'firing', body: '{}', at: new Date(queued) });
        if (state !== 'pending') repo.attempt(id, { at: new Date(at - 1000), status: 500, error: 'down', ms: 1, state: 'pending', nextAt: new Date(at) });
        repo.attempt(id, { at: new Date(at), status: state === 'delivered' ? 200 : 500, error: null, ms: 1, state, nextAt: state === 'pending' ? new Date(at + 1000) : null });
        return id;
      };
      const bound = now - 30 * DAY;
      const kept = [
        delivery(bound - DAY, bound, 'delivered'), // ended exactly 30 days ago: kept
        delivery(bound - DAY, bound + 1, 'failed'),
        delivery(now - 90 * DAY, now - 89 * DAY, 'pending'), // still being retried after 90 days: never pruned
        delivery(now - DAY, now, 'delivered'),
      ];
      const pruned = [delivery(bound - DAY, bound - 1, 'delivered'), delivery(now - 60 * DAY, now - 59 * DAY, 'failed')];
      const attempts = (ids: number[]) => ids.reduce((n, id) => n + Number((h.store.db.prepare('SELECT COUNT(*) AS n FROM alert_delivery_attempts WHERE delivery_id = ?').get(id) as { n: number }).n), 0);
      assert.equal(attempts(pruned), 4);

      assert.equal(alerts.prune().deliveries, 2);
      assert.deepEqual(repo.deliveries(alert.id).map((d) => d.id), kept);
      assert.equal(attempts(pruned), 0, 'their attempts went with them');
      assert.equal(attempts(kept), 7);
      assert.equal(alerts.prune().deliveries, 0, 'nothing more until time passes');

      h.clock.advance(1);
      assert.equal(alerts.prune().deliveries, 1, 'one millisecond later the bound day goes');
      h.clock.advance(365 * DAY);
      assert.equal(alerts.prune().deliveries, 2);
      assert.deepEqual(repo.deliveries(alert.id).map((d) => [d.id, d.state]), [[kept[2], 'pending']]);
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });

  test(`a backlog larger than a batch (${PRUNE_BATCH}) is pruned in one pass, by the part's timer from start`, async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, deliveriesDays: 1 });
    try {
      const repo = h.store.alerts;
      const rule = repo.addRule({ name: 'r', metric: 'rollout_failed', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [{ type: 'webhook', url: 'http://127.0.0.1:9/x', secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      const old = new Date(h.clock.now().getTime() - 2 * DAY);
      const alert = repo.update(repo.start(rule.id, 'fleet', 1, old).id, { state: 'resolved', at: old });
      const n = 2 * PRUNE_BATCH + 7;
      h.store.db.transaction(() => {
        for (let i = 0; i < n; i++) {
          const id = repo.enqueue({ alertId: alert.id, ruleId: rule.id, actionIndex: 0, action: 'webhook', url: 'http://127.0.0.1:9/x', event: 'firing', body: '{}', at: old });
          repo.attempt(id, { at: old, status: 200, error: null, ms: 1, state: 'delivered', nextAt: null });
        }
      })();
      alerts.start(); // prunes at start, then every pruneEveryMs
      assert.equal(Number((h.store.db.prepare('SELECT COUNT(*) AS n FROM alert_deliveries').get() as { n: number }).n), 0);
      assert.equal(Number((h.store.db.prepare('SELECT COUNT(*) AS n FROM alert_delivery_attempts').get() as { n: number }).n), 0);
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });

  test('alerts resolved more than historyDays ago are pruned with their deliveries; open ones, the bound day and ones still delivering stay', async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, historyDays: 90, deliveriesDays: 3650 });
    try {
      const repo = h.store.alerts;
      const rule = repo.addRule({ name: 'r', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [{ type: 'webhook', url: 'http://127.0.0.1:9/x', secret: SECRET }] }, { actor: 't', at: h.clock.now() });
      const now = h.clock.now().getTime();
      const bound = now - 90 * DAY;
      /** An alert on key `key` that started 200 days ago and resolved at `resolvedAt` (or is still firing), with a delivery in `delivery` state. */
      const alert = (key: string, resolvedAt: number | null, delivery: 'delivered' | 'pending') => {
        const started = new Date(now - 200 * DAY);
        let a = repo.update(repo.start(rule.id, key, 1, started).id, { state: 'firing', at: started });
        if (resolvedAt !== null) a = repo.update(a.id, { state: 'resolved', at: new Date(resolvedAt) });
        const at = new Date(resolvedAt ?? now - 150 * DAY);
        const d = repo.enqueue({ alertId: a.id, ruleId: rule.id, actionIndex: 0, action: 'webhook', url: 'http://127.0.0.1:9/x', event: 'resolved', body: '{}', at });
        repo.attempt(d, { at, status: delivery === 'delivered' ? 200 : 500, error: null, ms: 1, state: delivery, nextAt: delivery === 'pending' ? new Date(now + 1000) : null });
        return a.id;
      };
      const gone = [alert('old', bound - 1, 'delivered'), alert('older', now - 180 * DAY, 'delivered')];
      const kept = [
        alert('bound', bound, 'delivered'), // resolved exactly 90 days ago: kept
        alert('recent', now - DAY, 'delivered'),
        alert('firing', null, 'delivered'), // started 200 days ago and still firing: never pruned
        alert('retrying', now - 180 * DAY, 'pending'), // its resolved webhook is still being retried
      ];
      const count = (sql: string) => Number((h.store.db.prepare(sql).get() as { n: number }).n);
      assert.deepEqual(alerts.prune(), { deliveries: 0, alerts: 2 });
      assert.deepEqual(repo.alerts({ limit: 100 }).map((a) => a.id).sort((x, y) => x - y), kept);
      for (const id of gone) assert.equal(repo.deliveries(id).length, 0, 'their deliveries went with them');
      assert.equal(count('SELECT COUNT(*) AS n FROM alert_deliveries'), 4);
      assert.equal(count('SELECT COUNT(*) AS n FROM alert_delivery_attempts'), 4, 'and those deliveries\' attempts');
      assert.deepEqual(alerts.prune(), { deliveries: 0, alerts: 0 }, 'nothing more until time passes');

      h.clock.advance(1);
      assert.deepEqual(alerts.prune(), { deliveries: 0, alerts: 1 }, 'one millisecond later the bound day goes');
      repo.attempt(repo.deliveries(kept[3]!)[0]!.id, { at: h.clock.now(), status: 200, error: null, ms: 1, state: 'delivered', nextAt: null });
      assert.deepEqual(alerts.prune(), { deliveries: 0, alerts: 1 }, 'once its webhook is delivered, the alert still retrying goes');
      assert.deepEqual(repo.alerts({ limit: 100 }).map((a) => a.id).sort((x, y) => x - y), kept.slice(1, 3));
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });

  test('the drift reports the alerts part stored for pruned alerts go with them; an operator\'s and a recent alert\'s stay', async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, { ...DEFAULT_ALERTS_OPTIONS, historyDays: 90 });
    try {
      const repo = h.store.alerts;
      const rule = repo.addRule({ name: 'r', metric: 'devices_offline', threshold: 1, forSec: 0, windowSec: 3600, severity: 'info', actions: [] }, { actor: 't', at: h.clock.now() });
      const now = h.clock.now().getTime();
      const report = (actor: string) => h.store.drift.addReport({
        model: 'press', version: '1.0.0', since: new Date(0).toISOString(), until: new Date(3600_000).toISOString(), by: 'device',
        baseline: { kind: 'reference', id: null }, thresholds: { psi: 0.2, js: 0.1, minPredictions: 1000 }, groups: [], timeline: null,
      }, { actor, note: null, at: h.clock.now() });
      /** An alert on `key` that fired with a report made by `actor` and resolved `daysAgo` days ago. */
      const alert = (key: string, actor: string, daysAgo: number) => {
        const reportId = report(actor);
        const a = repo.update(repo.start(rule.id, key, 1, new Date(now - 200 * DAY)).id, { state: 'firing', at: new Date(now - 200 * DAY), reportId });
        repo.update(a.id, { state: 'resolved', at: new Date(now - daysAgo * DAY) });
        return reportId;
      };
      const fired = [alert('a', 'alerts', 100), alert('b', 'alerts', 150)];
      const kept = [alert('c', 'ops', 100), alert('d', 'alerts', 10), report('ops')];
      assert.deepEqual(alerts.prune(), { deliveries: 0, alerts: 3 });
      const left = (h.store.db.prepare('SELECT id FROM drift_reports ORDER BY id').all() as Array<{ id: number }>).map((r) => Number(r.id));
      assert.deepEqual(left, kept, `the reports of alerts ${fired.join(', ')} went with them`);
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });

  test('migration 31 dates the deliveries that ended before it by their last attempt; pending ones stay undated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-alerts-prune-'));
    const database = backend.database({ empty: true });
    let store: Store | null = null;
    try {
      store = Store.open(dir, HUB_MIGRATIONS.filter((m) => m.version !== 31), { database });
      const db = store.db;
      const rule = Number(db.prepare("INSERT INTO alert_rules (name, rule, created_at, created_by) VALUES ('r', '{}', '2026-01-01T00:00:00.000Z', 't')").run().lastInsertRowid);
      const alert = Number(db.prepare("INSERT INTO alerts (rule_id, key, state, started_at, last_evaluated_at) VALUES (?, 'fleet', 'resolved', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')").run(rule).lastInsertRowid);
      const add = (state: string, attempts: string[]) => {
        const id = Number(db.prepare("INSERT INTO alert_deliveries (alert_id, rule_id, action_index, action, url, event, body, state, attempts) VALUES (?, ?, 0, 'webhook', 'http://x/', 'firing', '{}', ?, ?)")
          .run(alert, rule, state, attempts.length).lastInsertRowid);
        for (const at of attempts) db.prepare('INSERT INTO alert_delivery_attempts (delivery_id, at, status, error, ms) VALUES (?, ?, 200, NULL, 1)').run(id, at);
        return id;
      };
      const ids = [add('delivered', ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z']), add('failed', []), add('pending', ['2026-01-04T00:00:00.000Z'])];
      store.close();
      store = Store.open(dir, HUB_MIGRATIONS, { database });
      const s = store;
      const doneAt = (id: number) => (s.db.prepare('SELECT done_at FROM alert_deliveries WHERE id = ?').get(id) as { done_at: string | null }).done_at;
      assert.deepEqual(ids.map(doneAt), ['2026-01-03T00:00:00.000Z', '2026-01-01T00:00:00.000Z', null], 'last attempt; without one, when its alert started');
      assert.equal(store.alerts.pruneDeliveries(new Date('2026-01-03T00:00:00.001Z')), 2);
    } finally {
      store?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const [field, days] of [['deliveriesDays', DELIVERIES_DAYS], ['historyDays', HISTORY_DAYS]] as const) {
test(`alerts.${field} is whole days from ${days.min} to ${days.max}, default ${days.default}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-alerts-cfg-'));
  try {
    const load = (value: unknown) => {
      writeFileSync(join(dir, 'hub.json'), JSON.stringify({ dataDir: 'data', ...(value === undefined ? {} : { alerts: { [field]: value } }) }));
      return loadConfig({ config: join(dir, 'hub.json') }, dir);
    };
    assert.equal(alertsOptions(load(undefined))[field], days.default);
    assert.equal(alertsOptions(load(1))[field], 1);
    assert.equal(alertsOptions(load(3650))[field], 3650);
    for (const bad of [0, 3651, 1.5, -1, '30']) {
      assert.throws(() => load(bad), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CONFIG_INVALID');
        assert.match(e.message, new RegExp(`alerts\\.${field}: expected whole days from 1 to 3650`));
        return true;
      }, String(bad));
    }
    // The part refuses it too (a caller that skips the config).
    const store = Store.open(join(dir, 'd'), HUB_MIGRATIONS);
    try {
      assert.throws(() => new Alerts({ store, clock: new ManualClock(), logger: noopLogger, metrics: new Metrics() }, { ...DEFAULT_ALERTS_OPTIONS, [field]: 0 }), new RegExp(`alerts\\.${field} 0: expected whole days from 1 to 3650`));
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
}
