import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { windowTotals, type SummaryWindow } from '@edgefleet/shared';
import { SummaryRecorder } from './recorder.js';
import { Retention } from './retention.js';
import { SummaryStore } from './store.js';
import { ManualClock, tabularManifest, tempDb, type TempDb } from './fixtures.js';

const DAY0 = Date.UTC(2026, 0, 1, 22, 0, 0); // 22:00 .. 01:00 the next day: crosses a day boundary
const MINUTES = 180;

/** Three hours of minute windows from real records: window i has i % 7 + 1 predictions. */
function fill(store: SummaryStore, clock: ManualClock): number {
  const m = tabularManifest();
  const rec = new SummaryRecorder({ sink: store, manifestOf: () => m, clock });
  let total = 0;
  for (let i = 0; i < MINUTES; i++) {
    clock.t = DAY0 + i * 60_000 + 500;
    const n = (i % 7) + 1;
    const data = Float32Array.from({ length: n * 3 }, (_, k) => ((k + i) % 11) / 2);
    rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [n, 3], data }], [], 0.5 + (i % 5));
    if (i % 13 === 0) rec.recordError('tab', '1.0.0', 'INVALID_INPUT', 0.1);
    total += n;
  }
  rec.stop();
  return total;
}

/** Totals without the number of windows (which merging changes on purpose). */
function totals(ws: SummaryWindow[]): Omit<ReturnType<typeof windowTotals>, 'windows'> {
  const { windows: _n, ...t } = windowTotals(ws) as ReturnType<typeof windowTotals> & { windows?: number };
  return t;
}
function tableWindows(store: SummaryStore): SummaryWindow[] {
  return store.listWindows().map((r) => r.window);
}
function outboxWindows(store: SummaryStore): SummaryWindow[] {
  return store.outbox(0, 1e6).filter((e) => e.kind === 'window').map((e) => e.payload as SummaryWindow);
}
function outboxEvents(store: SummaryStore): { kind: string; data: Record<string, number> }[] {
  return store.outbox(0, 1e6).filter((e) => e.kind === 'event').map((e) => e.payload as { kind: string; data: Record<string, number> });
}

describe('Retention', () => {
  let t: TempDb;
  let store: SummaryStore;
  let clock: ManualClock;
  let total: number;
  beforeEach(() => {
    t = tempDb();
    clock = new ManualClock(DAY0);
    store = new SummaryStore(t.db, () => clock.now());
    total = fill(store, clock);
    clock.t = DAY0 + 3 * 86_400_000; // days later: every period has ended
  });
  afterEach(() => t.close());

  it('does nothing under budget', () => {
    const size = store.sizeBytes().total;
    const r = new Retention({ db: t.db, budgetBytes: size + 1, clock }).enforce();
    assert.deepEqual(r.mergedWindows, { hour: 0, day: 0 });
    assert.equal(tableWindows(store).length, MINUTES);
    assert.equal(outboxEvents(store).length, 0);
  });

  it('merges minute windows into hourly ones with exact totals, and records backlog_compacted', () => {
    const tableWindowsBefore = tableWindows(store);
    const beforeOut = totals(outboxWindows(store));
    assert.equal(totals(tableWindowsBefore).count, total);
    const size = store.sizeBytes().total;
    const r = new Retention({ db: t.db, budgetBytes: Math.floor(size / 4), clock }).enforce();
    assert.ok(r.after <= Math.floor(size / 4), `under budget after: ${r.after}`);
    assert.deepEqual(r.dropped, { windows: 0, outbox: 0, predictions: 0 });
    const rows = store.listWindows();
    assert.ok(rows.some((x) => x.resolution === 'hour'), 'some hourly rows');
    for (const x of rows.filter((x) => x.resolution === 'hour')) {
      assert.equal(x.window.lengthSec, 3600);
      assert.equal(Date.parse(x.window.start) % 3_600_000, 0);
    }
    assert.deepEqual(totals(tableWindows(store)), totals(tableWindowsBefore));
    const out = outboxWindows(store);
    assert.deepEqual(totals(out), beforeOut);
    const ev = outboxEvents(store);
    assert.deepEqual(ev.map((e) => e.kind), ['backlog_compacted']);
    assert.equal(ev[0]!.data.mergedEntries, r.mergedOutbox.hour);
    // outbox stays oldest-first
    const starts = out.map((w) => Date.parse(w.start));
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  });

  it('goes to daily windows before dropping; drops only past that, and records the counts', () => {
    const size = store.sizeBytes().total;
    // 2 days x (table + outbox) = 4 daily windows (+ events) fit in this; 3 hours x 2 = 6 hourly do not
    // (merged windows are larger than the average minute one: each also carries errorLatency)
    const avg = size / (2 * MINUTES);
    const r1 = new Retention({ db: t.db, budgetBytes: Math.floor(avg * 6.8), clock }).enforce();
    assert.ok(r1.mergedWindows.day > 0 || r1.mergedOutbox.day > 0, 'reached daily resolution');
    assert.deepEqual(r1.dropped, { windows: 0, outbox: 0, predictions: 0 });
    assert.equal(windowTotals(outboxWindows(store)).count, total);
    assert.equal(windowTotals(tableWindows(store)).count, total);
    // now a budget nothing fits in: the oldest go, and the event says how many predictions
    const r2 = new Retention({ db: t.db, budgetBytes: 1500, clock }).enforce();
    assert.ok(r2.dropped.outbox > 0);
    const ev = outboxEvents(store).filter((e) => e.kind === 'backlog_dropped');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.data.droppedPredictions, r2.dropped.predictions);
    assert.equal(windowTotals(outboxWindows(store)).count + r2.dropped.predictions, total, 'kept + dropped = recorded');
  });

  it('never rewrites outbox entries already in flight', () => {
    const inflight = 60;
    const before = store.outbox(0, inflight).map((e) => JSON.stringify(e));
    new Retention({ db: t.db, budgetBytes: 1500, clock, inFlightSeq: () => inflight }).enforce();
    assert.deepEqual(store.outbox(0, inflight).map((e) => JSON.stringify(e)), before);
  });

  it('holds the budget after every write through writeWithin, without the timer', () => {
    const budget = Math.floor(store.sizeBytes().total / 4);
    const ret = new Retention({ db: t.db, budgetBytes: budget, clock });
    const m = tabularManifest();
    const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => ret.writeWithin(() => store.writeWindows(ws)) }, manifestOf: () => m, clock });
    const start = clock.t;
    let sizes = 0;
    for (let i = 0; i < MINUTES; i++) {
      clock.t = start + i * 60_000 + 500;
      rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) }], [], 1);
      rec.flush();
      const size = store.sizeBytes().total;
      assert.ok(size <= budget, `minute ${i}: ${size} bytes stored, budget ${budget}`);
      sizes++;
    }
    rec.stop();
    assert.equal(sizes, MINUTES);
    const events = outboxEvents(store);
    assert.ok(events.some((e) => e.kind === 'backlog_compacted'));
    const dropped = events.filter((e) => e.kind === 'backlog_dropped').reduce((n, e) => n + e.data.droppedPredictions!, 0);
    assert.equal(windowTotals(outboxWindows(store)).count + dropped, total + MINUTES, 'unsent + dropped = recorded');
  });

  it('refuses a bad budget with a clear error', () => {
    assert.throws(() => new Retention({ db: t.db, budgetBytes: 0 }), /invalid summaries budget 0: expected a positive integer/);
  });
});
