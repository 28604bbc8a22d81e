// Each device's clock offset (docs/operations.md "Clocks that are wrong"): presence and reported state
// carry the device's time; offset = device time − hub receive time, recorded per device (hub.db
// migration 5), shown on GET /devices/{id} and `edgefleet devices ls`. Past `skewMs` the hub logs a
// warning and appends an audit entry (once per crossing) and places the windows and events that device's
// present clock recorded by that clock: their starts move by the offset (counted), instead of filing a box
// that is 400 days ahead in the future (or refusing its windows as future_start). What the box recorded on
// an earlier clock (a backlog from before a reboot reset its clock) keeps its own start, and no placement
// makes a window refused that its own start would not: docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md.
// A window from an agent that names its clock, an earlier one the hub read, is placed by that clock's offset
// (docs/decisions/0059-clock-marks.md, clock-marks.ts).
import { describeClockOffset, type SeqWindow } from '@edgefleet/shared';
import type { AuditRecord } from '../store/audit-repo.js';
import type { Db } from '../store/db.js';
import type { HubStatement as Statement } from '../store/hub-db.js';
import type { Migration } from '../store/migrations.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import { DEFAULT_INGEST_LIMITS } from './plausibility.js';
import { ClockMarkOffsets } from './clock-marks.js';

export const CLOCK_MIGRATION: Migration = {
  version: 5,
  name: 'device clock offset',
  sql: `ALTER TABLE devices ADD COLUMN clock_offset_ms INTEGER;
ALTER TABLE devices ADD COLUMN clock_offset_at TEXT;
ALTER TABLE devices ADD COLUMN clock_shifted_windows INTEGER NOT NULL DEFAULT 0;`,
};

/** Default threshold past which a device's clock is called wrong: the agent's own skew allowance, 5 min. */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

/** Audit entries for one device's clock at most this often. */
const EVENT_EVERY_MS = 10 * 60_000;

/** A steady offset is written again at most this often. */
const WRITE_EVERY_MS = 60_000;

/** Pending offset writes wait at most this long, or until this many devices have one (write()). */
const FLUSH_MS = 50;
const FLUSH_AT = 2000;

/** Devices whose offset is cached; past it the oldest entries are dropped (and reloaded on use). */
const MAX_CACHED = 100_000;

export interface ClockOffsetsDeps {
  db: Db;
  logger: LoggerPort;
  metrics?: MetricsPort | undefined;
  skewMs?: number | undefined;
  /** Where the operator sees it (`edgefleet audit`): a crossing of the threshold, either way. */
  audit?: { append(r: AuditRecord): number } | undefined;
  /** The ingest guard's `futureToleranceMs`: no window is placed past it when its own start is not. */
  futureToleranceMs?: number | undefined;
}

/**
 * What the hub knows of one device's clock. Readings whose offsets agree within skewMs are one clock; `first`
 * and `last` are the device times of its first and latest reading (its clock read `last` at hub time
 * `last - offset`). `before` is the clock read before it, when the hub saw the step (from hub.db after a restart).
 */
interface Reading {
  offset: number;
  first: number;
  last: number;
  before: { offset: number; last: number } | null;
}

export class ClockOffsets {
  readonly skewMs: number;
  private readonly futureMs: number;
  private readonly cache = new Map<string, Reading | null>();
  /** The offsets of the clocks agents name (docs/decisions/0059-clock-marks.md). */
  private readonly marks = new ClockMarkOffsets();
  /** When each device's offset was last written, and the value: a steady clock is rewritten once a minute. */
  private readonly written = new Map<string, { at: number; offset: number }>();
  /** When each device last got an audit entry for its clock, per direction. */
  private readonly evented = new Map<string, number>();
  private pending = new Map<string, { offset: number; at: string }>();
  private flushTimer: NodeJS.Timeout | null = null;
  private writeTx: ((b: Map<string, { offset: number; at: string }>) => void) | null = null;
  private writeStmt: Statement | null = null;
  private readStmt: Statement | null = null;
  private shiftStmt: Statement | null = null;

  constructor(private readonly d: ClockOffsetsDeps) {
    this.skewMs = d.skewMs ?? DEFAULT_CLOCK_SKEW_MS;
    this.futureMs = d.futureToleranceMs ?? DEFAULT_INGEST_LIMITS.futureToleranceMs;
  }

  /** A message stamped `deviceAt` by the device, by the clock `mark` names when it says, arrived at `hubNow`. */
  record(deviceId: string, deviceAt: string, hubNow: Date, mark?: string): void {
    const t = Date.parse(deviceAt);
    if (!Number.isFinite(t)) return;
    const offset = t - hubNow.getTime();
    if (mark !== undefined) this.marks.note(deviceId, mark, offset);
    const r = this.reading(deviceId);
    const before = r?.offset ?? null;
    const last = this.written.get(deviceId);
    // State reports come up to 4 a second per device: write only a changed offset, or once a minute.
    if (!last || Math.abs(last.offset - offset) >= 1000 || hubNow.getTime() - last.at >= WRITE_EVERY_MS || hubNow.getTime() < last.at) {
      this.write(deviceId, offset, hubNow.toISOString());
      if (!this.written.has(deviceId) && this.written.size >= MAX_CACHED) {
        const oldest = this.written.keys().next().value;
        if (oldest !== undefined) this.written.delete(oldest);
      }
      this.written.set(deviceId, { at: hubNow.getTime(), offset });
    }
    this.put(deviceId, r && Math.abs(offset - r.offset) <= this.skewMs
      ? { ...r, offset, last: Math.max(r.last, t) }
      : { offset, first: t, last: t, before: r ? { offset: r.offset, last: r.last } : null });
    const wasSkewed = before !== null && Math.abs(before) > this.skewMs;
    if (Math.abs(offset) > this.skewMs && !wasSkewed) {
      this.d.metrics?.inc('edgefleet_device_clock_skewed_total', {});
      const message = `device clock is ${describeClockOffset(offset)} the hub's: the windows it records on this clock are placed by the hub's receive time`;
      this.d.logger.warn({ deviceId, offsetMs: offset, thresholdMs: this.skewMs }, message);
      this.event(deviceId, 'device.clock_skewed', message, offset, hubNow);
    } else if (wasSkewed && Math.abs(offset) <= this.skewMs) {
      this.d.logger.info({ deviceId, offsetMs: offset }, 'device clock agrees with the hub again');
      this.event(deviceId, 'device.clock_ok', 'device clock agrees with the hub again', offset, hubNow);
    }
  }

  /**
   * An offline presence: the agent's last word when it stops, stamped then (the broker's last will for a box
   * that vanished carries the time it connected instead). When it agrees with the clock the hub knows, it is
   * that clock's latest reading: a box that comes back with its clock resumed from there (systemd-timesyncd's
   * saved clock) recorded everything stamped up to it before it stopped. The offset is not changed.
   */
  confirm(deviceId: string, deviceAt: string, hubNow: Date): void {
    const t = Date.parse(deviceAt);
    const r = this.reading(deviceId);
    if (!r || !(t > r.last) || Math.abs(t - hubNow.getTime() - r.offset) > this.skewMs) return;
    this.put(deviceId, { ...r, last: t });
    this.write(deviceId, r.offset, new Date(t - r.offset).toISOString());
  }

  /**
   * Offsets are written in batches, one transaction per FLUSH_MS or FLUSH_AT devices: after a hub restart
   * every device's first presence writes one, and 10,000 commits of their own were a large part of a
   * reconnect storm's CPU (docs/performance.md "Reconnect storm"). offset() reads the cache meanwhile.
   */
  private write(deviceId: string, offset: number, at: string): void {
    this.pending.set(deviceId, { offset, at });
    if (this.pending.size >= FLUSH_AT) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Writes the pending offsets now (ingest's stop calls it); a closed store loses them, logged. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.writeTx ??= this.d.db.transaction((b: Map<string, { offset: number; at: string }>) => {
        const st = (this.writeStmt ??= this.d.db.prepare('UPDATE devices SET clock_offset_ms = ?, clock_offset_at = ? WHERE id = ?'));
        for (const [id, w] of b) st.run(w.offset, w.at, id);
      });
      this.writeTx(batch);
    } catch (err) {
      this.d.logger.warn({ err: String(err), devices: batch.size }, 'device clock offsets not written');
    }
  }

  /** An audit entry for a crossing, at most one per device and direction every EVENT_EVERY_MS (a clock flapping at the threshold). */
  private event(deviceId: string, action: string, reason: string, offsetMs: number, at: Date): void {
    const key = `${deviceId} ${action}`;
    const last = this.evented.get(key);
    if (!this.d.audit || (last !== undefined && at.getTime() - last < EVENT_EVERY_MS && at.getTime() >= last)) return;
    if (!this.evented.has(key) && this.evented.size >= MAX_CACHED) {
      const oldest = this.evented.keys().next().value;
      if (oldest !== undefined) this.evented.delete(oldest);
    }
    this.evented.set(key, at.getTime());
    this.d.audit.append({ actor: 'hub', action, target: deviceId, reason, details: { offsetMs, thresholdMs: this.skewMs }, at });
  }

  /** The last measured offset in ms (device − hub), or null when never measured. */
  offset(deviceId: string): number | null {
    return this.reading(deviceId)?.offset ?? null;
  }

  private reading(deviceId: string): Reading | null {
    if (this.cache.has(deviceId)) return this.cache.get(deviceId) ?? null;
    const row = (this.readStmt ??= this.d.db.prepare('SELECT clock_offset_ms AS o, clock_offset_at AS at FROM devices WHERE id = ?'))
      .get(deviceId) as { o: number | null; at: string | null } | undefined;
    const o = row?.o ?? null;
    // Its first reading is not known: with no step seen, `first` is never consulted.
    const at = row?.at ? Date.parse(row.at) : NaN;
    const r = o === null ? null : { offset: o, first: -Infinity, last: Number.isFinite(at) ? at + o : -Infinity, before: null };
    this.put(deviceId, r);
    return r;
  }

  /**
   * Windows each placed by the clock that recorded it: by that clock's offset when the window names an
   * earlier clock the hub read (decision 0059), else, for a device whose clock is off by more than skewMs,
   * by placeAt() (decision 0057); others unchanged. The number moved (start changed) is added to the
   * device's count.
   */
  place(deviceId: string, windows: SeqWindow[], now: Date): SeqWindow[] {
    const r = this.skewed(deviceId);
    const marked = this.marks.has(deviceId);
    if ((r === null && !marked) || windows.length === 0) return windows;
    let moved = 0;
    const placed = windows.map((w) => {
      const earlier = marked ? this.marks.earlier(deviceId, w.clock) : undefined;
      if (earlier === undefined && r === null) return w;
      const stamp = Date.parse(w.start);
      const lengthMs = w.lengthSec * 1000;
      const at = earlier !== undefined
        ? (Math.abs(earlier) <= this.skewMs ? stamp : this.choose(this.moveBy(earlier, stamp, lengthMs), stamp, now.getTime()))
        : this.placeAt(r as Reading, stamp, lengthMs, now.getTime());
      if (at === stamp) return w; // the same object: its text as sent is stored (docs/decisions/0048-stored-window-text.md)
      moved++;
      return { ...w, start: new Date(at).toISOString() };
    });
    if (moved > 0) (this.shiftStmt ??= this.d.db.prepare('UPDATE devices SET clock_shifted_windows = clock_shifted_windows + ? WHERE id = ?')).run(moved, deviceId);
    return placed;
  }

  /** Events of such a device, each placed like a window (so what its present clock stamped is not refused as future_start). */
  placeEvents<E extends { at: string }>(deviceId: string, events: E[], now: Date): E[] {
    const r = this.skewed(deviceId);
    if (r === null) return events;
    return events.map((e) => {
      const stamp = Date.parse(e.at);
      const at = this.placeAt(r, stamp, 0, now.getTime());
      return at === stamp ? e : { ...e, at: new Date(at).toISOString() };
    });
  }

  /**
   * Where something the box stamped `stamp` goes on the hub's clock (docs/operations.md "Clocks that are
   * wrong"): moved by the offset when the box's present clock recorded it (in whole window lengths, so a
   * window stays on the UTC grid), at its own stamp when an earlier clock did. If the preferred placement
   * is past the future tolerance and the other is not, the other is used: the hub never refuses (and acks
   * away) a window because of its own shift. Both past it: the guard refuses it, as any device's.
   */
  private placeAt(r: Reading, stamp: number, lengthMs: number, nowMs: number): number {
    const moved = this.moveBy(r.offset, stamp, lengthMs);
    return this.recordedBefore(r, stamp, nowMs) ? this.choose(stamp, moved, nowMs) : this.choose(moved, stamp, nowMs);
  }

  /** `stamp` on the hub's clock for a clock `offset` ahead, in whole window lengths (a window stays on the UTC grid). */
  private moveBy(offset: number, stamp: number, lengthMs: number): number {
    return stamp - (lengthMs > 0 ? Math.round(offset / lengthMs) * lengthMs : offset);
  }

  /** The preferred placement, unless it is past the future tolerance and the other one is not. */
  private choose(preferred: number, other: number, nowMs: number): number {
    const latest = nowMs + this.futureMs;
    return preferred > latest && other <= latest ? other : preferred;
  }

  /**
   * Whether the box's present clock cannot have stamped `stamp`, so an earlier clock did
   * (docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md).
   */
  private recordedBefore(r: Reading, stamp: number, nowMs: number): boolean {
    const skew = this.skewMs;
    // Later than the clock reads now: a backlog from before it was reset (to 1970), or stamped after it was set right.
    if (stamp > nowMs + r.offset + skew) return true;
    // Unless the hub read this box's clock right before, it takes the clock as wrong all along.
    const b = r.before;
    if (!b || Math.abs(b.offset) > skew) return false;
    // The clock stepped after the hub last read the right one, at hub time b.last - b.offset, when the present
    // clock would have read that plus its offset: it stamped nothing earlier (a box that jumped ahead).
    if (stamp <= b.last - b.offset + r.offset - skew) return true;
    // A clock that resumed from no earlier than the last right reading (saved at shutdown) stamped nothing up to it.
    return r.first >= b.last - skew && stamp <= b.last;
  }

  private skewed(deviceId: string): Reading | null {
    const r = this.reading(deviceId);
    return r !== null && Math.abs(r.offset) > this.skewMs ? r : null;
  }

  private put(deviceId: string, o: Reading | null): void {
    if (!this.cache.has(deviceId) && this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(deviceId, o);
  }
}
