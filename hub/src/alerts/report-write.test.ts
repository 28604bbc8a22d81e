// The drift report of a firing drift alert is computed before the evaluator's write transaction, not
// inside it (decision 0060): the report stored and sent is the one the drift analytics give for the
// rule's window, the computation runs outside any transaction on each backend, and on hub.db another
// connection can write while it runs (with busy_timeout 0, a held write lock would fail it at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Feature, Reference, WebhookEvent } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { FleetAnalytics } from '../drift/service.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { noopLogger } from '../mqtt/ports.js';
import type { DriftSource } from './evaluator.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REF_COUNTS = [0.4, 2.1, 6.9, 15.7, 24.9, 24.9, 15.7, 6.9, 2.1, 0.4].map((p) => Math.round(p * 100));
const REFERENCE: Reference = { id: 'd'.repeat(64), rows: 1000, features: [numericReference('temp', undefined, REF_COUNTS)], outputs: [] };
const SECRET = 'whsec-0123456789abcdef';

/** A version whose one feature is shifted far from its reference: a drift.psi rule at 0.2 is breached. */
function drifted(h: Harness): void {
  registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
  const rand = seeded(7);
  const now = h.clock.now().getTime();
  h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
  h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', Array.from({ length: 6 }, (_, i) =>
    sampleWindow({ model: 'press', version: '1.0.0', start: now - 3000_000 + i * 300_000 }, FEATURES, REFERENCE, 300, { numeric: { temp: normal(rand, 8, 1.5) } }, rand))))();
}

/** FleetAnalytics on `store`, calling `during` while each report (by device) is computed. */
function watched(store: Store, during: () => void): DriftSource {
  const real = new FleetAnalytics(store.db, store.rollups);
  return { drift: (...args) => {
    if (args[2].by === 'device') during();
    return real.drift(...args);
  } };
}

function addRule(h: Harness, store: Store, forSec: number): number {
  return store.alerts.addRule({
    name: `drift ${forSec}`, metric: 'drift.psi', model: 'press', version: '1.0.0', threshold: 0.2, forSec, windowSec: 3600, severity: 'warning',
    actions: [{ type: 'retrain', url: 'http://127.0.0.1:9/train', secret: SECRET }],
  }, { actor: 't', at: h.clock.now() }).id;
}

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test('the report of a firing drift alert is computed outside any transaction and is the analytics\' report of its window', async () => {
    const h = makeHarness({ database: backend.database() });
    const inTransaction: boolean[] = [];
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics, analytics: watched(h.store, () => inTransaction.push(h.store.db.inTransaction)) }, DEFAULT_ALERTS_OPTIONS);
    try {
      drifted(h);
      for (const forSec of [0, 60]) {
        const id = addRule(h, h.store, forSec);
        alerts.evaluate();
        if (forSec > 0) {
          assert.equal(h.store.alerts.alerts({ rule: id })[0]?.state, 'pending');
          h.clock.advance(60_000);
          alerts.evaluate();
        }
        const [a] = h.store.alerts.alerts({ rule: id });
        assert.equal(a?.state, 'firing');
        assert.ok(a.reportId);
        const at = h.clock.now();
        const t = h.store.drift.thresholds('press');
        const expected = new FleetAnalytics(h.store.db, h.store.rollups).drift('press', '1.0.0',
          { since: new Date(at.getTime() - 3600_000).toISOString(), until: at.toISOString(), by: 'device', timeline: true }, at, { psi: t.psi, js: t.js, minPredictions: t.minPredictions });
        assert.deepEqual(h.store.drift.report(a.reportId).report, JSON.parse(JSON.stringify(expected)), `forSec ${forSec}: the stored report`);
        const [d] = h.store.alerts.deliveries(a.id);
        const body = JSON.parse((h.store.db.prepare('SELECT body FROM alert_deliveries WHERE id = ?').get(d?.id) as { body: string }).body) as WebhookEvent;
        assert.deepEqual([body.type, body.report], ['retrain.requested', JSON.parse(JSON.stringify(expected))], 'the retrain action carries it');
      }
      assert.deepEqual(inTransaction, [false, false], 'one report per firing, each computed outside a transaction');
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });
}

test('hub.db: another connection writes while a firing alert\'s report is computed (no write lock held meanwhile)', async () => {
  const h = makeHarness();
  // A single hub's store (transactions begin deferred) and one of several hubs' (they begin IMMEDIATE).
  const shared = Store.open(h.dir, HUB_MIGRATIONS, { shared: true });
  const other = new Database(join(h.dir, 'hub.db'), { timeout: 0 });
  const writes: string[] = [];
  const write = () => {
    try {
      other.prepare('UPDATE devices SET last_seen = ? WHERE id = ?').run(new Date().toISOString(), 'dev-1');
      writes.push('ok');
    } catch (err) {
      writes.push((err as { code?: string }).code ?? String(err));
    }
  };
  const parts = [h.store, shared].map((store) => new Alerts({ store, clock: h.clock, logger: noopLogger, metrics: h.metrics, analytics: watched(store, write) }, DEFAULT_ALERTS_OPTIONS));
  try {
    drifted(h);
    // forSec 0 starts and fires in one step (the start was the first write); forSec 60 fires from pending.
    const states: string[] = [];
    for (const [i, forSec] of [[0, 0], [1, 0], [0, 60], [1, 60]] as const) {
      const store = i === 0 ? h.store : shared;
      const id = addRule(h, store, forSec + i);
      parts[i]?.evaluate();
      h.clock.advance(61_000);
      parts[i]?.evaluate();
      states.push(store.alerts.alerts({ rule: id })[0]?.state ?? 'none');
      store.alerts.removeRule(id, h.clock.now());
    }
    // One report per firing, each while the other connection could write (and the firing went through).
    assert.deepEqual({ writes, states }, { writes: ['ok', 'ok', 'ok', 'ok'], states: ['firing', 'firing', 'firing', 'firing'] });
  } finally {
    for (const p of parts) await p.stop(500);
    other.close();
    shared.close();
    h.close();
  }
});
