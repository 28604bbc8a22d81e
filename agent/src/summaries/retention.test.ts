import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { windowTotals, type SummaryWindow } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { OutboxSender } from '../sync/outbox.js';
import { syncMigration } from '../sync/sync-store.js';
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
    assert.deepEqual(r.dropped, { windows: 0, outbox: 0, predictions: 0, unacked: 0, unackedPredictions: 0, events: 0 });
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
    assert.deepEqual(r1.dropped, { windows: 0, outbox: 0, predictions: 0, unacked: 0, unackedPredictions: 0, events: 0 });
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
    const r = new Retention({ db: t.db, budgetBytes: Math.floor(store.sizeBytes().total / 4), clock, inFlightSeq: () => inflight }).enforce();
    assert.ok(r.mergedOutbox.hour > 0, 'the entries after them were merged');
    assert.deepEqual(store.outbox(0, inflight).map((e) => JSON.stringify(e)), before);
  });

  it('drops entries in flight only as the oldest, never rewritten, and counts them apart from unsent ones', () => {
    const inflight = 60;
    const before = new Map(store.outbox(0, inflight).map((e) => [e.seq, JSON.stringify(e)]));
    const r = new Retention({ db: t.db, budgetBytes: 1500, clock, inFlightSeq: () => inflight }).enforce();
    const left = store.outbox(0, 1e6).filter((e) => e.seq <= inflight);
    for (const e of left) assert.equal(JSON.stringify(e), before.get(e.seq), `entry ${e.seq} rewritten`);
    assert.equal(r.dropped.unacked, inflight - left.length);
    assert.equal(r.dropped.unacked, inflight, 'the oldest went first');
    const ev = outboxEvents(store).find((e) => e.kind === 'backlog_dropped');
    assert.equal(ev?.data.droppedUnacked, r.dropped.unacked);
    assert.equal(ev?.data.droppedOutbox, r.dropped.outbox);
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

  it('carries the counts of its own dropped records on: every loss reaches the hub however long the box is offline', () => {
    const ret = new Retention({ db: t.db, budgetBytes: 3000, clock });
    ret.enforce();
    const m = tabularManifest();
    const rec = new SummaryRecorder({ sink: store, manifestOf: () => m, clock });
    let recorded = total;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 20; i++) {
        clock.t += 60_000;
        rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }], [], 1);
        rec.flush();
        recorded += 2;
      }
      ret.enforce(); // the previous pass's record is among the oldest entries now
    }
    rec.stop();
    const records = outboxEvents(store).filter((e) => e.kind === 'backlog_dropped');
    assert.ok(records.length < 6, `earlier records were dropped (${records.length} left) and their counts carried on`);
    const dropped = records.reduce((n, e) => n + e.data.droppedPredictions! + e.data.droppedUnackedPredictions!, 0);
    assert.equal(windowTotals(outboxWindows(store)).count + dropped, recorded, 'unsent + reported dropped = recorded');
  });

  it('refuses a bad budget with a clear error', () => {
    assert.throws(() => new Retention({ db: t.db, budgetBytes: 0 }), /invalid summaries budget 0: expected a positive integer/);
  });
});

/** The hub's telemetry store: (device, seq) -> window, INSERT OR IGNORE (hub/src/store/telemetry-repo.ts); returns what to ack. */
function fakeHub() {
  const stored = new Map<number, SummaryWindow>();
  const take = (payload: string): Array<[number, number]> => {
    const p = JSON.parse(payload) as { windows?: Array<SummaryWindow & { seq: number }>; events?: Array<{ seq: number }> };
    for (const w of p.windows ?? []) if (!stored.has(w.seq)) stored.set(w.seq, w);
    return [...(p.windows ?? []), ...(p.events ?? [])].map((x) => [x.seq, x.seq]);
  };
  return { stored, take, count: () => windowTotals([...stored.values()]).count };
}

// docs/agent.md "Outbox": a window handed to the link may be stored on the hub even though no ack came
// (acks are QoS 0). After a restart, or a reconnect, the sender's in-memory record of it is gone;
// retention must still never merge it (the hub ignores a seq it holds, so the merged-in windows would
// be lost), and when it drops it the event says it may have reached the hub.
describe('Retention with the real outbox sender across a restart', () => {
  let t: TempDb;
  let store: SummaryStore;
  let clock: ManualClock;
  let total: number;
  const hub = fakeHub();
  beforeEach(async () => {
    t = tempDb();
    syncMigration.up(t.db); // as in agent.db
    clock = new ManualClock(DAY0);
    store = new SummaryStore(t.db, () => clock.now());
    total = fill(store, clock);
    clock.t = DAY0 + 3 * 86_400_000;
    hub.stored.clear();
    // Run 1: one message (50 windows; the clock is frozen, so the rate limit lets no second one go)
    // is stored by the hub; its ack is lost as the link drops, and the agent restarts.
    const run1 = new OutboxSender(t.db, 'box', async (_k, p) => { hub.take(p); }, { batchSize: 50, messagesPerSec: 1 }, () => clock.now());
    run1.resume();
    await waitFor('the first message stored by the hub', () => hub.stored.size === 50 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
    run1.pause();
  });
  afterEach(() => t.close());

  /** Run 2: a new sender (nothing in flight), retention over `budget` while offline, then a reconnect that drains. */
  async function restartOverBudget(budget: number) {
    const run2: OutboxSender = new OutboxSender(t.db, 'box', async (_k, p) => { run2.onAck(hub.take(p)); }, { messagesPerSec: 1000 }, () => clock.now());
    const sent = new Map(store.outbox(0, 50).map((e) => [e.seq, JSON.stringify(e)]));
    const r = new Retention({ db: t.db, budgetBytes: budget, clock, inFlightSeq: () => run2.inFlightSeq() }).enforce();
    const left = store.outbox(0, 1e6).filter((e) => e.seq <= 50);
    const kept = left.map((e) => e.seq);
    const rewritten = left.filter((e) => JSON.stringify(e) !== sent.get(e.seq)).map((e) => e.seq);
    const events = outboxEvents(store);
    run2.resume();
    await waitFor('the backlog acked', () => run2.pending() === 0 || undefined, { intervalMs: 5, timeoutMs: 10_000 });
    run2.pause();
    return { r, kept, rewritten, events };
  }

  it('never merges windows sent before the restart: the hub gets every prediction exactly once', async () => {
    const { r, kept, rewritten } = await restartOverBudget(60_000);
    assert.ok(r.mergedOutbox.hour > 0 && r.after <= 60_000, `compacted within budget: ${JSON.stringify(r)}`);
    assert.deepEqual(rewritten, [], 'the windows the hub may hold are as they were sent');
    assert.equal(kept.length, 50);
    assert.equal(r.dropped.outbox, 0);
    assert.equal(hub.count(), total, 'hub total = predictions recorded');
  });

  it('over budget even so, drops the windows the hub may hold first, and says they may not be lost', async () => {
    const { r, kept, rewritten, events } = await restartOverBudget(20_000);
    assert.ok(r.after <= 20_000 && r.dropped.unacked > 0, `some sent windows dropped: ${JSON.stringify(r)}`);
    assert.deepEqual(rewritten, [], 'those kept are as they were sent');
    assert.equal(kept[0], r.dropped.unacked + 1, 'the oldest went first');
    const ev = events.find((e) => e.kind === 'backlog_dropped');
    assert.equal(ev?.data.droppedUnacked, r.dropped.unacked);
    assert.equal(ev?.data.droppedUnackedPredictions, r.dropped.unackedPredictions);
    assert.equal(ev?.data.droppedPredictions, r.dropped.predictions);
    assert.equal(hub.count() + r.dropped.predictions, total, 'only the unsent windows dropped are lost');
  });
});
