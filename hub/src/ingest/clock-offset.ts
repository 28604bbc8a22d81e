// Each device's clock offset (docs/operations.md "Clocks that are wrong"): presence and reported state
// carry the device's time; offset = device time − hub receive time, recorded per device (hub.db
// migration 5), shown on GET /devices/{id} and `edgefleet devices ls`. Past `skewMs` the hub logs a
// warning and appends an audit entry (once per crossing) and places that device's windows by its own clock: each window's start
// is shifted by the measured offset and the shift is counted, instead of filing a box that is 400 days
// ahead in the future (or refusing its windows as future_start).
import { describeClockOffset, type SeqWindow } from '@edgefleet/shared';
import type { AuditRecord } from '../store/audit-repo.js';
import type { Db } from '../store/db.js';
import type { HubStatement as Statement } from '../store/hub-db.js';
import type { Migration } from '../store/migrations.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';

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
}

export class ClockOffsets {
  readonly skewMs: number;
  private readonly cache = new Map<string, number | null>();
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
  }

  /** A message stamped `deviceAt` by the device arrived at `hubNow`. */
  record(deviceId: string, deviceAt: string, hubNow: Date): void {
    const t = Date.parse(deviceAt);
    if (!Number.isFinite(t)) return;
    const offset = t - hubNow.getTime();
    const before = this.offset(deviceId);
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
    this.put(deviceId, offset);
    const wasSkewed = before !== null && Math.abs(before) > this.skewMs;
    if (Math.abs(offset) > this.skewMs && !wasSkewed) {
      this.d.metrics?.inc('edgefleet_device_clock_skewed_total', {});
      const message = `device clock is ${describeClockOffset(offset)} the hub's: its windows are placed by the hub's receive time`;
      this.d.logger.warn({ deviceId, offsetMs: offset, thresholdMs: this.skewMs }, message);
      this.event(deviceId, 'device.clock_skewed', message, offset, hubNow);
    } else if (wasSkewed && Math.abs(offset) <= this.skewMs) {
      this.d.logger.info({ deviceId, offsetMs: offset }, 'device clock agrees with the hub again');
      this.event(deviceId, 'device.clock_ok', 'device clock agrees with the hub again', offset, hubNow);
    }
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
    if (this.cache.has(deviceId)) return this.cache.get(deviceId) ?? null;
    const r = (this.readStmt ??= this.d.db.prepare('SELECT clock_offset_ms AS o FROM devices WHERE id = ?')).get(deviceId) as { o: number | null } | undefined;
    const o = r?.o ?? null;
    this.put(deviceId, o);
    return o;
  }

  /**
   * Windows of a device whose clock is off by more than skewMs, moved onto the hub's clock (start
   * minus the offset); others unchanged. The number moved is added to the device's count.
   */
  place(deviceId: string, windows: SeqWindow[]): SeqWindow[] {
    const off = this.skewed(deviceId);
    if (off === null || windows.length === 0) return windows;
    (this.shiftStmt ??= this.d.db.prepare('UPDATE devices SET clock_shifted_windows = clock_shifted_windows + ? WHERE id = ?')).run(windows.length, deviceId);
    return windows.map((w) => {
      // Whole window lengths, so a shifted window stays aligned to the UTC grid windows are cut on.
      const len = w.lengthSec * 1000;
      const shift = len > 0 ? Math.round(off / len) * len : off;
      return { ...w, start: new Date(Date.parse(w.start) - shift).toISOString() };
    });
  }

  /** Events of such a device, stamped on the hub's clock (so they are not refused as future_start). */
  placeEvents<E extends { at: string }>(deviceId: string, events: E[]): E[] {
    const off = this.skewed(deviceId);
    if (off === null) return events;
    return events.map((e) => ({ ...e, at: new Date(Date.parse(e.at) - off).toISOString() }));
  }

  private skewed(deviceId: string): number | null {
    const off = this.offset(deviceId);
    return off !== null && Math.abs(off) > this.skewMs ? off : null;
  }

  private put(deviceId: string, o: number | null): void {
    if (!this.cache.has(deviceId) && this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(deviceId, o);
  }
}
