import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SummaryWindow, parseWire, windowTotals } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';
import { SummaryRecorder } from './recorder.js';
import { SummaryStore } from './store.js';
import { ManualClock, audioManifest, tabularManifest, tempDb } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Brute force: bin by linear scan, [under, b0..b3, over] on edges 0..4 (last bin closed). */
function expectBin(x: number): number {
  const e = [0, 1, 2, 3, 4];
  if (x < 0) return 0;
  if (x > 4) return 5;
  if (x === 4) return 4;
  for (let i = 0; i < 4; i++) if (x >= e[i]! && x < e[i + 1]!) return i + 1;
  throw new Error('unreachable');
}

function tensor(name: string, rows: number[][]): RecordedTensor {
  return { name, datatype: 'FP32', shape: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) };
}

describe('SummaryRecorder', () => {
  const tdb = tempDb();
  after(() => tdb.close());

  it('counts exactly the values sent, per bin, category, output and error code', () => {
    const manifest = tabularManifest();
    const clock = new ManualClock(T0 + 1000);
    const written: SummaryWindow[] = [];
    const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => { written.push(...ws); } }, manifestOf: () => manifest, clock });
    // values exactly representable in FP32, including the edges themselves and out-of-range ones
    const value = fc.oneof(fc.integer({ min: -8, max: 40 }).map((k) => k / 4), fc.constant(Number.NaN));
    const batches = fc.sample(
      fc.array(fc.tuple(value, value, fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(Number.NaN)), fc.double({ min: -0.5, max: 1.5, noNaN: true })), { minLength: 1, maxLength: 20 }),
      { seed: 42, numRuns: 50 },
    );
    const want = { count: 0, f0: [0, 0, 0, 0, 0, 0], f1: [0, 0, 0, 0, 0, 0], nans0: 0, nans1: 0, cat: { a: 0, b: 0, c: 0 } as Record<string, number>, other: 0, catNulls: 0, y: [0, 0, 0, 0] };
    for (const b of batches) {
      const x = tensor('x', b.map(([a, c, k]) => [a, c, k]));
      const y = tensor('y', b.map((r) => [0, r[3]]));
      rec.record('tab', '1.0.0', [x], [y], 1.5);
      want.count += b.length;
      for (const [a, c, k] of b) {
        if (Number.isNaN(a)) want.nans0++; else want.f0[expectBin(a)]!++;
        if (Number.isNaN(c)) want.nans1++; else want.f1[expectBin(c)]!++;
        if (Number.isNaN(k)) want.catNulls++;
        else if (k < 3) want.cat[['a', 'b', 'c'][k]!]!++;
        else want.other++;
      }
      for (let i = 0; i < b.length; i++) {
        const v = (y.data as Float32Array)[i * 2 + 1]!;
        want.y[v < 0 ? 0 : v > 1 ? 3 : v === 1 ? 2 : v < 0.5 ? 1 : 2]!++;
      }
    }
    rec.recordError('tab', '1.0.0', 'INVALID_INPUT', 0.2);
    rec.recordError('tab', '1.0.0', 'INVALID_INPUT', 0.2);
    rec.recordError('tab', '1.0.0', 'OVERLOADED', 0.1);
    rec.stop();
    assert.equal(written.length, 1);
    const w = parseWire(SummaryWindow, written[0], 'window');
    assert.equal(w.start, '2026-01-01T12:00:00.000Z');
    assert.equal(w.lengthSec, 60);
    assert.equal(w.count, want.count);
    assert.deepEqual(w.errors, { INVALID_INPUT: 2, OVERLOADED: 1 });
    assert.equal(w.latency.counts.reduce((s, c) => s + c, 0), batches.length + 3);
    const t = windowTotals([w]);
    const hist = (arr: number[]) => ({ under: arr[0], counts: arr.slice(1, 5), over: arr[5] });
    const f0 = t.features.f0!, f1 = t.features.f1!, f2 = t.features.f2!;
    assert.ok(f0.kind === 'numeric' && f1.kind === 'numeric' && f2.kind === 'categorical');
    assert.deepEqual({ under: f0.under, counts: f0.counts, over: f0.over }, hist(want.f0));
    assert.deepEqual({ under: f1.under, counts: f1.counts, over: f1.over }, hist(want.f1));
    assert.equal(f0.nans, want.nans0);
    assert.equal(f1.nans, want.nans1);
    assert.equal(f0.n, want.count - want.nans0);
    assert.deepEqual(f2.counts, want.cat);
    assert.equal(f2.other, want.other);
    assert.equal(f2.nulls, want.catNulls);
    const y = t.outputs.y!;
    assert.deepEqual([y.under, ...(y.counts ?? []), y.over], want.y);
  });

  it('aligns windows to UTC, writes a window when it ends and the open one on stop, with outbox entries', () => {
    const manifest = tabularManifest();
    const clock = new ManualClock(T0 + 59_500);
    const store = new SummaryStore(tdb.db, () => clock.now());
    const rec = new SummaryRecorder({ sink: store, manifestOf: () => manifest, clock });
    rec.start();
    const x = tensor('x', [[1, 2, 0]]);
    rec.record('tab', '1.0.0', [x], [], 1);
    clock.t = T0 + 60_200; // next minute
    rec.record('tab', '1.0.0', [x], [], 1);
    rec.record('tab', '1.0.0', [x], [], 1);
    assert.equal(store.listWindows().length, 0, 'nothing is written on the request path');
    rec.tick();
    const first = store.listWindows();
    assert.deepEqual(first.map((r) => [r.window.start, r.window.count]), [['2026-01-01T12:00:00.000Z', 1]]);
    rec.stop();
    rec.stop(); // idempotent
    const all = store.listWindows();
    assert.deepEqual(all.map((r) => [r.window.start, r.window.count, r.resolution]), [
      ['2026-01-01T12:00:00.000Z', 1, 'minute'],
      ['2026-01-01T12:01:00.000Z', 2, 'minute'],
    ]);
    const out = store.outbox();
    assert.deepEqual(out.map((e) => [e.kind, (e.payload as SummaryWindow).count]), [['window', 1], ['window', 2]]);
  });

  it('summarises non-tabular models per input tensor, and unknown versions by count and latency only', () => {
    const manifest = audioManifest();
    const clock = new ManualClock(T0);
    const written: SummaryWindow[] = [];
    const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => { written.push(...ws); } }, manifestOf: (m) => (m === 'audio' ? manifest : undefined), clock, windowSec: 300 });
    const audio: RecordedTensor = { name: 'audio', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, Number.NaN]) };
    const sr: RecordedTensor = { name: 'sample_rate', datatype: 'INT64', shape: [], data: BigInt64Array.from([16000n]) };
    rec.record('audio', '1.0.0', [sr, audio], [{ name: 'energy', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([0.5]) }], 2);
    rec.record('other', '2.0.0', [audio], [], 2);
    rec.flush();
    const a = written.find((w) => w.model === 'audio')!;
    assert.equal(a.lengthSec, 300);
    assert.equal(a.count, 1);
    assert.deepEqual(a.inputs.map((i) => [i.name, i.moments.n, i.moments.mean, i.nans]), [['audio', 3, 2, 1], ['sample_rate', 1, 16000, 0]]);
    assert.deepEqual(a.outputs.map((o) => [o.name, o.moments.n, o.moments.mean]), [['energy', 1, 0.5], ['sr_out', 0, 0]]);
    const o = written.find((w) => w.model === 'other')!;
    assert.equal(o.count, 1);
    assert.deepEqual([o.features, o.inputs], [[], []]);
  });

  it('refuses a bad window length with a clear error', () => {
    assert.throws(() => new SummaryRecorder({ sink: { writeWindows() {} }, manifestOf: () => undefined, windowSec: 0 }), /window length 0 s: expected a positive integer/);
  });
});
