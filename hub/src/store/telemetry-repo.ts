// Device windows and events as the hub stored them, keyed by (device, seq) so a resend is a no-op.
import { windowText, type DeviceEvent, type SeqWindow, type StoredEvent, type StoredWindow, type SummaryWindow } from '@edgefleet/shared';
import type { HubStatement } from './hub-db.js';
import type { Db } from './db.js';
import type { RollupsRepo } from './rollups-repo.js';
import type { StoredBytesRepo } from './stored-bytes.js';
import { PAGE_CHARS, telemetryPage, type RowKey } from './telemetry-pages.js';

type Stmt = HubStatement;

/** What a page of windows or events is of: a device (or all), a time on (canonical UTC), after a row. */
export interface TelemetryQuery {
  deviceId?: string | undefined;
  since?: string | undefined;
  after?: RowKey | undefined;
  limit: number;
  /** Characters of JSON per page (default PAGE_CHARS). */
  maxChars?: number;
  /** Newest first. */
  newest?: boolean | undefined;
}

/** One device's windows and events, as putWindowsMany takes them. */
export interface WindowBatch {
  deviceId: string;
  windows: readonly SeqWindow[];
  events?: readonly DeviceEvent[];
  /** Filled with the seqs of `windows` and `events` stored already (a resend inserts nothing), when given. */
  known?: number[];
}

export class TelemetryRepo {
  // Prepared once, on first use (the tables exist once the store's migrations ran): preparing per
  // batch cost more than the inserts themselves on the ingest path (test/bench/ingest.bench.ts).
  private insWindow: Stmt | null = null;
  private insEvent: Stmt | null = null;
  private readonly txWindows: (deviceId: string, windows: SeqWindow[], at: string) => number;
  private readonly txMany: (batches: readonly WindowBatch[], at: string, also: (() => void) | undefined) => number[];
  private readonly txEvents: (deviceId: string, events: DeviceEvent[], at: string, known: number[] | undefined) => number;

  /**
   * `rollups`: updated in the same transaction with the windows actually inserted (docs/decisions/0023-rollups.md);
   * `stored`: each device's count of stored bytes, likewise (stored-bytes.ts).
   */
  constructor(private readonly db: Db, private readonly rollups: RollupsRepo | null, private readonly stored: StoredBytesRepo) {
    this.txWindows = db.transaction((deviceId: string, windows: SeqWindow[], at: string) => this.insertWindows(deviceId, windows, at, new Set()));
    this.txMany = db.transaction((batches: readonly WindowBatch[], at: string, also: (() => void) | undefined) => {
      const unfleeted = new Set<string>();
      const bytes = batches.map((b) => this.insertWindows(b.deviceId, b.windows, at, unfleeted, b.known) + (b.events?.length ? this.insertEvents(b.deviceId, b.events, at, b.known) : 0));
      also?.();
      return bytes;
    });
    this.txEvents = db.transaction((deviceId: string, events: DeviceEvent[], at: string, known: number[] | undefined) => this.insertEvents(deviceId, events, at, known));
  }

  /**
   * Stores windows (ignoring ones already stored); returns the characters of JSON inserted (a resend
   * of a stored seq adds nothing), for the per-device storage bound (ingest/guard.ts).
   */
  putWindows(deviceId: string, windows: SeqWindow[], at: Date): number {
    return this.txWindows(deviceId, windows, at.toISOString());
  }

  /**
   * Several devices' batches of windows and events in one transaction (the ingest path's per-tick writer,
   * docs/decisions/0042-ingest-throughput.md), each fleet rollup row deleted once; `also` runs inside
   * the same transaction (last-seen updates). Returns the characters inserted per batch (putWindows'
   * and putEvents' count), same order.
   */
  putWindowsMany(batches: readonly WindowBatch[], at: Date, also?: () => void): number[] {
    return this.txMany(batches, at.toISOString(), also);
  }

  /** Inserts one device's windows; call inside a transaction. */
  private insertWindows(deviceId: string, windows: readonly SeqWindow[], at: string, unfleeted: Set<string>, known?: number[]): number {
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
      } else {
        known?.push(w.seq);
      }
    }
    this.rollups?.applyWindows(deviceId, inserted, unfleeted);
    this.stored.add(deviceId, bytes);
    return bytes;
  }

  /** Stores events (ignoring ones already stored, whose seqs go in `known` when given); returns the characters of JSON inserted. */
  putEvents(deviceId: string, events: DeviceEvent[], at: Date, known?: number[]): number {
    return this.txEvents(deviceId, events, at.toISOString(), known);
  }

  /** Inserts one device's events; call inside a transaction. */
  private insertEvents(deviceId: string, events: readonly DeviceEvent[], at: string, known?: number[]): number {
    const ins = (this.insEvent ??= this.db.prepare(
      'INSERT OR IGNORE INTO device_events (device_id, seq, at, kind, model, version, code, message, event, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ));
    let bytes = 0;
    for (const e of events) {
      const json = JSON.stringify(e);
      if (ins.run(deviceId, e.seq, e.at, e.kind, e.model ?? null, e.version ?? null, e.code ?? null, e.message, json, at).changes > 0) bytes += json.length;
      else known?.push(e.seq);
    }
    this.stored.add(deviceId, bytes);
    return bytes;
  }

  /**
   * One page of stored windows (docs/hub.md "REST API"): of one device or all, one model and version
   * or all, starting at or after `since`, in (start, device, seq) order after `after`; at most `limit`
   * windows and `maxChars` characters of JSON (telemetry-pages.ts). `next` continues after it.
   */
  windowPage(q: TelemetryQuery & { model?: string | undefined; version?: string | undefined }): { windows: StoredWindow[]; next: RowKey | null } {
    const p = telemetryPage(this.db, 'windows', { eq: { device_id: q.deviceId, model: q.model, version: q.version }, since: q.since, after: q.after, limit: q.limit, maxChars: q.maxChars ?? PAGE_CHARS, newest: q.newest });
    return { windows: p.rows.map((r) => ({ ...(JSON.parse(r.body) as SummaryWindow), deviceId: r.deviceId, seq: r.seq })), next: p.next };
  }

  /** One page of stored events, as windowPage, in (at, device, seq) order. */
  eventPage(q: TelemetryQuery): { events: StoredEvent[]; next: RowKey | null } {
    const p = telemetryPage(this.db, 'events', { eq: { device_id: q.deviceId, model: undefined, version: undefined }, since: q.since, after: q.after, limit: q.limit, maxChars: q.maxChars ?? PAGE_CHARS, newest: q.newest });
    return { events: p.rows.map((r) => ({ ...(JSON.parse(r.body) as DeviceEvent), deviceId: r.deviceId })), next: p.next };
  }

  /**
   * Every stored window matching `q` (e.g. of one model version), in pages of at most `pageSize` in
   * (start, device, seq) order, each page read when the previous one was taken: a caller holds one page
   * at a time whatever is stored, and each window stored before the first page is read exactly once.
   */
  *windowPages(q: { deviceId?: string; model?: string; version?: string; since?: string | undefined }, pageSize: number): Generator<StoredWindow[]> {
    let after: RowKey | undefined;
    for (;;) {
      const page = this.windowPage({ ...q, after, limit: pageSize });
      if (page.windows.length > 0) yield page.windows;
      if (!page.next) return;
      after = page.next;
    }
  }

  /** Every stored window matching `q` at once, oldest first: for tests and small reads (the API pages). */
  windows(q: { deviceId?: string; model?: string; version?: string; since?: string } = {}): StoredWindow[] {
    return [...this.windowPages(q, 5000)].flat();
  }

  /** Every stored event of a device (or all) at once, oldest first: for tests and small reads (the API pages). */
  events(q: { deviceId?: string; since?: string } = {}): StoredEvent[] {
    const all: StoredEvent[] = [];
    let after: RowKey | undefined;
    do {
      const page = this.eventPage({ ...q, after, limit: 5000 });
      all.push(...page.events);
      after = page.next ?? undefined;
    } while (after);
    return all;
  }

  /** The versions of `model` with windows stored (starting at or after `since`), in order. */
  windowVersions(model: string, since?: string): string[] {
    const sql = `SELECT DISTINCT version FROM device_windows WHERE model = ?${since === undefined ? '' : ' AND start >= ?'} ORDER BY version`;
    return this.db.prepare(sql).pluck().all(...(since === undefined ? [model] : [model, since])) as string[];
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
