// An alert rule's scope (docs/drift.md "Alerts"): a scope by a tag key no device carries (a typo) is
// refused rather than taken as a rule that matches no device and never fires; and a scoped drift rule
// that fires stores (and sends to its retrain action) the drift of the devices in its scope only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, DriftReport, Feature, Reference } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { noopLogger } from '../mqtt/ports.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REF_COUNTS = [0.4, 2.1, 6.9, 15.7, 24.9, 24.9, 15.7, 6.9, 2.1, 0.4].map((p) => Math.round(p * 100));
const REFERENCE: Reference = { id: 'd'.repeat(64), rows: 1000, features: [numericReference('temp', undefined, REF_COUNTS)], outputs: [] };

/** Devices n1, n2 (site=north, drifted: temp around 8) and s1 (site=south, temp around 5 as the reference), 1,800 predictions each. */
function fleet(h: Harness): void {
  registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
  const rand = seeded(11);
  const now = h.clock.now().getTime();
  for (const [id, site, mean] of [['n1', 'north', 8], ['n2', 'north', 8], ['s1', 'south', 5]] as const) {
    h.store.devices.create(id, 'x'.repeat(32), { site }, null, h.clock.now());
    h.store.db.transaction(() => h.store.rollups.applyWindows(id, Array.from({ length: 6 }, (_, i) =>
      sampleWindow({ model: 'press', version: '1.0.0', start: now - 3000_000 + i * 300_000 }, FEATURES, REFERENCE, 300, { numeric: { temp: normal(rand, mean, 1.5) } }, rand))))();
  }
}

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test('a scope by a tag key no device carries is a 400 naming it and the key meant; a value no device has yet is taken', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      fleet(h);
      const rule = (name: string, tags: Record<string, string>) => h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name, metric: 'devices_offline', threshold: 1, scope: { tags } } });
      const typo = await rule('north offline', { sit: 'north' });
      assert.equal(typo.status, 400);
      const body = ((await typo.json()) as { error: { code: string; message: string } }).error;
      assert.equal(body.code, 'BAD_REQUEST');
      assert.equal(body.message, 'alert rule "north offline": scope.tags: no device has a tag "sit"; did you mean "site"? (expected a tag with a key devices carry: site); a rule scoped by it would match no device and never fire');
      assert.equal(h.store.alerts.rules().length, 0);
      // A site whose boxes are not enrolled yet is a rule for them to come.
      assert.equal((await rule('west offline', { site: 'west' })).status, 201);
    } finally {
      h.close();
    }
  });

  test('a hub without devices takes any scope (the boxes come later)', async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      const r = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'north offline', metric: 'devices_offline', threshold: 1, scope: { tags: { site: 'north' } } } });
      assert.equal(r.status, 201, await r.clone().text());
    } finally {
      h.close();
    }
  });

  test('a scoped drift rule that fires stores and sends the drift of the devices in its scope only', async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, DEFAULT_ALERTS_OPTIONS);
    try {
      fleet(h);
      const add = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: {
        name: 'north drift', metric: 'drift.psi', model: 'press', version: '1.0.0', threshold: 0.2, scope: { tags: { site: 'north' } },
        actions: [{ type: 'retrain', url: 'http://127.0.0.1:9/train', secret: 'whsec-0123456789abcdef' }],
      } });
      assert.equal(add.status, 201, await add.clone().text());
      alerts.evaluate();
      const [a] = ((await (await h.req('GET', '/api/v1/alerts?state=firing', { role: 'viewer' })).json()) as { alerts: Alert[] }).alerts;
      assert.ok(a?.reportId, 'the north devices drifted: the alert fired with a report');
      const stored = ((await (await h.req('GET', `/api/v1/drift-reports/${a.reportId}`, { role: 'viewer' })).json()) as DriftReport).report;
      assert.deepEqual(stored.groups.map((g) => [g.key, g.drifted]), [['n1', true], ['n2', true]], 'the south device is out of the rule\'s scope');
      const body = JSON.parse((h.store.db.prepare('SELECT body FROM alert_deliveries WHERE alert_id = ?').get(a.id) as { body: string }).body) as { report: DriftReport['report'] };
      assert.deepEqual(body.report.groups.map((g) => g.key), ['n1', 'n2'], 'the retrain request carries the same');
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });
}
