// Device windows and events as the hub stored them, keyed by (device, seq) so a resend is a no-op.
import { windowText, type DeviceEvent, type SeqWindow, type SummaryWindow } from '@edgefleet/shared';
import type { HubStatement } from './hub-db.js';
import type { Db } from './db.js';
import type { RollupsRepo } from './rollups-repo.js';
import type { StoredBytesRepo } from './stored-bytes.js';

type Stmt = HubStatement;

/** One device's windows, as putWindowsMany takes them. */
export interface WindowBatch {
  deviceId: string;
  windows: readonly SeqWindow[];
}

export class TelemetryRepo {
  // Prepared once, on first use (the tables exist once the store's migrations ran): preparing per
  // batch cost more than the inserts themselves on the ingest path (test/bench/ingest.bench.ts).
  private insWindow: Stmt | null = null;
  private insEvent: Stmt | null = null;
  private readonly txWindows: (deviceId: string, windows: SeqWindow[], at: string) => number;
  private readonly txMany: (batches: readonly WindowBatch[], at: string, also: (() => void) | undefined) => number[];
  private readonly txEvents: (deviceId: string, events: DeviceEvent[], at: string) => number;

  /**
   * `rollups`: updated in the same transaction with the windows actually inserted (docs/decisions/0023-rollups.md);
   * `stored`: each device's count of stored bytes, likewise (stored-bytes.ts).
   */
  constructor(private readonly db: Db, private readonly rollups: RollupsRepo | null, private readonly stored: StoredBytesRepo) {
    this.txWindows = db.transaction((deviceId: string, windows: SeqWindow[], at: string) => this.insertWindows(deviceId, windows, at, new Set()));
    this.txMany = db.transaction((batches: readonly WindowBatch[], at: string, also: (() => void) | undefined) => {
      const unfleeted = new Set<string>();
      const bytes = batches.map((b) => this.insertWindows(b.deviceId, b.windows, at, unfleeted));
      also?.();
      return bytes;
    });
    this.txEvents = db.transaction((deviceId: string, events: DeviceEvent[], at: string) => {
      const ins = (this.insEvent ??= db.prepare(
        'INSERT OR IGNORE INTO device_events (device_id, seq, at, kind, model, version, code, message, event, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ));
      let bytes = 0;
      for (const e of events) {
        const json = JSON.stringify(e);
        if (ins.run(deviceId, e.seq, e.at, e.kind, e.model ?? null, e.version ?? null, e.code ?? null, e.message, json, at).changes > 0) bytes += json.length;
      }
      this.stored.add(deviceId, bytes);
      return bytes;
    });
  }

  /**
   * Stores windows (ignoring ones already stored); returns the characters of JSON inserted (a resend
   * of a stored seq adds nothing), for the per-device storage bound (ingest/guard.ts).
   */
  putWindows(deviceId: string, windows: SeqWindow[], at: Date): number {
    return this.txWindows(deviceId, windows, at.toISOString());
  }

  /**
   * Several devices' batches in one transaction (the ingest path's per-tick writer,
   * docs/decisions/0042-ingest-throughput.md), each fleet rollup row deleted once; `also` runs inside
   * the same transaction (last-seen updates). Returns putWindows' count per batch, same order.
   */
  putWindowsMany(batches: readonly WindowBatch[], at: Date, also?: () => void): number[] {
    return this.txMany(batches, at.toISOString(), also);
  }

  /** Inserts one device's windows; call inside a transaction. */
  private insertWindows(deviceId: string, windows: readonly SeqWindow[], at: string, unfleeted: Set<string>): number {
    const ins = (this.insWindow ??= this.db.prepare(
      'INSERT OR IGNORE INTO device_windows (device_id, seq, model, version, start, length_sec, count, window, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ));
    let bytes = 0;
    const inserted: SeqWindow[] = [];
    for (const w of windows) {
      // The window's text as the device sent it, when the ingress could cut it (docs/decisions/0048-stored-window-text.md).
      const json = windowText(w) ?? serialised(w);
      // A resend of a stored seq inserts nothing and must add nothing to the rollups or the count.
      if (ins.run(deviceId, w.seq, w.model, w.version, w.start, w.lengthSec, w.count, json, at).changes > 0) {
        inserted.push(w);
        bytes += json.length;
      }
    }
    this.rollups?.applyWindows(deviceId, inserted, unfleeted);
    this.stored.add(deviceId, bytes);
    return bytes;
  }

  /** Stores events (ignoring ones already stored); returns the characters of JSON inserted. */
  putEvents(deviceId: string, events: DeviceEvent[], at: Date): number {
    return this.txEvents(deviceId, events, at.toISOString());
  }

  windows(q: { deviceId?: string; model?: string; version?: string; since?: string; limit?: number }): Array<SummaryWindow & { deviceId: string; seq: number }> {
    const { where, args } = conditions({ device_id: q.deviceId, model: q.model, version: q.version }, ['start', q.since]);
    const sql = `SELECT device_id, seq, window FROM device_windows ${where} ORDER BY start, device_id, seq LIMIT ?`;
    args.push(q.limit ?? 100_000);
    return (this.db.prepare(sql).all(...args) as Array<{ device_id: string; seq: number; window: string }>).map((r) => ({
      ...(JSON.parse(r.window) as SummaryWindow),
      deviceId: r.device_id,
      seq: r.seq,
    }));
  }

  /** The versions of `model` with windows stored (starting at or after `since`), in order. */
  windowVersions(model: string, since?: string): string[] {
    const { where, args } = conditions({ model }, ['start', since]);
    return this.db.prepare(`SELECT DISTINCT version FROM device_windows ${where} ORDER BY version`).pluck().all(...args) as string[];
  }

  /**
   * Every stored window of one model version (starting at or after `since`), in pages of at most
   * `pageSize` in (start, device, seq) order, each page read when the previous one was taken: a caller
   * holds one page at a time whatever is stored. Each page continues after the last row of the one
   * before (keyset, on the (model, version, start) index), so a window stored before the first page
   * is read exactly once even when others arrive between pages.
   */
  *windowPages(q: { model: string; version: string; since?: string | undefined }, pageSize: number): Generator<Array<SummaryWindow & { deviceId: string; seq: number }>> {
    const page = this.db.prepare(
      `SELECT device_id, seq, start, window FROM device_windows WHERE model = ? AND version = ? AND start >= ?
       AND (start > ? OR device_id > ? OR (device_id = ? AND seq > ?)) ORDER BY start, device_id, seq LIMIT ?`,
    );
    // Device ids are never empty, so ('', -1) is before every row starting at `since`.
    let after = { start: q.since ?? '', deviceId: '', seq: -1 };
    for (;;) {
      const rows = page.all(q.model, q.version, after.start, after.start, after.deviceId, after.deviceId, after.seq, pageSize) as Array<{ device_id: string; seq: number; start: string; window: string }>;
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!;
      after = { start: last.start, deviceId: last.device_id, seq: last.seq };
      yield rows.map((r) => ({ ...(JSON.parse(r.window) as SummaryWindow), deviceId: r.device_id, seq: r.seq }));
      if (rows.length < pageSize) return;
    }
  }

  events(q: { deviceId?: string; since?: string; limit?: number }): Array<DeviceEvent & { deviceId: string }> {
    const { where, args } = conditions({ device_id: q.deviceId }, ['at', q.since]);
    const sql = `SELECT device_id, event FROM device_events ${where} ORDER BY at, device_id, seq LIMIT ?`;
    args.push(q.limit ?? 10_000);
    return (this.db.prepare(sql).all(...args) as Array<{ device_id: string; event: string }>).map((r) => ({ ...(JSON.parse(r.event) as DeviceEvent), deviceId: r.device_id }));
  }

  /** Windows and events stored for one device (for exactly-once checks). */
  countFor(deviceId: string): { windows: number; events: number } {
    const w = this.db.prepare('SELECT COUNT(*) AS n FROM device_windows WHERE device_id = ?').get(deviceId) as { n: number };
    const e = this.db.prepare('SELECT COUNT(*) AS n FROM device_events WHERE device_id = ?').get(deviceId) as { n: number };
    return { windows: w.n, events: e.n };
  }
}

/** The JSON stored for a window: all of it but its seq (a column of its own). */
function serialised(w: SeqWindow): string {
  const { seq: _seq, ...win } = w;
  return JSON.stringify(win);
}

/** A WHERE clause from equality filters (undefined = no filter) and one `column >= since` bound. */
function conditions(eq: Record<string, string | undefined>, since: [string, string | undefined]): { where: string; args: unknown[] } {
  const parts: string[] = [];
  const args: unknown[] = [];
  for (const [col, v] of Object.entries(eq)) {
    if (v === undefined) continue;
    parts.push(`${col} = ?`);
    args.push(v);
  }
  if (since[1] !== undefined) {
    parts.push(`${since[0]} >= ?`);
    args.push(since[1]);
  }
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
}
