// The drift report of a firing drift alert (by device) keeps at most MAX_REPORT_DEVICES devices, drifted
// ones first, and says how many it left out, as edgefleet drift-reports show prints (docs/drift.md "Alerts", hub/src/drift/report-devices.ts): on a
// large fleet it was every device, ~6.3 KB each, stored twice and posted to the retrain receiver. The list of reports
// (GET /drift-reports, drift-reports ls) says so too, also for a report stored before hub.db migration 84.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, DriftReport, DriftReportList, DriftResponse, Feature, Reference } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { noopLogger } from '../mqtt/ports.js';
import { MAX_REPORT_DEVICES } from '../drift/report-devices.js';
import { formatDrift, formatReportList } from '../cli/commands/drift.js';
import { DRIFT_REPORT_LEFT_OUT_MIGRATION } from '../drift/repo.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from '../store/index.js';
import { Alerts, DEFAULT_ALERTS_OPTIONS } from './service.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REF_COUNTS = [0.4, 2.1, 6.9, 15.7, 24.9, 24.9, 15.7, 6.9, 2.1, 0.4].map((p) => Math.round(p * 100));
const REFERENCE: Reference = { id: 'd'.repeat(64), rows: 1000, features: [numericReference('temp', undefined, REF_COUNTS)], outputs: [] };

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  test(`a firing drift alert's report keeps ${MAX_REPORT_DEVICES} devices, every drifted one first, and counts the rest`, { timeout: 120_000 }, async () => {
    const h = makeHarness({ database: backend.database() });
    const alerts = new Alerts({ store: h.store, clock: h.clock, logger: noopLogger, metrics: h.metrics }, DEFAULT_ALERTS_OPTIONS);
    try {
      registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
      const rand = seeded(5);
      const start = h.clock.now().getTime() - 1800_000;
      // Drifted devices sort after the others by id: a report cut by id would lose some of them.
      const quiet = Array.from({ length: 55 }, (_, i) => `a-${String(i).padStart(3, '0')}`);
      const drifted = Array.from({ length: MAX_REPORT_DEVICES - 50 }, (_, i) => `z-${String(i).padStart(3, '0')}`);
      h.store.db.transaction(() => {
        for (const id of [...quiet, ...drifted]) {
          h.store.devices.create(id, 'x'.repeat(32), {}, null, h.clock.now());
          h.store.rollups.applyWindows(id, [sampleWindow({ model: 'press', version: '1.0.0', start }, FEATURES, REFERENCE, 1000, { numeric: { temp: normal(rand, id.startsWith('z') ? 8 : 5, 1.5) } }, rand)]);
        }
      })();
      const rule = h.store.alerts.addRule({ name: 'drift', metric: 'drift.psi', model: 'press', threshold: 0.2, forSec: 0, windowSec: 3600, severity: 'warning', actions: [{ type: 'retrain', url: 'http://127.0.0.1:9/train', secret: 'whsec-0123456789abcdef' }] }, { actor: 't', at: h.clock.now() });
      alerts.evaluate();
      const [a] = h.store.alerts.alerts({ rule: rule.id }) as [Alert];
      assert.equal(a.state, 'firing');
      const report = (h.store.drift.report(a.reportId ?? 0) as DriftReport).report;
      assert.equal(report.groups.length, MAX_REPORT_DEVICES);
      assert.deepEqual(report.groups.filter((g) => g.drifted).map((g) => g.key), drifted, 'every drifted device is kept');
      assert.deepEqual(report.leftOut, { devices: 5, drifted: 0 });
      assert.deepEqual(report.groups.map((g) => g.key), [...report.groups.map((g) => g.key)].sort(), 'in the order of the drift query (by id)');
      assert.match(formatDrift(report), /\n5 more devices left out of this report \(0 of them drifted\): it keeps 200, drifted ones first\n$/, 'edgefleet drift-reports show says so');
      const body = JSON.parse((h.store.db.prepare('SELECT body FROM alert_deliveries WHERE alert_id = ?').get(a.id) as { body: string }).body) as { report: DriftReport['report'] };
      assert.deepEqual([body.report.groups.length, body.report.leftOut], [MAX_REPORT_DEVICES, { devices: 5, drifted: 0 }], 'the retrain request carries the same');
      const listed = (await (await h.req('GET', '/api/v1/drift-reports', { role: 'viewer' })).json()) as DriftReportList;
      assert.deepEqual(listed.reports.map((r) => [r.id, r.leftOut]), [[a.reportId, { devices: 5, drifted: 0 }]], 'GET /drift-reports says what it left out');
      assert.match(formatReportList(listed), /\bLEFT OUT\b[^\n]*\n[^\n]* 5 \(0 drifted\) /, 'and drift-reports ls');
    } finally {
      await alerts.stop(500);
      h.close();
    }
  });

  test('a report stored before hub.db migration 84 is listed with what it left out; one that left none out without', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-report-left-out-'));
    const database = backend.database({ empty: true });
    try {
      const old = Store.open(dir, HUB_MIGRATIONS.filter((m) => m !== DRIFT_REPORT_LEFT_OUT_MIGRATION), { database });
      const report = (leftOut?: DriftResponse['leftOut']) => JSON.stringify({ model: 'press', version: '1.0.0', groups: [], ...(leftOut ? { leftOut } : {}) });
      const ins = old.db.prepare(`INSERT INTO drift_reports (model, version, since, until, by, drifted, drifted_features, report, note, created_at, created_by, insufficient)
        VALUES ('press', '1.0.0', ?, ?, 'device', 1, '[]', ?, NULL, ?, 'alerts', 0)`);
      const at = '2026-12-01T00:00:00.000Z';
      ins.run(at, at, report({ devices: 1234, drifted: 7 }), at);
      ins.run(at, at, report(), at);
      old.close();
      const s = Store.open(dir, HUB_MIGRATIONS, { database });
      try {
        assert.deepEqual(s.drift.reports({}).map((r) => r.leftOut), [undefined, { devices: 1234, drifted: 7 }]);
      } finally {
        s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
