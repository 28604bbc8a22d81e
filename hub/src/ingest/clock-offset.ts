// Each device's clock offset (docs/operations.md "Clocks that are wrong"): presence and reported state
// carry the device's time; offset = device time − hub receive time, recorded per device (hub.db
// migration 5), shown on GET /devices/{id} and `edgefleet devices ls`. Past `skewMs` the hub logs a
// warning and appends an audit entry (once per crossing) and places the windows and events that device's
// present clock recorded by that clock: their starts move by the offset (counted), instead of filing a box
// that is 400 days ahead in the future (or refusing its windows as future_start). What the box recorded on
// an earlier clock (a backlog from before a reboot reset its clock) keeps its own start, and no placement
// makes a window refused that its own start would not: docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md.
// A window or event from an agent that names its clock, an earlier one the hub read, is placed by that clock's
// offset (docs/decisions/0059-clock-marks.md, clock-marks.ts). Windows and events go through one function
// (clock-placement.ts).
import { describeClockOffset, type SeqWindow } from '@edgefleet/shared';
import type { AuditRecord } from '../store/audit-repo.js';
import type { Db } from '../store/db.js';
import type { HubStatement as Statement } from '../store/hub-db.js';
import type { Migration } from '../store/migrations.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import { DEFAULT_INGEST_LIMITS } from './plausibility.js';
import { BatchedWrites } from '../mqtt/batched-writes.js';
import { ClockMarkOffsets } from './clock-marks.js';
import { ClockMarksRepo } from './clock-marks-repo.js';
import { placeStamp, type PlacementLimits, type Reading } from './clock-placement.js';

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

export class ClockOffsets {
  readonly skewMs: number;
  private readonly limits: PlacementLimits;
  private readonly cache = new Map<string, Reading | null>();
  /** The offsets of the clocks agents name, kept in the database (docs/decisions/0059-clock-marks.md). */
  private readonly marks: ClockMarkOffsets;
  /** When each device's offset was last written, and the value: a steady clock is rewritten once a minute. */
  private readonly written = new Map<string, { at: number; offset: number }>();
  /** When each device last got an audit entry for its clock, per direction. */
  private readonly evented = new Map<string, number>();
  private readonly pending: BatchedWrites<{ deviceId: string; offset: number; at: string }>;
  private writeTx: ((b: Array<{ deviceId: string; offset: number; at: string }>) => void) | null = null;
  private writeStmt: Statement | null = null;
  private readStmt: Statement | null = null;
  private shiftStmt: Statement | null = null;

  constructor(private readonly d: ClockOffsetsDeps) {
    this.skewMs = d.skewMs ?? DEFAULT_CLOCK_SKEW_MS;
    this.limits = { skewMs: this.skewMs, futureMs: d.futureToleranceMs ?? DEFAULT_INGEST_LIMITS.futureToleranceMs };
    this.marks = new ClockMarkOffsets({ repo: new ClockMarksRepo(d.db), logger: d.logger });
    // Offsets are written in batches (mqtt/batched-writes.ts); offset() reads the cache meanwhile.
    this.pending = new BatchedWrites((batch) => {
      this.writeTx ??= this.d.db.transaction((b: Array<{ deviceId: string; offset: number; at: string }>) => {
        const st = (this.writeStmt ??= this.d.db.prepare('UPDATE devices SET clock_offset_ms = ?, clock_offset_at = ? WHERE id = ?'));
        for (const w of b) st.run(w.offset, w.at, w.deviceId);
      });
      this.writeTx(batch);
    }, (err, devices) => this.d.logger.warn({ err: String(err), devices }, 'device clock offsets not written'));
  }

  /** A message stamped `deviceAt` by the device, by the clock `mark` names when it says, arrived at `hubNow`. */
  record(deviceId: string, deviceAt: string, hubNow: Date, mark?: string): void {
    const t = Date.parse(deviceAt);
    if (!Number.isFinite(t)) return;
    const offset = t - hubNow.getTime();
    if (mark !== undefined) this.marks.note(deviceId, mark, offset, hubNow);
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

  private write(deviceId: string, offset: number, at: string): void {
    this.pending.set(deviceId, { deviceId, offset, at });
  }

  /** Writes the pending offsets and clock marks now (ingest's stop calls it); a closed store loses them, logged. */
  flush(): void {
    this.pending.flush();
    this.marks.flush();
  }

  /** An audit entry for a crossing, at most one per device and direction every EVENT_EVERY_MS (a clock flapping at the threshold). */
  private event(deviceId: string, action: 'device.clock_skewed' | 'device.clock_ok', reason: string, offsetMs: number, at: Date): void {
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
   * Windows each placed by the clock that recorded it (placeStamp): by that clock's offset when the window
   * names an earlier clock the hub read (decision 0059), else, for a device whose clock is off by more than
   * skewMs, by decision 0057's rules; others unchanged. The number moved (start changed) is added to the
   * device's count.
   */
  place(deviceId: string, windows: SeqWindow[], now: Date): SeqWindow[] {
    const { placed, moved } = this.placeAll(deviceId, windows, now, (w) => w.start, (w) => w.lengthSec * 1000, (w, start) => ({ ...w, start }));
    if (moved > 0) (this.shiftStmt ??= this.d.db.prepare('UPDATE devices SET clock_shifted_windows = clock_shifted_windows + ? WHERE id = ?')).run(moved, deviceId);
    return placed;
  }

  /** Events each placed like a window, by the clock that stamped its time (not rounded, not counted). */
  placeEvents<E extends { at: string; clock?: string | undefined }>(deviceId: string, events: E[], now: Date): E[] {
    return this.placeAll(deviceId, events, now, (e) => e.at, () => 0, (e, at) => ({ ...e, at })).placed;
  }

  private placeAll<T extends { clock?: string | undefined }>(
    deviceId: string, items: T[], now: Date, stampOf: (x: T) => string, lengthMsOf: (x: T) => number, restamp: (x: T, at: string) => T,
  ): { placed: T[]; moved: number } {
    const present = this.skewed(deviceId);
    const marked = this.marks.has(deviceId);
    if ((present === null && !marked) || items.length === 0) return { placed: items, moved: 0 };
    let moved = 0;
    const placed = items.map((x) => {
      const earlier = marked ? this.marks.earlier(deviceId, x.clock) : undefined;
      if (earlier === undefined && present === null) return x;
      const stamp = Date.parse(stampOf(x));
      const at = placeStamp(stamp, lengthMsOf(x), now.getTime(), { earlier, present }, this.limits);
      if (at === stamp) return x; // the same object: a window's text as sent is stored (docs/decisions/0048-stored-window-text.md)
      moved++;
      return restamp(x, new Date(at).toISOString());
    });
    return { placed, moved };
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
