// Rollups against the windows they summarise: merging hourly/daily rollups over any range and any
// devices gives exactly the totals of the raw windows in those hours (a real hub.db in a temp dir).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorKindCounts, latencyQuantile, mergeLatency, windowTotals, type Feature, type Reference, type SummaryWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { mergeRollups, planRanges } from './query.js';
import { WindowRetention } from './retention.js';
import { TelemetryRepo } from '../store/telemetry-repo.js';
import { noopLogger } from '../mqtt/ports.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES: Feature[] = [
  { name: 'temp', index: 0, kind: 'numeric' },
  { name: 'mode', index: 1, kind: 'categorical', vocabulary: ['idle', 'run', 'stop'] },
];
const REFERENCE: Reference = {
  id: 'a'.repeat(64), rows: 672,
  features: [numericReference('temp'), { kind: 'categorical', name: 'mode', counts: { idle: 300, run: 300, stop: 72 }, other: 0 }],
  outputs: [{ name: 'score', index: 0, edges: [0, 0.25, 0.5, 0.75, 1], counts: [1, 2, 3, 4], under: 0, over: 0 }],
};
const T0 = Date.parse('2026-11-28T22:00:00Z');

function open(): { store: Store; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-rollups-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
  registerVersion(store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** Windows every 20 minutes for 3 days from T0, for devices d0..d2, with errors and a moving latency. */
function fleetWindows(): Array<{ deviceId: string; w: SummaryWindow }> {
  const rand = seeded(11);
  const out: Array<{ deviceId: string; w: SummaryWindow }> = [];
  for (let t = T0; t < T0 + 3 * 86_400_000; t += 20 * 60_000) {
    for (const d of ['d0', 'd1', 'd2']) {
      const w = sampleWindow({ model: 'vib', version: '1.0.0', start: t }, FEATURES, REFERENCE, 5 + Math.floor(rand() * 20), {
        numeric: { temp: normal(rand, d === 'd2' ? 8 : 5, 1.5) },
        categorical: { mode: () => (['idle', 'run', 'stop', 'new'] as const)[Math.floor(rand() * 4)] as string },
        outputs: { score: rand },
        latencyMs: () => 1 + rand() * (d === 'd1' ? 100 : 10),
        errors: { INFERENCE_FAILED: 0.05, INVALID_INPUT: 0.03, OVERLOADED: 0.02 },
      }, rand);
      out.push({ deviceId: d, w });
    }
  }
  return out;
}

function expected(ws: Array<{ deviceId: string; w: SummaryWindow }>, from: number, to: number, devices?: string[]) {
  const sel = ws.filter((x) => { const t = Date.parse(x.w.start); return t >= from && t < to && (!devices || devices.includes(x.deviceId)); });
  return { sel, totals: windowTotals(sel.map((x) => x.w)) };
}

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('merged rollups equal the totals of the raw windows, for any whole-hour range and device set', () => {
  const h = open();
  try {
    const ws = fleetWindows();
    // Ingest in device batches, as the ingest transaction does.
    h.store.db.transaction(() => {
      for (const d of ['d0', 'd1', 'd2']) h.store.rollups.applyWindows(d, ws.filter((x) => x.deviceId === d).map((x) => x.w));
    })();
    const cases: Array<[string, string, string[] | undefined]> = [
      ['2026-11-28T22:00:00Z', '2026-12-01T22:00:00Z', undefined], // everything: hours, two whole days, hours
      ['2026-11-29T00:00:00Z', '2026-11-30T00:00:00Z', undefined], // one whole day
      ['2026-11-29T05:00:00Z', '2026-11-29T07:00:00Z', ['d1']], // two hours of one device
      ['2026-11-28T23:00:00Z', '2026-12-01T01:00:00Z', ['d0', 'd2']],
    ];
    for (const [since, until, devices] of cases) {
      const got = mergeRollups(h.store.rollups, { model: 'vib', version: '1.0.0', since, until, ...(devices ? { devices } : {}) });
      const { sel, totals } = expected(ws, Date.parse(since), Date.parse(until), devices);
      const what = `${since}..${until} ${devices?.join(',') ?? 'all'}`;
      assert.equal(got.predictions, totals.count, what);
      assert.equal(got.windows, sel.length, what);
      assert.equal(got.devices, new Set(sel.map((x) => x.deviceId)).size, what);
      const kinds = errorKindCounts(totals.errors);
      assert.deepEqual([got.errors.model, got.errors.input, got.errors.load], [kinds.model, kinds.input, kinds.load], what);
      assert.deepEqual({ ...got.errors.byCode }, totals.errors, what);
      const temp = totals.features['temp'];
      const gotTemp = got.features[0];
      assert.ok(temp?.kind === 'numeric' && gotTemp?.kind === 'numeric');
      assert.deepEqual(gotTemp.counts, [temp.under, ...(temp.counts ?? []), temp.over], what);
      assert.equal(gotTemp.moments.n, temp.n);
      const mode = totals.features['mode'];
      const gotMode = got.features[1];
      assert.ok(mode?.kind === 'categorical' && gotMode?.kind === 'categorical');
      assert.deepEqual(gotMode.counts, [mode.counts['idle'] ?? 0, mode.counts['run'] ?? 0, mode.counts['stop'] ?? 0, mode.other], what);
      const score = totals.outputs['score'];
      assert.deepEqual(got.outputs[0]?.counts, [score?.under, ...(score?.counts ?? []), score?.over], what);
      const lat = sel.map((x) => x.w.latency).reduce(mergeLatency);
      assert.equal(got.latency.p95, latencyQuantile(lat, 0.95), what);
      assert.equal(got.latency.count, got.predictions, what);
      assert.ok(Math.abs(got.latencySketch.sumMs - lat.sumMs) < 1e-6 * lat.sumMs, what);
      assert.ok((got.answeredLatency.count) === got.predictions - kinds.model - kinds.input - kinds.load, what);
    }
  } finally {
    h.close();
  }
});

test('ranges are whole hours and use daily rollups for whole days in between', () => {
  const p = planRanges('2026-11-28T22:10:00Z', '2026-12-01T01:05:00Z');
  assert.equal(new Date(p.since).toISOString(), '2026-11-28T22:00:00.000Z');
  assert.equal(new Date(p.until).toISOString(), '2026-12-01T02:00:00.000Z');
  assert.deepEqual(p.ranges.map((r) => [r.grain, new Date(r.from).toISOString(), new Date(r.to).toISOString()]), [
    [3600, '2026-11-28T22:00:00.000Z', '2026-11-29T00:00:00.000Z'],
    [86400, '2026-11-29T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
    [3600, '2026-12-01T00:00:00.000Z', '2026-12-01T02:00:00.000Z'],
  ]);
  assert.throws(() => planRanges('2026-12-01T00:00:00Z', '2026-11-01T00:00:00Z'), { code: 'BAD_REQUEST', message: /expected since < until/ });
  assert.throws(() => planRanges('yesterday', '2026-11-01T00:00:00Z'), { code: 'BAD_REQUEST', message: /since "yesterday" is not a time/ });
  assert.throws(() => planRanges('2020-01-01T00:00:00Z', '2026-11-01T00:00:00Z'), { code: 'BAD_REQUEST', message: /too long/ });
});

test('a rollup grows past 2^32 counts without losing any (stored as 8-byte floats from then on)', () => {
  const h = open();
  try {
    const w = sampleWindow({ model: 'vib', version: '1.0.0', start: T0 }, FEATURES, REFERENCE, 1, { numeric: { temp: () => 5.5 } }, seeded(1));
    const temp = w.features[0];
    assert.ok(temp?.kind === 'numeric' && temp.hist);
    temp.hist.counts[5] = 3_000_000_000;
    w.count = 3_000_000_000;
    h.store.db.transaction(() => h.store.rollups.applyWindows('d0', [w, w]))();
    const got = mergeRollups(h.store.rollups, { model: 'vib', version: '1.0.0', since: T0, until: T0 + 3600_000 });
    assert.equal(got.predictions, 6_000_000_000);
    const f = got.features[0];
    assert.ok(f?.kind === 'numeric');
    assert.equal(f.counts?.[6], 6_000_000_000);
    assert.throws(() => mergeRollups(h.store.rollups, { model: 'vib', version: '9.9.9', since: T0, until: T0 + 1 }), { code: 'NOT_FOUND', message: /^no model version vib 9\.9\.9: the registry has vib 1\.0\.0 / });
  } finally {
    h.close();
  }
});

test('ingest: a resend adds nothing to the rollups; expired raw windows leave the rollups exact', () => {
  const h = open();
  try {
    const repo = new TelemetryRepo(h.store.db, h.store.rollups, h.store.stored);
    const rand = seeded(3);
    const ws = Array.from({ length: 48 }, (_, i) => ({
      ...sampleWindow({ model: 'vib', version: '1.0.0', start: T0 + i * 1800_000 }, FEATURES, REFERENCE, 10, { numeric: { temp: normal(rand, 5, 1) } }, rand),
      seq: i + 1,
    }));
    const at = new Date(T0 + 86_400_000);
    repo.putWindows('d0', ws.slice(0, 30), at);
    repo.putWindows('d0', ws.slice(20), at); // 10 resent
    const range = { model: 'vib', version: '1.0.0', since: T0, until: T0 + 86_400_000 };
    const before = mergeRollups(h.store.rollups, range);
    assert.equal(before.predictions, 480);
    assert.equal(before.windows, 48);
    const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(T0 + 2 * 86_400_000) }, logger: noopLogger, maxStoredBytesPerDevice: 256 << 20 }, { windowsDays: 1.5 });
    assert.deepEqual(retention.runOnce(), { expired: 24, evicted: 0 }, 'windows starting more than 1.5 days before now (the first 12 hours)');
    assert.equal(repo.countFor('d0').windows, 24);
    const left = Number((h.store.db.prepare("SELECT SUM(LENGTH(window)) AS n FROM device_windows WHERE device_id = 'd0'").get() as { n: number }).n);
    assert.equal(h.store.stored.get('d0'), left, 'the device\'s stored bytes went down with them');
    assert.deepEqual(mergeRollups(h.store.rollups, range), before);
  } finally {
    h.close();
  }
});

test('fleet rows: stored by the first fleet-wide query, dropped by ingest into their hour or day, so merges stay exact', () => {
  const h = open();
  try {
    const ws = fleetWindows().filter((x) => Date.parse(x.w.start) < T0 + 2 * 86_400_000);
    const late = ws.filter((x) => x.deviceId === 'd2' && Date.parse(x.w.start) >= T0 + 26 * 3600_000);
    const first = ws.filter((x) => !late.includes(x));
    h.store.db.transaction(() => {
      for (const d of ['d0', 'd1', 'd2']) h.store.rollups.applyWindows(d, first.filter((x) => x.deviceId === d).map((x) => x.w));
    })();
    const range = { model: 'vib', version: '1.0.0', since: '2026-11-28T22:00:00Z', until: '2026-11-30T22:00:00Z' };
    const check = (sel: typeof ws, what: string) => {
      const got = mergeRollups(h.store.rollups, range);
      const { totals } = expected(sel, Date.parse(range.since), Date.parse(range.until));
      assert.equal(got.predictions, totals.count, what);
      assert.equal(got.windows, sel.length, what);
      assert.equal(got.devices, new Set(sel.map((x) => x.deviceId)).size, what);
      const temp = totals.features['temp'];
      const gotTemp = got.features[0];
      assert.ok(temp?.kind === 'numeric' && gotTemp?.kind === 'numeric');
      assert.deepEqual(gotTemp.counts, [temp.under, ...(temp.counts ?? []), temp.over], what);
      assert.equal(gotTemp.moments.n, temp.n, what);
      assert.deepEqual({ ...got.errors.byCode }, totals.errors, what);
    };
    check(first, 'first query (fleet rows written)');
    const fleetRows = () => (h.store.db.prepare('SELECT COUNT(*) AS n FROM rollup_fleet').get() as { n: number }).n;
    assert.equal(fleetRows(), 2 + 1 + 22, 'hours 22-23, one day, hours 00-21 of the last day');
    check(first, 'second query (from the fleet rows)');
    h.store.db.transaction(() => h.store.rollups.applyWindows('d2', late.map((x) => x.w)))();
    assert.ok(fleetRows() < 25, 'late windows dropped the fleet rows of their hours and day');
    check(ws, 'after late windows');
  } finally {
    h.close();
  }
});
}
