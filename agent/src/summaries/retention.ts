// Retention with a disk budget (issue 3 section 5): when the stored windows and
// the outbox exceed the budget, minute windows are merged into hourly ones,
// then hourly into daily ones (mergeWindows: totals stay exact), oldest first;
// outbox windows never sent are compacted the same way and a `backlog_compacted`
// event is recorded. Only when even that does not fit are the oldest windows
// dropped, and that is recorded as a `backlog_dropped` event with counts; events in the outbox are
// dropped with the windows around them, oldest first (an offline box records one such event per pass).
// Outbox windows that may be on the hub (docs/agent.md "Outbox") are never merged.
import type Database from 'better-sqlite3';
import type { SummaryWindow } from '@edgefleet/shared';
import { outboxSentSeq } from '../sync/sync-store.js';
import type { Clock } from './recorder.js';
import { mergeGroup, mergeableGroups, outboxSource, tableSource, type Row } from './retention-groups.js';
import { carryCompacted, carryDropped, takeUnsentEvents, type Compacted, type Dropped } from './retention-events.js';
import { INSERT_WINDOW, summaryBytes, type NewDeviceEvent, type Resolution } from './store.js';
import { inTransaction, prepared } from '../store/statements.js';

// Room kept for the event a stage records (its payload is a few hundred bytes): a stage compacts or
// drops down to budget - EVENT_ROOM, so the event it then writes does not push the store over budget.
const EVENT_ROOM = 1024;

export interface RetentionOptions {
  db: Database.Database;
  budgetBytes: number;
  clock?: Clock;
  /** How often start() enforces the budget (default 60 s). */
  intervalMs?: number;
  /**
   * Highest outbox seq handed to the link and not yet acked. Entries at or below it, or at or below
   * the durable mark of every seq ever sent (outboxSentSeq), may be on the hub: never rewritten.
   */
  inFlightSeq?: () => number;
  onError?: (err: unknown) => void;
  /**
   * Records an event in the agent's event log (which also queues it in the outbox), inside the
   * retention transaction. Without it the event goes to the outbox only.
   */
  emit?: (e: Omit<NewDeviceEvent, 'at'> & { at: string }) => void;
}

export interface RetentionReport {
  before: number;
  after: number;
  /** windows-table rows merged away into coarser rows, per target resolution */
  mergedWindows: { hour: number; day: number };
  /** outbox entries merged away */
  mergedOutbox: { hour: number; day: number };
  /**
   * windows: stored table rows; outbox/predictions: windows never sent (lost); unacked/unackedPredictions:
   * windows sent but not acked (lost only if the hub did not store them).
   */
  dropped: Dropped;
}


export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: Clock;
  // Bytes after the last pass plus what writeWithin added since (acks only shrink it; events
  // recorded elsewhere are counted at the next pass). undefined: not measured yet.
  private estimate: number | undefined;

  constructor(private readonly opts: RetentionOptions) {
    if (!(Number.isInteger(opts.budgetBytes) && opts.budgetBytes > 0)) {
      throw new Error(`invalid summaries budget ${String(opts.budgetBytes)}: expected a positive integer number of bytes`);
    }
    this.clock = opts.clock ?? { now: () => Date.now() };
  }

  /** A new budget (remote configuration), enforced from the next write or pass on. */
  setBudget(bytes: number): void {
    if (!(Number.isInteger(bytes) && bytes > 0)) throw new Error(`invalid summaries budget ${String(bytes)}: expected a positive integer number of bytes`);
    this.opts.budgetBytes = bytes;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.enforce();
      } catch (err) {
        this.opts.onError?.(err);
      }
    }, this.opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Runs `write` (returns the bytes it added) and, when the store may now be over budget, a pass,
   * in one transaction: no committed state holds more than the budget because of it. The timer
   * alone left a burst of closed windows over budget until its next pass (seen at 2.2x in
   * test/src/scenarios/offline-week.test.ts). Measuring the size reads every row, so it is done
   * only when the estimate says the budget may be exceeded.
   */
  writeWithin(write: () => number): void {
    inTransaction(this.opts.db, () => {
      const added = write();
      if (this.estimate !== undefined) this.estimate += added;
      if (this.estimate !== undefined && this.estimate <= this.opts.budgetBytes) return;
      try {
        this.enforce(); // its own savepoint: a failed pass rolls back alone and the windows stay written
      } catch (err) {
        this.estimate = undefined;
        this.opts.onError?.(err);
      }
    });
  }

  /** One pass, in one transaction. Does nothing while under budget. */
  enforce(): RetentionReport {
    const db = this.opts.db;
    const report = inTransaction(db, (): RetentionReport => {
      const size = this.size();
      const r: RetentionReport = {
        before: size, after: size,
        mergedWindows: { hour: 0, day: 0 }, mergedOutbox: { hour: 0, day: 0 },
        dropped: { windows: 0, outbox: 0, predictions: 0, unacked: 0, unackedPredictions: 0, events: 0 },
      };
      const budget = this.opts.budgetBytes;
      const now = this.clock.now();
      const room = Math.max(0, budget - EVENT_ROOM);
      const over = () => r.after > budget;
      for (const target of ['hour', 'day'] as const) {
        if (over()) r.mergedWindows[target] += this.compactTable(target, now, r, room);
        if (over()) {
          const before = r.after;
          const n = this.compactOutbox(target, now, r, room);
          r.mergedOutbox[target] += n;
          if (n > 0) {
            // Earlier unsent records of this resolution are folded into this one (retention-events.ts).
            const c: Compacted = { entries: n, passes: 1, since: undefined };
            r.after -= takeUnsentEvents(db, 'backlog_compacted', this.sentFloor(), (json) => carryCompacted(c, target, json));
            this.event(r, {
              kind: 'backlog_compacted',
              message: `outbox over its budget of ${budget} bytes: merged ${c.entries} unsent windows into ${target}ly ones (totals kept exact)${c.since ? ` in ${c.passes} passes since ${c.since}` : ''}`,
              data: { resolution: target, mergedEntries: c.entries, bytesBefore: before, bytesAfter: r.after, budgetBytes: budget, ...(c.since ? { passes: c.passes, since: c.since } : {}) },
            });
          }
        }
      }
      if (over()) this.drop(r, room);
      return r;
    });
    this.estimate = report.after;
    return report;
  }

  /**
   * Outbox seqs at or below this may be stored on the hub, acked or not: sent in this connection (in
   * flight) or ever before (the durable mark, kept across restarts and reconnects). The hub stores a
   * seq once (INSERT OR IGNORE), so windows merged into such a seq would never reach it.
   */
  private sentFloor(): number {
    return Math.max(outboxSentSeq(this.opts.db), this.opts.inFlightSeq?.() ?? 0);
  }

  private size(): number {
    return summaryBytes(this.opts.db).total;
  }

  private event(r: RetentionReport, e: Omit<NewDeviceEvent, 'at'>): void {
    const at = new Date(this.clock.now()).toISOString();
    const payload = JSON.stringify({ at, ...e });
    if (this.opts.emit) this.opts.emit({ ...e, at });
    else this.opts.db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', ?, ?)").run(payload, at);
    r.after += payload.length;
  }

  private compactTable(target: 'hour' | 'day', now: number, r: RetentionReport, budget: number): number {
    const db = this.opts.db;
    const finer: Resolution[] = target === 'hour' ? ['minute'] : ['minute', 'hour'];
    const del = prepared(db, 'DELETE FROM summary_windows WHERE id = ?');
    const ins = prepared(db, INSERT_WINDOW);
    let merged = 0;
    for (const g of mergeableGroups(db, tableSource(finer), target, now)) {
      if (r.after <= budget) break;
      const w = mergeGroup(g, target);
      const json = JSON.stringify(w);
      for (const row of g) {
        del.run(row.key);
        r.after -= row.json.length;
      }
      ins.run(w.model, w.version, Date.parse(w.start), w.lengthSec, target, w.count, json);
      r.after += json.length;
      merged += g.length - 1;
    }
    return merged;
  }

  private compactOutbox(target: 'hour' | 'day', now: number, r: RetentionReport, budget: number): number {
    const db = this.opts.db;
    const del = prepared(db, 'DELETE FROM outbox WHERE seq = ?');
    const upd = prepared(db, 'UPDATE outbox SET payload = ? WHERE seq = ?');
    let merged = 0;
    for (const g of mergeableGroups(db, outboxSource(this.sentFloor()), target, now)) {
      if (r.after <= budget) break;
      const w = mergeGroup(g, target);
      const json = JSON.stringify(w);
      // The merged window keeps the group's lowest seq, so the backlog stays oldest-first. It is above
      // sentFloor(): never sent, so the hub holds no window under it that would make it ignore this one.
      const keep = Math.min(...g.map((row) => row.key));
      for (const row of g) {
        if (row.key !== keep) del.run(row.key);
        r.after -= row.json.length;
      }
      upd.run(json, keep);
      r.after += json.length;
      merged += g.length - 1;
    }
    return merged;
  }

  /**
   * Last resort: drop the oldest windows (local table first, then outbox entries) and say so. The
   * oldest outbox windows are those sent but not acked, if any: dropped first, as the hub most likely
   * holds them already, and counted apart from the never-sent ones, which are certainly lost. Outbox
   * events go in seq order with the windows around them: a box that never reaches a hub records one
   * `backlog_dropped` per pass at its budget, and those would otherwise outgrow it.
   */
  private drop(r: RetentionReport, budget: number): void {
    const db = this.opts.db;
    const before = r.after;
    const local = db.prepare('SELECT id AS key, json FROM summary_windows ORDER BY start_ms, id').iterate() as IterableIterator<Row>;
    const delW = db.prepare('DELETE FROM summary_windows WHERE id = ?');
    const toDelete: number[] = [];
    for (const row of local) {
      if (r.after <= budget) break;
      toDelete.push(row.key);
      r.after -= row.json.length;
      r.dropped.windows++;
    }
    for (const id of toDelete) delW.run(id);
    let first: string | null = null;
    let last: string | null = null;
    if (r.after > budget) {
      const sent = this.sentFloor();
      const rows = db.prepare('SELECT seq AS key, kind, payload AS json FROM outbox ORDER BY seq').iterate() as IterableIterator<Row & { kind: 'window' | 'event' }>;
      const doomed: number[] = [];
      for (const row of rows) {
        if (r.after <= budget) break;
        doomed.push(row.key);
        r.after -= row.json.length;
        if (row.kind === 'event') {
          // An earlier pass's own record of what it dropped is not lost with it: its counts go into
          // this pass's record, so the hub learns every loss however long the box stays offline.
          if (!carryDropped(r.dropped, row.json, (s) => { if (first === null || s < first) first = s; })) r.dropped.events++;
          continue;
        }
        const w = JSON.parse(row.json) as SummaryWindow;
        if (row.key <= sent) {
          r.dropped.unacked++;
          r.dropped.unackedPredictions += w.count;
        } else {
          r.dropped.outbox++;
          r.dropped.predictions += w.count;
        }
        first ??= w.start;
        last = w.start;
      }
      const delO = db.prepare('DELETE FROM outbox WHERE seq = ?');
      for (const seq of doomed) delO.run(seq);
    }
    const d = r.dropped;
    if (d.windows + d.outbox + d.unacked + d.events > 0) {
      // Earlier unsent records are folded into this one, as the ones dropped above were (retention-events.ts).
      r.after -= takeUnsentEvents(db, 'backlog_dropped', this.sentFloor(), (json) => carryDropped(d, json, (s) => { if (first === null || s < first) first = s; }));
      this.event(r, {
        kind: 'backlog_dropped',
        code: 'DISK_FULL',
        message: `summaries over their budget of ${this.opts.budgetBytes} bytes even at daily resolution: dropped ${d.windows} stored windows, ${d.outbox} unsent windows (${d.predictions} predictions) and ${d.unacked} windows sent but not acked (${d.unackedPredictions} predictions, lost only if the hub did not store them), oldest first${d.events ? `, and ${d.events} events queued among them` : ''}`,
        data: {
          droppedWindows: d.windows, droppedOutbox: d.outbox, droppedPredictions: d.predictions, droppedUnacked: d.unacked, droppedUnackedPredictions: d.unackedPredictions, droppedEvents: d.events,
          firstStart: first, lastStart: last, bytesBefore: before, bytesAfter: r.after, budgetBytes: this.opts.budgetBytes,
        },
      });
    }
  }
}
