// The summaries repository: owns the SQL of summary_windows and outbox. A
// batch of closed windows is written in ONE transaction, each window also put
// in the outbox for the sync to send (docs/architecture.md section 5: nothing is lost).
import type Database from 'better-sqlite3';
import type { DeviceEvent, SummaryWindow } from '@edgefleet/shared';
import { inTransaction, prepared } from '../store/statements.js';

/** Inserts a stored window (the store's and retention's). */
export const INSERT_WINDOW = 'INSERT INTO summary_windows (model, version, start_ms, length_sec, resolution, count, json) VALUES (?, ?, ?, ?, ?, ?, ?)';

export type Resolution = 'minute' | 'hour' | 'day';

export interface StoredWindow {
  id: number;
  resolution: Resolution;
  startMs: number;
  window: SummaryWindow;
}

export interface OutboxEntry {
  seq: number;
  kind: 'window' | 'event';
  payload: unknown;
  created: string;
}

/** An event before it gets its outbox seq. */
export type NewDeviceEvent = Omit<DeviceEvent, 'seq'>;

interface WindowRow { id: number; resolution: Resolution; start_ms: number; json: string }
interface OutboxRow { seq: number; kind: 'window' | 'event'; payload: string; created: string }

export class SummaryStore {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes closed windows (and their outbox entries) in one transaction; returns the bytes added (what the budget counts). */
  writeWindows(windows: readonly SummaryWindow[], resolution: Resolution = 'minute'): number {
    if (windows.length === 0) return 0;
    return inTransaction(this.db, () => this.insertClosed(windows, resolution));
  }

  /**
   * One transaction: the closed windows (and their outbox entries) are written and the open windows'
   * checkpoint is replaced by `open`. Whatever a crash interrupts, each prediction is either in a
   * closed window or in the checkpoint, never both (docs/agent-summaries.md "Crashes"). Returns the
   * bytes the closed windows added (what the budget counts).
   */
  persist(closed: readonly SummaryWindow[], open: readonly SummaryWindow[]): number {
    const saved = new Date(this.now()).toISOString();
    const ins = prepared(this.db, 'INSERT INTO open_windows (model, version, start_ms, count, json, saved_at) VALUES (?, ?, ?, ?, ?, ?)');
    return inTransaction(this.db, () => {
      const bytes = this.insertClosed(closed, 'minute');
      prepared(this.db, 'DELETE FROM open_windows').run();
      for (const w of open) ins.run(w.model, w.version, Date.parse(w.start), w.count, JSON.stringify(w), saved);
      return bytes;
    });
  }

  /**
   * At start, before any traffic: the checkpointed open windows of a process that died become closed
   * windows (and outbox entries) and leave the checkpoint, in one transaction, so each is counted once.
   * Returns what was recovered.
   */
  recoverOpen(): SummaryWindow[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare('SELECT json FROM open_windows ORDER BY id').all() as Array<{ json: string }>;
      const windows = rows.map((r) => JSON.parse(r.json) as SummaryWindow);
      this.insertClosed(windows, 'minute');
      this.db.prepare('DELETE FROM open_windows').run();
      return windows;
    })();
  }

  private insertClosed(windows: readonly SummaryWindow[], resolution: Resolution): number {
    if (windows.length === 0) return 0;
    const created = new Date(this.now()).toISOString();
    const insW = prepared(this.db, INSERT_WINDOW);
    const insO = prepared(this.db, "INSERT INTO outbox (kind, payload, created) VALUES ('window', ?, ?)");
    let bytes = 0;
    for (const w of windows) {
      const json = JSON.stringify(w);
      insW.run(w.model, w.version, Date.parse(w.start), w.lengthSec, resolution, w.count, json);
      insO.run(json, created);
      bytes += 2 * json.length;
    }
    return bytes;
  }

  /** Records an event in the outbox; returns its seq. Use inside a transaction of the caller when atomicity matters. */
  addEvent(e: NewDeviceEvent): number {
    const r = this.db
      .prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', ?, ?)")
      .run(JSON.stringify(e), new Date(this.now()).toISOString());
    return Number(r.lastInsertRowid);
  }

  listWindows(opts: { model?: string; sinceMs?: number; resolution?: Resolution; limit?: number } = {}): StoredWindow[] {
    const where: string[] = ['start_ms >= ?'];
    const args: (string | number)[] = [opts.sinceMs ?? 0];
    if (opts.model !== undefined) { where.push('model = ?'); args.push(opts.model); }
    if (opts.resolution !== undefined) { where.push('resolution = ?'); args.push(opts.resolution); }
    args.push(opts.limit ?? 100_000);
    const rows = this.db
      .prepare(`SELECT id, resolution, start_ms, json FROM summary_windows WHERE ${where.join(' AND ')} ORDER BY start_ms, id LIMIT ?`)
      .all(...args) as WindowRow[];
    return rows.map((r) => ({ id: r.id, resolution: r.resolution, startMs: r.start_ms, window: JSON.parse(r.json) as SummaryWindow }));
  }

  /** Outbox entries after `afterSeq`, oldest first (for the sync). */
  outbox(afterSeq = 0, limit = 1000): OutboxEntry[] {
    const rows = this.db.prepare('SELECT seq, kind, payload, created FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as OutboxRow[];
    return rows.map((r) => ({ seq: r.seq, kind: r.kind, payload: JSON.parse(r.payload) as unknown, created: r.created }));
  }

  /** Deletes the acknowledged inclusive seq ranges; returns how many entries went. */
  ack(ranges: readonly (readonly [number, number])[]): number {
    const del = this.db.prepare('DELETE FROM outbox WHERE seq BETWEEN ? AND ?');
    let n = 0;
    this.db.transaction(() => {
      for (const [a, b] of ranges) n += del.run(a, b).changes;
    })();
    return n;
  }

  /** Bytes the windows and the outbox take (payload text; what the retention budget counts). */
  sizeBytes(): { windows: number; outbox: number; total: number } {
    return summaryBytes(this.db);
  }
}

/** Bytes the windows and the outbox take (payload text): what the retention budget counts (retention.ts). */
export function summaryBytes(db: Database.Database): { windows: number; outbox: number; total: number } {
  const w = prepared(db, 'SELECT COALESCE(SUM(LENGTH(json)), 0) FROM summary_windows', true).get() as number;
  const o = prepared(db, 'SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox', true).get() as number;
  return { windows: w, outbox: o, total: w + o };
}
