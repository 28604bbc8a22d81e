// The incremental rollup update stores, byte for byte, what the plain definition gives (rollups-writer.ts):
// per batch, the windows summed into fresh values per hour (the day: the hours' sum), the stored row
// added, then encoded. Batches with errors, labels and confidence or neither, several hours and a day
// boundary, resends, on both database backends; each row's span (its first window's start, last one's end). And the ingest bench's switch that turns the update off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeqWindow, SummaryWindow } from '@edgefleet/shared';
import { Store } from './index.js';
import { spanIn, spanOut } from './rollups-writer.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { layoutOf } from '../rollups/layout.js';
import { addStored, addValues, addWindow, emptyValues, type RollupValues } from '../rollups/values.js';
import { encodeDist, encodeLat, encodeMom, encodePerf } from '../rollups/blobs.js';
import { TEMP_MODE_FEATURES, normal, registerVersion, sampleWindow, seeded, tempModeReference } from '../rollups/testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

const FEATURES = TEMP_MODE_FEATURES;
const REFERENCE = tempModeReference('c'.repeat(64));
const TASK = { kind: 'classification' as const, output: 'score', classes: ['no', 'yes'], scores: 'probability' as const };
const LAYOUT = layoutOf({ features: FEATURES, reference: REFERENCE, task: TASK });
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-29T21:00:00Z');

/** grain, start, device, counts, errors, blobs (hex), then the span (first window start, last window end). */
type Row = [number, number, string, number, number, number, number, number, string, string, string, string, string | null, number | null, number | null];

/** The rows the plain definition stores for `batches` applied in order (key: grain|start|device). */
function expectedRows(batches: Array<{ deviceId: string; windows: SummaryWindow[] }>): Map<string, Row> {
  const rows = new Map<string, { grain: number; start: number; deviceId: string; v: RollupValues | null; enc: Row | null }>();
  for (const { deviceId, windows } of batches) {
    const hours = new Map<number, RollupValues>();
    for (const w of windows) {
      const t = Date.parse(w.start);
      const h = t - (t % HOUR);
      if (!hours.has(h)) hours.set(h, emptyValues(LAYOUT));
      addWindow(hours.get(h) as RollupValues, LAYOUT, w);
    }
    const days = new Map<number, RollupValues>();
    for (const [h, v] of hours) {
      const d = h - (h % DAY);
      if (!days.has(d)) days.set(d, emptyValues(LAYOUT));
      addValues(days.get(d) as RollupValues, v);
    }
    for (const [grain, m] of [[3600, hours], [86_400, days]] as const) {
      for (const [start, v] of m) {
        const key = `${grain}|${start}|${deviceId}`;
        const old = rows.get(key)?.enc;
        if (old) {
          addStored(v, { windows: old[3], count: old[4], errModel: old[5], errInput: old[6], errLoad: old[7], errors: old[8], dist: hex(old[9]), mom: hex(old[10]), lat: hex(old[11]), perf: old[12] === null ? null : hex(old[12]), firstMs: old[13] ?? undefined, lastMs: old[14] ?? undefined }, { dist: true, mom: true, lat: true });
        }
        const perf = encodePerf(v.perf);
        const enc: Row = [grain, start, deviceId, v.windows, v.count, v.errModel, v.errInput, v.errLoad, JSON.stringify(v.errors), unhex(encodeDist(v.dist)), unhex(encodeMom(v.mom)), unhex(encodeLat(v.lat)), perf ? unhex(perf) : null, spanOut(v.firstMs), spanOut(v.lastMs)];
        rows.set(key, { grain, start, deviceId, v, enc });
      }
    }
  }
  return new Map([...rows].map(([k, r]) => [k, r.enc as Row]));
}

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const unhex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/** Batches of 1-6 windows of three devices over 5 hours across midnight; some windows carry labels and confidence. */
function batches(): Array<{ deviceId: string; windows: SeqWindow[] }> {
  const rand = seeded(47);
  const out: Array<{ deviceId: string; windows: SeqWindow[] }> = [];
  const seqs = new Map<string, number>();
  for (let t = T0; t < T0 + 5 * HOUR; t += 25 * 60_000) {
    for (const d of ['d0', 'd1', 'd2']) {
      const windows: SeqWindow[] = [];
      const n = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) {
        const w = sampleWindow({ model: 'cls', version: '1.0.0', start: t + i * 7 * 60_000 }, FEATURES, REFERENCE, 3 + Math.floor(rand() * 30), {
          numeric: { temp: normal(rand, 5, 2) },
          categorical: { mode: () => (['idle', 'run', 'stop', 'new'] as const)[Math.floor(rand() * 4)] as string },
          outputs: { score: rand },
          latencyMs: () => 1 + rand() * 50,
          errors: d === 'd2' ? {} : { INFERENCE_FAILED: 0.05, INVALID_INPUT: 0.03 },
        }, rand);
        if (d === 'd1' && rand() < 0.5) {
          const c = [Math.floor(rand() * 5), Math.floor(rand() * 3), Math.floor(rand() * 2), Math.floor(rand() * 5)];
          w.feedback = { labelled: c.reduce((a, b) => a + b, 0), correct: (c[0] as number) + (c[3] as number), confusion: c };
          w.confidence = { n: w.count, sum: w.count * rand() };
        }
        const seq = (seqs.get(d) ?? 0) + 1;
        seqs.set(d, seq);
        windows.push({ ...w, seq });
      }
      out.push({ deviceId: d, windows });
    }
  }
  return out;
}

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

/** The stored rows in the shape expectedRows gives. */
function storedRows(store: Store): Row[] {
  const got = store.db.prepare(
    'SELECT grain, start, device_id, windows, count, err_model, err_input, err_load, errors, dist, mom, lat, perf, first_ms, last_ms FROM rollups ORDER BY grain, start, device_id',
  ).raw(true).all() as unknown[][];
  return got.map((g) => [Number(g[0]), Number(g[1]), g[2] as string, Number(g[3]), Number(g[4]), Number(g[5]), Number(g[6]), Number(g[7]), g[8] as string, unhex(g[9] as Uint8Array), unhex(g[10] as Uint8Array), unhex(g[11] as Uint8Array), g[12] === null ? null : unhex(g[12] as Uint8Array), spanIn(g[13]) ?? null, spanIn(g[14]) ?? null]);
}

function assertRows(store: Store, applied: Array<{ deviceId: string; windows: SummaryWindow[] }>): void {
  const want = expectedRows(applied);
  const got = storedRows(store);
  assert.equal(got.length, want.size);
  for (const row of got) assert.deepEqual(row, want.get(`${row[0]}|${row[1]}|${row[2]}`), `row ${row[0]}|${row[1]}|${row[2]}`);
}

function suite(): void {
  test('a store opened with rollupsOnIngest false (the ingest bench\'s baseline) stores windows and no rollups', () => {
    for (const rollupsOnIngest of [false, undefined]) {
      const dir = mkdtempSync(join(tmpdir(), 'ef-rollup-writer-'));
      const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database(), rollupsOnIngest });
      try {
        registerVersion(store.db, 'cls', '1.0.0', { features: FEATURES, reference: REFERENCE });
        const bs = batches().slice(0, 6);
        store.telemetry.putWindowsMany(bs, new Date(T0));
        const count = (table: string) => Number(store.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck(true).get());
        assert.equal(count('device_windows'), bs.reduce((a, b) => a + b.windows.length, 0));
        if (rollupsOnIngest === false) assert.equal(count('rollups'), 0);
        else assert.ok(count('rollups') > 0, 'the default updates rollups');
      } finally {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('each hour and day row holds exactly the bytes of summing its windows into fresh values and adding the stored row', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-rollup-writer-'));
    const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
    try {
      registerVersion(store.db, 'cls', '1.0.0', { features: FEATURES, reference: REFERENCE, task: TASK } as Parameters<typeof registerVersion>[3]);
      const bs = batches();
      const at = new Date(T0);
      // Two devices' batches per transaction (as the ingest tick writes them), then every batch resent.
      for (let i = 0; i < bs.length; i += 2) store.telemetry.putWindowsMany(bs.slice(i, i + 2), at);
      for (const b of bs) store.telemetry.putWindows(b.deviceId, [...b.windows], at);
      const got = storedRows(store);
      const want = expectedRows(bs);
      assert.equal(got.length, want.size);
      assert.ok([...want.values()].some((r) => r[12] !== null), 'some rollups carry labels and confidence');
      assert.ok([...want.values()].some((r) => r[0] === 86_400 && r[3] > 10), 'day rows sum several batches');
      assert.ok([...want.values()].every((r) => r[13] !== null && r[14] !== null && r[13] < r[14]), 'every row has a span');
      for (const row of got) assert.deepEqual(row, want.get(`${row[0]}|${row[1]}|${row[2]}`), `row ${row[0]}|${row[1]}|${row[2]}`);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two hubs writing the same rows, and a transaction rolled back after its rollups: every row stays exact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-rollup-writer-'));
    const database = backend.database();
    const a = Store.open(dir, HUB_MIGRATIONS, { database });
    const b = Store.open(dir, HUB_MIGRATIONS, { database });
    try {
      registerVersion(a.db, 'cls', '1.0.0', { features: FEATURES, reference: REFERENCE, task: TASK } as Parameters<typeof registerVersion>[3]);
      const bs = batches();
      const at = new Date(T0);
      const applied: typeof bs = [];
      bs.forEach((batch, i) => {
        if (i % 7 === 3) {
          // Stored, then rolled back with the transaction around it: nothing of it may stay in the rows.
          assert.throws(() => a.db.transaction(() => {
            a.telemetry.putWindowsMany([batch], at);
            throw new Error('rolled back');
          })(), /rolled back/);
        }
        // Most batches through `a`, every fourth through `b` (a second hub on the same database; devices rotate).
        (i % 4 === 1 ? b : a).telemetry.putWindowsMany([batch], at);
        applied.push(batch);
      });
      assertRows(a, applied);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
