// The fleet row builder (fleet-builder.ts) against a real hub.db: it sums the closed hours and days
// within its lookback exactly as a query would, leaves the open hour, the grace period and older hours
// alone, rebuilds an hour a late window changed, and stops at its limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feature, Reference, SummaryWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { noopLogger } from '../mqtt/ports.js';
import { FleetRowBuilder } from './fleet-builder.js';
import { numericReference, registerVersion, sampleWindow, seeded } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REFERENCE: Reference = {
  id: 'b'.repeat(64), rows: 672, features: [numericReference('temp')],
  outputs: [{ name: 'score', index: 0, edges: [0, 0.5, 1], counts: [1, 2], under: 0, over: 0 }],
};
const H = 3600_000;
const T0 = Date.parse('2026-11-28T00:00:00Z');

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'ef-fleet-builder-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
  registerVersion(store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const rand = seeded(5);
const win = (start: number): SummaryWindow => sampleWindow({ model: 'vib', version: '1.0.0', start }, FEATURES, REFERENCE, 10, {
  numeric: { temp: () => 5 + rand() }, outputs: { score: rand }, latencyMs: () => 1 + rand() * 10,
}, rand);

/** Windows every 20 minutes for devices d0, d1 over [from, to). */
function ingest(store: Store, from: number, to: number): void {
  store.db.transaction(() => {
    for (const d of ['d0', 'd1']) {
      const ws: SummaryWindow[] = [];
      for (let t = from; t < to; t += 20 * 60_000) ws.push(win(t));
      store.rollups.applyWindows(d, ws);
    }
  })();
}

const fleetStarts = (store: Store, grain: number) =>
  store.db.prepare('SELECT start FROM rollup_fleet WHERE grain = ? ORDER BY start').pluck(true).all(grain) as number[];
const fleetRow = (store: Store, grain: number, start: number) =>
  store.db.prepare('SELECT windows, count, errors, dist, mom, lat, perf FROM rollup_fleet WHERE grain = ? AND start = ?').get(grain, start);

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('builds the closed hours and days of the lookback, the same rows a query builds', () => {
  const h = open();
  try {
    ingest(h.store, T0, T0 + 50 * H); // two whole days and two hours of the third
    const now = T0 + 49 * H + 3 * 60_000; // hour 48 ended 3 min ago; hour 49 is open
    const b = new FleetRowBuilder({ rollups: h.store.rollups, clock: { now: () => new Date(now) }, logger: noopLogger }, { graceMs: 120_000, lookbackHours: 30 });
    assert.equal(b.runOnce(3), 3, 'stops at its limit');
    const n = b.runOnce();
    // Hours 19..48 (30 h back from the grace point, hour 49 still open) and the closed days the lookback reaches into (0, 1).
    assert.deepEqual(fleetStarts(h.store, 3600), Array.from({ length: 30 }, (_, i) => T0 + (19 + i) * H));
    assert.deepEqual(fleetStarts(h.store, 86_400), [T0, T0 + 24 * H]);
    assert.equal(n + 3, 32);
    assert.equal(b.runOnce(), 0, 'nothing left to build');

    // The same bytes as the row a query sums itself.
    const built = fleetRow(h.store, 3600, T0 + 30 * H);
    h.store.db.prepare('DELETE FROM rollup_fleet WHERE grain = 3600 AND start = ?').run(T0 + 30 * H);
    void [...h.store.rollups.fleet(h.store.rollups.requireSeries('vib', '1.0.0'), [{ grain: 3600, from: T0 + 30 * H, to: T0 + 31 * H }])];
    assert.deepEqual(fleetRow(h.store, 3600, T0 + 30 * H), built);

    // A late window deletes its hour's (and day's) row; the next run sums it again, with the window.
    const before = fleetRow(h.store, 3600, T0 + 40 * H) as { windows: number };
    ingest(h.store, T0 + 40 * H + 5 * 60_000, T0 + 40 * H + 6 * 60_000);
    assert.equal(fleetRow(h.store, 3600, T0 + 40 * H), undefined);
    assert.equal(fleetRow(h.store, 86_400, T0 + 24 * H), undefined);
    assert.equal(b.runOnce(), 2);
    assert.equal((fleetRow(h.store, 3600, T0 + 40 * H) as { windows: number }).windows, before.windows + 2);
  } finally {
    h.close();
  }
});

test('an hour without device rows, an open hour and the grace period are left alone', () => {
  const h = open();
  try {
    ingest(h.store, T0, T0 + H);
    ingest(h.store, T0 + 2 * H, T0 + 3 * H);
    const at = (ms: number) => new FleetRowBuilder({ rollups: h.store.rollups, clock: { now: () => new Date(ms) }, logger: noopLogger }, { graceMs: 300_000 });
    assert.equal(at(T0 + 3 * H + 60_000).runOnce(), 1, 'hour 2 ended 1 min ago: within the grace; hour 1 has no rows');
    assert.deepEqual(fleetStarts(h.store, 3600), [T0]);
    assert.equal(at(T0 + 3 * H + 300_000).runOnce(), 1);
    assert.deepEqual(fleetStarts(h.store, 3600), [T0, T0 + 2 * H]);
  } finally {
    h.close();
  }
});

test('start() builds on a timer until stopped', async () => {
  const h = open();
  try {
    ingest(h.store, T0, T0 + 4 * H);
    const b = new FleetRowBuilder({ rollups: h.store.rollups, clock: { now: () => new Date(T0 + 5 * H) }, logger: noopLogger }, { everyMs: 60_000 });
    b.start();
    for (let i = 0; i < 100 && fleetStarts(h.store, 3600).length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    b.stop();
    assert.equal(fleetStarts(h.store, 3600).length, 4);
  } finally {
    h.close();
  }
});
}
