// Gate numbers from the rollups (rollup-gate-data.ts) against the same numbers merged from every stored
// window (gate-data.ts), on one real hub.db: any device set, ranges with partial hours at either edge,
// inside one hour, over a whole day, and after retention deleted the early raw windows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feature, Reference, SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { WindowGateData, type GroupQuery, type GroupStats } from './gate-data.js';
import { RollupGateData } from './rollup-gate-data.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES: Feature[] = [
  { name: 'temp', index: 0, kind: 'numeric' },
  { name: 'load', index: 1, kind: 'numeric' },
  { name: 'mode', index: 2, kind: 'categorical', vocabulary: ['idle', 'run'] },
];
const REFERENCE: Reference = {
  id: 'a'.repeat(64), rows: 672,
  features: [numericReference('temp'), numericReference('load'), { kind: 'categorical', name: 'mode', counts: { idle: 300, run: 372 }, other: 0 }],
  outputs: [{ name: 'score', index: 0, edges: [0, 0.25, 0.5, 0.75, 1], counts: [1, 2, 3, 4], under: 0, over: 0 }],
};
const T0 = Date.parse('2026-11-28T20:00:00Z');
const HOUR = 3600_000;
const DEVICES = Array.from({ length: 12 }, (_, i) => `d${i}`);
/** The canary: d0..d2 switch to 2.0.0 at T0 + 25h 20m; the rest stay on 1.0.0. */
const SWITCH = T0 + 25 * HOUR + 20 * 60_000;
const END = T0 + 32 * HOUR;

function open(): { store: Store; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-gate-data-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
  for (const v of ['1.0.0', '2.0.0']) registerVersion(store.db, 'vib', v, { features: FEATURES, reference: REFERENCE });
  // Windows every 10 minutes at :03, :13, ... from T0 to END (crossing a whole UTC day), stored as ingest stores them.
  const rand = seeded(7);
  for (const [i, d] of DEVICES.entries()) {
    const ws: SeqWindow[] = [];
    for (let t = T0 + 3 * 60_000, seq = 1; t < END; t += 10 * 60_000, seq++) {
      const version = i < 3 && t >= SWITCH ? '2.0.0' : '1.0.0';
      const w = sampleWindow({ model: 'vib', version, start: t, lengthSec: 600 }, FEATURES, REFERENCE, 10 + Math.floor(rand() * 30), {
        numeric: { temp: normal(rand, version === '2.0.0' ? 6 : 5, 1.5), load: normal(rand, 4, 2) },
        outputs: { score: rand },
        latencyMs: () => 0.5 + rand() * (i === 1 ? 200 : 20),
        errors: { INFERENCE_FAILED: version === '2.0.0' ? 0.1 : 0.03, INVALID_INPUT: 0.02, OVERLOADED: 0.01 },
      }, rand);
      ws.push({ ...w, seq });
    }
    store.telemetry.putWindows(d, ws, new Date(END));
  }
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const iso = (ms: number) => new Date(ms).toISOString();
const q = (version: string, devices: string[], from: number, to: number): GroupQuery => ({ model: 'vib', version, devices: new Set(devices), from: iso(from), to: iso(to) });

/** Equal in every field; latency sums (floats added in another order) within 1e-9 relative. */
function assertSame(a: GroupStats, b: GroupStats, what: string): void {
  assert.equal(a.windows, b.windows, `${what}: windows`);
  assert.deepEqual([...a.reportingDevices].sort(), [...b.reportingDevices].sort(), `${what}: devices`);
  assert.equal(a.count, b.count, `${what}: count`);
  assert.equal(a.modelErrors, b.modelErrors, `${what}: model errors`);
  assert.deepEqual(a.answered?.counts, b.answered?.counts, `${what}: answered latency buckets`);
  const [x, y] = [a.answered?.sumMs ?? 0, b.answered?.sumMs ?? 0];
  assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)), `${what}: answered sumMs ${x} vs ${y}`);
  assert.deepEqual(a.outputs, b.outputs, `${what}: outputs`);
  assert.deepEqual(a.features, b.features, `${what}: features`);
}

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
test('rollup gate numbers equal the window-merged ones for any device set and range edges', () => {
  const h = open();
  try {
    const windows = new WindowGateData(h.store.db);
    const rollups = new RollupGateData(h.store);
    const canary = DEVICES.slice(0, 3);
    const control = DEVICES.slice(3);
    const cases: Array<[string, GroupQuery]> = [
      ['control, whole hours', q('1.0.0', control, T0 + HOUR, T0 + 5 * HOUR)],
      ['control, both edges partial', q('1.0.0', control, T0 + 35 * 60_000, T0 + 6 * HOUR + 17 * 60_000)],
      ['control, a whole UTC day inside', q('1.0.0', control, T0 + 2 * HOUR + 1, END)],
      ['control, within one hour', q('1.0.0', control, T0 + 3 * HOUR + 5 * 60_000, T0 + 3 * HOUR + 40 * 60_000)],
      ['a few devices, partial edges', q('1.0.0', ['d4', 'd9'], T0 + 50 * 60_000, T0 + 29 * HOUR + 1)],
      ['canary from its switch to now', q('2.0.0', canary, SWITCH, END + 1)],
      ['canary, the judge\'s control before the wave', q('1.0.0', canary, SWITCH - 4 * HOUR, SWITCH)],
      ['control during the canary', q('1.0.0', control, SWITCH, END + 1)],
      ['an empty range', q('1.0.0', control, T0 + HOUR, T0 + HOUR)],
      ['no devices', q('1.0.0', [], T0, END)],
      ['devices that never ran the version', q('2.0.0', control, T0, END)],
    ];
    for (const [what, query] of cases) assertSame(rollups.stats(query), windows.stats(query), what);
    // The paths taken: most of the fleet as fleet rows minus the others; edges whose hour holds windows
    // outside the range read raw windows; the canary's first hour holds no 2.0.0 window before its switch.
    const edges = q('1.0.0', control, T0 + 35 * 60_000, T0 + 6 * HOUR + 17 * 60_000);
    const fresh = new RollupGateData(h.store);
    fresh.stats(edges);
    assert.equal(fresh.lastTrace.via, 'fleet-minus-others');
    assert.ok(fresh.lastTrace.rawWindows > 0 && fresh.lastTrace.rawWindows < 2 * 6 * control.length);
    // The merged edges are kept while their windows stay the same; a late window into an edge is counted.
    fresh.stats(edges);
    assert.equal(fresh.lastTrace.rawWindows, 0);
    const late = sampleWindow({ model: 'vib', version: '1.0.0', start: T0 + 50 * 60_000, lengthSec: 60 }, FEATURES, REFERENCE, 40, { errors: { INFERENCE_FAILED: 0.5 } }, seeded(3));
    h.store.telemetry.putWindows('d5', [{ ...late, seq: 10_000 }], new Date(END));
    assertSame(fresh.stats(edges), windows.stats(edges), 'after a late window into the first edge');
    assert.ok(fresh.lastTrace.rawWindows > 0);
    rollups.stats(q('1.0.0', ['d4', 'd9'], T0 + HOUR, T0 + 5 * HOUR));
    assert.deepEqual(rollups.lastTrace, { via: 'devices', rawWindows: 0 });
    rollups.stats(q('2.0.0', canary, SWITCH, END + 1)); // the canary is every 2.0.0 device: its fleet rows alone
    assert.deepEqual(rollups.lastTrace, { via: 'fleet-minus-others', rawWindows: 0 });
    const s = rollups.stats(q('1.0.0', control, T0, END));
    assert.equal(s.reportingDevices.size, control.length);
    assert.ok(s.count > 0 && s.modelErrors > 0 && s.outputs.get('score')?.length === 6 && s.features.get('temp')?.length === 12);
  } finally {
    h.close();
  }
});

test('after retention deleted the early raw windows the rollups still give the gates every hour', () => {
  const h = open();
  try {
    const windows = new WindowGateData(h.store.db);
    const cutoff = T0 + 10 * HOUR;
    const before = windows.stats(q('1.0.0', DEVICES, T0 + 2 * HOUR, T0 + 14 * HOUR));
    assert.ok(h.store.stored.expireWindows(new Date(cutoff)) > 0);
    const rollups = new RollupGateData(h.store, { rawFrom: () => cutoff });
    // Hour-aligned: exactly what the windows gave before they expired (the window-based one now misses them).
    assertSame(rollups.stats(q('1.0.0', DEVICES, T0 + 2 * HOUR, T0 + 14 * HOUR)), before, 'aligned range after expiry');
    assert.ok(windows.stats(q('1.0.0', DEVICES, T0 + 2 * HOUR, T0 + 14 * HOUR)).count < before.count);
    // A partial first hour whose raw windows may be gone is taken whole from its rollup (from rounded down).
    assertSame(rollups.stats(q('1.0.0', DEVICES, T0 + 2 * HOUR + 25 * 60_000, T0 + 14 * HOUR)), before, 'partial expired hour taken whole');
    assert.equal(rollups.lastTrace.rawWindows, 0);
    // A partial edge after the cutoff still reads its raw windows and stays exact.
    const late = q('1.0.0', DEVICES, cutoff + HOUR + 25 * 60_000, cutoff + 3 * HOUR);
    assertSame(rollups.stats(late), windows.stats(late), 'partial hour after the cutoff');
    assert.ok(rollups.lastTrace.rawWindows > 0);
    // A first hour expired up to the cutoff: the windows before the cutoff are gone, so the hour's rollup
    // (which has them) is not used; the windows after `from` are all there.
    const mid = cutoff + 2 * HOUR + 35 * 60_000;
    assert.ok(h.store.stored.expireWindows(new Date(mid)) > 0);
    const partly = new RollupGateData(h.store, { rawFrom: () => mid });
    const after = q('1.0.0', DEVICES, mid + 5 * 60_000, cutoff + 5 * HOUR);
    assertSame(partly.stats(after), windows.stats(after), 'first hour partly expired');
  } finally {
    h.close();
  }
});
}
