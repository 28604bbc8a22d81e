// Rollup expiry (rollups/expiry.ts): hourly and daily rollups past their retention are deleted, and
// every query plans against the recorded horizon, so what it answers stays exact over the range it
// reports. A real hub.db (and a real PostgreSQL database) with 50 days of windows from three devices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowTotals, type SummaryWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { mergeRollups, planRanges } from './query.js';
import { NO_HORIZON, RollupExpiry, wantedHorizon } from './expiry.js';
import { WindowRetention } from './retention.js';
import { FleetAnalytics } from '../drift/service.js';
import { RollupGateData } from '../rollouts/rollup-gate-data.js';
import { noopLogger } from '../mqtt/ports.js';
import { normal, registerVersion, sampleWindow, seeded, tempModeReference, TEMP_MODE_FEATURES } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { loadConfig } from '../config-load.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D0 = Date.parse('2026-10-01T00:00:00Z');
const NOW = D0 + 50 * DAY + 13 * HOUR; // 2026-11-20T13:00Z
const REFERENCE = tempModeReference('c'.repeat(64));
const iso = (ms: number) => new Date(ms).toISOString();

test('plans against a horizon: whole days before the hourly one, nothing before the daily one', () => {
  const h = { hourlyFrom: D0 + 30 * DAY, dailyFrom: D0 + 10 * DAY };
  const plain = planRanges(D0 + 20 * DAY + 5 * HOUR, D0 + 20 * DAY + 7 * HOUR);
  assert.deepEqual([plain.since, plain.until], [D0 + 20 * DAY + 5 * HOUR, D0 + 20 * DAY + 7 * HOUR], 'no horizon: whole hours');
  assert.deepEqual(planRanges(D0 + 20 * DAY + 5 * HOUR, D0 + 20 * DAY + 7 * HOUR, NO_HORIZON), plain);
  const old = planRanges(D0 + 20 * DAY + 5 * HOUR, D0 + 20 * DAY + 7 * HOUR, h);
  assert.deepEqual(old, { since: D0 + 20 * DAY, until: D0 + 21 * DAY, ranges: [{ grain: 3600, from: D0 + 20 * DAY, to: D0 + 20 * DAY }, { grain: 86_400, from: D0 + 20 * DAY, to: D0 + 21 * DAY }, { grain: 3600, from: D0 + 21 * DAY, to: D0 + 21 * DAY }] }, 'two old hours read as their day');
  const across = planRanges(D0 + 25 * DAY + 5 * HOUR, D0 + 35 * DAY + 7 * HOUR, h);
  assert.deepEqual([across.since, across.until], [D0 + 25 * DAY, D0 + 35 * DAY + 7 * HOUR], 'the old edge widens, the recent edge stays an hour');
  assert.ok(across.ranges.every((r) => r.grain === 86_400 || r.from >= h.hourlyFrom || r.to <= r.from), 'no hourly row read before the horizon');
  const clipped = planRanges(D0 + 5 * DAY + 5 * HOUR, D0 + 12 * DAY, h);
  assert.deepEqual([clipped.since, clipped.until], [D0 + 10 * DAY, D0 + 12 * DAY], 'starts at the daily horizon');
  assert.throws(() => planRanges(D0 + 2 * DAY, D0 + 9 * DAY, h), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'BAD_REQUEST');
    assert.match(err.message, /ends before 2026-10-11T00:00:00\.000Z/);
    assert.match(err.message, /retention\.dailyRollupDays/);
    return true;
  });
  const recent = planRanges(D0 + 40 * DAY + 5 * HOUR, D0 + 40 * DAY + 7 * HOUR, h);
  assert.deepEqual([recent.since, recent.until], [D0 + 40 * DAY + 5 * HOUR, D0 + 40 * DAY + 7 * HOUR], 'after the horizon: whole hours');
});

test('the wanted horizon: whole UTC days back, hourly rows never kept longer than daily ones', () => {
  const midnight = D0 + 50 * DAY;
  assert.deepEqual(wantedHorizon(NOW, { hourlyDays: 14 }), { hourlyFrom: midnight - 14 * DAY, dailyFrom: -Infinity });
  assert.deepEqual(wantedHorizon(NOW, { hourlyDays: 14, dailyDays: 30 }), { hourlyFrom: midnight - 14 * DAY, dailyFrom: midnight - 30 * DAY });
  assert.deepEqual(wantedHorizon(NOW, { hourlyDays: 40, dailyDays: 30 }), { hourlyFrom: midnight - 30 * DAY, dailyFrom: midnight - 30 * DAY });
  assert.deepEqual(wantedHorizon(NOW, {}), NO_HORIZON);
});

test('config: rollup retention in whole days, daily kept at least as long as hourly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-expiry-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    const load = (retention: unknown) => {
      writeFileSync(file, JSON.stringify({ dataDir: 'data', retention }));
      return loadConfig({ config: file }, dir);
    };
    assert.deepEqual(load({ hourlyRollupDays: 14, dailyRollupDays: 400 }).retention, { hourlyRollupDays: 14, dailyRollupDays: 400 });
    assert.throws(() => load({ dailyRollupDays: 20 }), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /retention\.dailyRollupDays/.test(e.message) && /at least hourlyRollupDays \(default 35\)/.test(e.message));
    assert.throws(() => load({ hourlyRollupDays: 1.5 }), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /retention\.hourlyRollupDays/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function open(): { store: Store; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-expiry-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
  registerVersion(store.db, 'vib', '1.0.0', { features: TEMP_MODE_FEATURES, reference: REFERENCE });
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** A window every 4 hours for 50 days from D0, from devices d0..d2. */
function windows(): Array<{ deviceId: string; w: SummaryWindow }> {
  const rand = seeded(5);
  const out: Array<{ deviceId: string; w: SummaryWindow }> = [];
  for (let t = D0 + HOUR; t < D0 + 50 * DAY; t += 4 * HOUR) {
    for (const d of ['d0', 'd1', 'd2']) {
      out.push({ deviceId: d, w: sampleWindow({ model: 'vib', version: '1.0.0', start: t }, TEMP_MODE_FEATURES, REFERENCE, 20 + Math.floor(rand() * 5), { numeric: { temp: normal(rand, 5, 1.5) }, outputs: { score: rand } }, rand) });
    }
  }
  return out;
}

function suite(): void {
  test('expired rollups: gone past their horizon, queries exact over the range they report, late windows cleaned up', () => {
    const h = open();
    try {
      const ws = windows();
      const rows = (where: string) => Number((h.store.db.prepare(`SELECT COUNT(*) AS n FROM rollups WHERE ${where}`).get() as { n: number }).n);
      h.store.db.transaction(() => {
        for (const d of ['d0', 'd1', 'd2']) h.store.rollups.applyWindows(d, ws.filter((x) => x.deviceId === d).map((x) => x.w));
      })();
      const check = (since: number, until: number, what: string) => {
        const got = mergeRollups(h.store.rollups, { model: 'vib', version: '1.0.0', since, until });
        const [a, b] = [Date.parse(got.since), Date.parse(got.until)];
        const sel = ws.filter((x) => Date.parse(x.w.start) >= a && Date.parse(x.w.start) < b).map((x) => x.w);
        const totals = windowTotals(sel);
        assert.equal(got.windows, sel.length, what);
        assert.equal(got.predictions, totals.count, what);
        const temp = totals.features['temp'];
        const gotTemp = got.features[0];
        assert.ok(temp?.kind === 'numeric' && gotTemp?.kind === 'numeric');
        assert.deepEqual(gotTemp.counts, [temp.under, ...(temp.counts ?? []), temp.over], what);
        return got;
      };
      check(D0 + 20 * DAY + 5 * HOUR, D0 + 40 * DAY + 7 * HOUR, 'before expiry'); // also stores fleet rows

      const clock = { now: () => new Date(NOW) };
      const retention = new WindowRetention({ stored: h.store.stored, clock, logger: noopLogger, maxStoredBytesPerDevice: 256 << 20, rollups: new RollupExpiry(h.store.db) }, { hourlyRollupDays: 14, dailyRollupDays: 30 });
      const hourlyFrom = D0 + 36 * DAY;
      const dailyFrom = D0 + 20 * DAY;
      const oneStep = retention.expireRollups(1);
      assert.equal(oneStep, 3 * 36 * 6, 'one step deletes up to DELETE_BATCH rows of one grain and version: here every hourly row before the horizon');
      assert.deepEqual(h.store.rollups.horizon(), { hourlyFrom, dailyFrom }, 'the horizon is recorded before anything is deleted');
      const deleted = retention.expireRollups();
      assert.equal(deleted, 3 * 20, 'then every daily row before the daily horizon');
      assert.equal(retention.expireRollups(), 0, 'nothing left to delete');
      assert.equal(rows(`grain = 3600 AND start < ${hourlyFrom}`), 0);
      assert.equal(rows(`grain = 86400 AND start < ${dailyFrom}`), 0);
      assert.equal(rows(`grain = 3600 AND start >= ${hourlyFrom}`), 3 * 14 * 6, 'recent hours kept');
      assert.equal(rows(`grain = 86400 AND start >= ${dailyFrom}`), 3 * 30, 'days after the daily horizon kept');
      assert.equal(Number((h.store.db.prepare(`SELECT COUNT(*) AS n FROM rollup_fleet WHERE (grain = 3600 AND start < ${hourlyFrom}) OR start < ${dailyFrom}`).get() as { n: number }).n), 0, 'fleet rows before the horizons deleted');

      const mixed = check(D0 + 25 * DAY + 5 * HOUR, D0 + 40 * DAY + 7 * HOUR, 'across the hourly horizon');
      assert.deepEqual([mixed.since, mixed.until], [iso(D0 + 25 * DAY), iso(D0 + 40 * DAY + 7 * HOUR)], 'the old edge reads its whole day, and says so');
      const clipped = check(D0 + 15 * DAY, D0 + 22 * DAY + 3 * HOUR, 'across the daily horizon');
      assert.deepEqual([clipped.since, clipped.until], [iso(dailyFrom), iso(D0 + 23 * DAY)]);
      assert.throws(() => mergeRollups(h.store.rollups, { model: 'vib', version: '1.0.0', since: D0, until: D0 + 10 * DAY }), { code: 'BAD_REQUEST', message: /retention\.dailyRollupDays/ });

      // A rollout gate over old hours reads their whole days, from the rollups alone.
      const gate = new RollupGateData({ db: h.store.db, rollups: h.store.rollups }).stats({ model: 'vib', version: '1.0.0', devices: new Set(['d0', 'd2']), from: iso(D0 + 25 * DAY + 5 * HOUR), to: iso(D0 + 26 * DAY + 3 * HOUR) });
      const inDays = ws.filter((x) => x.deviceId !== 'd1' && Date.parse(x.w.start) >= D0 + 25 * DAY && Date.parse(x.w.start) < D0 + 27 * DAY);
      assert.equal(gate.windows, inDays.length, 'a gate before the hourly horizon: the two whole days');
      assert.equal(gate.count, windowTotals(inDays.map((x) => x.w)).count);
      assert.deepEqual([...gate.reportingDevices].sort(), ['d0', 'd2']);

      const analytics = new FleetAnalytics(h.store.db, h.store.rollups);
      const old = analytics.drift('vib', '1.0.0', { since: iso(D0 + 22 * DAY + 5 * HOUR), until: iso(D0 + 40 * DAY) }, new Date(NOW), { psi: 0.2, js: 0.1, minPredictions: 100 });
      assert.equal(old.timeline?.bucketSec, 86_400, 'a timeline reaching before the hourly horizon has whole-day buckets');
      assert.equal(old.timeline?.starts[0], iso(D0 + 22 * DAY));
      assert.ok(old.timeline && Object.values(old.timeline.psi).every((v) => v.length === 18 && v.every((x) => x !== null)), 'every day has a value');
      const recent = analytics.drift('vib', '1.0.0', { since: iso(D0 + 45 * DAY), until: iso(D0 + 48 * DAY) }, new Date(NOW));
      assert.equal(recent.timeline?.bucketSec, 3 * 3600, 'recent ranges keep hourly buckets');

      // A box back after weeks offline: its window lands in an expired hour; the day's row takes it.
      const late = sampleWindow({ model: 'vib', version: '1.0.0', start: D0 + 25 * DAY + 2 * HOUR + 30 * 60_000 }, TEMP_MODE_FEATURES, REFERENCE, 9, { numeric: { temp: () => 5 } }, seeded(9));
      ws.push({ deviceId: 'd1', w: late });
      h.store.db.transaction(() => h.store.rollups.applyWindows('d1', [late]))();
      check(D0 + 25 * DAY + 2 * HOUR, D0 + 25 * DAY + 3 * HOUR, 'a late window in an expired hour, read with its day');
      assert.equal(rows(`grain = 3600 AND start < ${hourlyFrom}`), 1, 'ingest wrote its hour');
      assert.equal(retention.expireRollups(), 1, 'the next run deletes it');

      // The hub's clock stepped back a week: the horizon stays, so no query plans rows already deleted.
      const back = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW - 7 * DAY) }, logger: noopLogger, maxStoredBytesPerDevice: 256 << 20, rollups: new RollupExpiry(h.store.db) }, { hourlyRollupDays: 14, dailyRollupDays: 30 });
      assert.equal(back.expireRollups(), 0);
      assert.deepEqual(h.store.rollups.horizon(), { hourlyFrom, dailyFrom });
      check(D0 + 30 * DAY + 5 * HOUR, D0 + 30 * DAY + 6 * HOUR, 'after the step back');
    } finally {
      h.close();
    }
  });

  test('rollups are kept where retention asks for none', () => {
    const h = open();
    try {
      const ws = windows().filter((x) => x.deviceId === 'd0');
      h.store.db.transaction(() => h.store.rollups.applyWindows('d0', ws.map((x) => x.w)))();
      const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 256 << 20 }, {});
      assert.equal(retention.expireRollups(), 0, 'no expiry part: nothing deleted');
      assert.deepEqual(h.store.rollups.horizon(), NO_HORIZON);
      const kept = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 256 << 20, rollups: new RollupExpiry(h.store.db) }, {});
      assert.equal(kept.expireRollups(), 15 * 6, 'the default keeps 35 days of hours: the first 15 days\' hours go');
      assert.equal(h.store.rollups.horizon().dailyFrom, -Infinity, 'daily rows are kept by default');
    } finally {
      h.close();
    }
  });
}
