// Windows of a model version the registry does not hold, parked rather than dropped (docs/decisions/
// 0097-parked-windows.md, docs/operations.md "Backup and restore"). A hub restored from an older backup lacks
// the versions pushed after the snapshot; its devices still run them and send what they recorded. Such a
// window is parked (store/parked-repo.ts) and acked, so the device's outbox moves on; once the version is
// in the registry again (pushed again, by this hub or another one sharing the database) a sweep every
// `everyMs` (parked-release.ts) stores the parked windows through the guard and the window writer, like windows arriving then,
// and deletes them from the parked table after the commit. (device, seq) stays the key of both tables, so
// a window is stored once whatever is resent or swept twice (a crash between the commit and the delete).
// Bounded per device by `maxBytes` (characters of their JSON) and for the whole hub by `maxTotalBytes`: past
// either, a window of a version the registry does not hold is refused as before (unassigned_version, acked,
// not stored), so a device making up versions holds at most that much of the hub's disk, and all of them
// at most the hub's cap. Both are counted per hub (read from the table once, then counted): with several
// hubs each bounds what it parks, and reads the table again before it refuses (another hub's sweep may have
// emptied it: recount()). Windows parked longer than `retentionDays` are deleted by the sweep
// (parked-expiry.ts): a version never pushed does not hold them for ever.
import type { DeviceEvent, SeqWindow } from '@edgefleet/shared';
import { windowText } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import { ParkedRepo, type ParkedVersion } from '../store/parked-repo.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import { expireParked } from './parked-expiry.js';
import { releaseParked } from './parked-release.js';
import type { Parkable, ParkResult } from './guard.js';

export interface ParkedDeps {
  db: Db;
  logger: LoggerPort;
  metrics?: MetricsPort | undefined;
  /** Characters of JSON of parked windows per device (ingest.maxParkedBytesPerDevice). */
  maxBytes: number;
  /** Characters of JSON of parked windows of all devices (ingest.maxParkedBytes). */
  maxTotalBytes: number;
  /** Days a window stays parked; older ones are deleted by the sweep (ingest.parkedRetentionDays). */
  retentionDays: number;
  /** The hub's clock (parked_at is the hub's time of parking). */
  now(): Date;
  /**
   * Stores a device's parked windows and events of a version the registry now holds (through the guard and
   * the window writer, nothing acked, the events not followed: service.ts); `stored` runs after their
   * commit. Resolves once they are stored.
   */
  release(deviceId: string, windows: SeqWindow[], events: DeviceEvent[], stored: () => void): Promise<void>;
  /** How often the parked versions are matched against the registry (default 10 s). */
  everyMs?: number;
  /** Parked windows whose characters are summed per query when the hub-wide count is read at start (default COUNT_CHUNK). */
  countChunk?: number;
  /** How often parking of one device is logged at most (default 60 s). */
  logEveryMs?: number;
  /**
   * Other hubs park and sweep the same table (several hubs): a count that would refuse is read from the table
   * again first, a device's at most every RECOUNT_DEVICE_MS, the whole table's every RECOUNT_TABLE_MS.
   */
  shared?: boolean;
}

/** A device's parked characters are read again before a refusal at most this often (several hubs). */
export const RECOUNT_DEVICE_MS = 60_000;
/** The table's are summed again (by the next sweep, in chunks) before refusals at most this often (several hubs). */
export const RECOUNT_TABLE_MS = 600_000;

interface DeviceCount { bytes: number; readAt: number; loggedAt: number; unlogged: number }

/** Versions GET /devices/{id} lists at most (the oldest parked first; the totals count them all). */
export const STATUS_VERSIONS = 50;

/** What GET /devices/{id} shows of a device's parked windows. */
export interface ParkedStatus { windows: number; bytes: number; versions: ParkedVersion[] }

/**
 * Parked windows summed per query when the hub-wide count is read (the event loop free between queries):
 * one pass over a full table (4 GiB at the default cap) at once would stall the hub for seconds.
 */
const COUNT_CHUNK = 1000;
/** Devices whose parked bytes are cached; past it the oldest entries are dropped (and read again on use). */
const MAX_CACHED_DEVICES = 10_000;

/** A parked item's text: a window's JSON without its seq, an event's as `{"event": ...}` (a window never has that key). */
function parkedText(p: Parkable): string {
  const { seq: _seq, ...rest } = p.item;
  return p.kind === 'event' ? JSON.stringify({ event: rest }) : windowText(p.item) ?? JSON.stringify(rest);
}

export class ParkedWindows {
  private readonly repo: ParkedRepo;
  /** Per device: characters parked (the table's count when read at `readAt`, plus this hub's parking since) and when last logged. */
  private readonly devices = new Map<string, DeviceCount>();
  /** Characters parked by all devices: the table's, summed in chunks from start() on (0 until the sum ends), ... */
  private tableBytes = 0;
  /** ... plus what this hub parked, less what it deleted, since that sum began. */
  private sinceBytes = 0;
  private counted = false;
  /** When the last sum of the table began (hub clock, ms). */
  private countedAt = -Infinity;
  private counting: Promise<void> | null = null;
  /** When the hub-wide cap's refusal was last logged (once a minute at most, whatever the devices). */
  private readonly capLog = { loggedAt: -Infinity, unlogged: 0 };
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private stopped = false;

  constructor(private readonly deps: ParkedDeps) {
    this.repo = new ParkedRepo(deps.db);
  }

  start(): void {
    this.stopped = false;
    this.countTable().catch(() => undefined); // it logs a failure and resolves; the next sweep counts again
    this.timer ??= setInterval(() => {
      this.sweep().catch((err: unknown) => this.deps.logger.warn({ err }, 'storing parked telemetry windows failed (tried again at the next sweep)'));
    }, this.deps.everyMs ?? 10_000);
    this.timer.unref();
  }

  /** Stops the sweep; one under way ends after its current batch (whose write the ingest's stop flushes). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Parks a window or event the guard refused as unassigned_version, if the registry does not hold its
   * version and the device has room: 'parked', or 'held' when the seq was parked before (a resend); false:
   * refused as before. An event's text is `{"event": ...}` (a window's never has that key).
   */
  park(deviceId: string, p: Parkable, now: Date): ParkResult {
    const w = p.item;
    if (w.model === undefined || w.version === undefined || this.repo.held(w.model, w.version)) return false;
    const text = parkedText(p);
    const d = this.recount(deviceId, text.length, now);
    if (d.bytes + text.length > this.deps.maxBytes) {
      this.log(deviceId, d, now, { seq: w.seq, model: w.model, version: w.version, parkedBytes: d.bytes, maxParkedBytesPerDevice: this.deps.maxBytes },
        'refused a window of a model version the registry does not hold: the device has maxParkedBytesPerDevice parked (acked, not stored)');
      return false;
    }
    const total = this.tableBytes + this.sinceBytes;
    if (total + text.length > this.deps.maxTotalBytes) {
      // Several hubs: the next sweep sums the table again (within everyMs); refused meanwhile.
      if (this.deps.shared && this.counted && !(now.getTime() - this.countedAt < RECOUNT_TABLE_MS)) this.counted = false;
      this.log(deviceId, this.capLog, now, { seq: w.seq, model: w.model, version: w.version, hubParkedBytes: total, maxParkedBytes: this.deps.maxTotalBytes },
        'refused a window of a model version the registry does not hold: the hub has maxParkedBytes parked (acked, not stored)');
      return false;
    }
    const added = this.repo.park(deviceId, { seq: w.seq, model: w.model, version: w.version }, text, now);
    d.bytes += added;
    this.sinceBytes += added;
    if (added === 0) return 'held';
    this.deps.metrics?.inc('edgefleet_ingest_parked_total'); // no model label: a device names any model it likes
    this.log(deviceId, d, now, { seq: w.seq, kind: p.kind, model: w.model, version: w.version, parkedBytes: d.bytes },
      'parked a telemetry window or event of a model version the registry does not hold (acked; stored once that version is pushed again)');
    return 'parked';
  }

  /**
   * Parks again what park() parked in a transaction that failed (the message retried alone: service.ts),
   * without the bounds (they let it in): counted again, so the bounds refuse that much early.
   */
  repark(deviceId: string, items: readonly Parkable[], now: Date): void {
    const d = this.device(deviceId);
    for (const p of items) {
      const added = this.repo.park(deviceId, p.item as { seq: number; model: string; version: string }, parkedText(p), now);
      d.bytes += added;
      this.sinceBytes += added;
    }
  }

  /** Whether the device's seq is parked (the guard asks for seqs at or below the device's highest parked one). */
  holds(deviceId: string, seq: number): boolean {
    return this.repo.has(deviceId, seq);
  }

  /** The device's parked windows (undefined: none), read from the database. */
  status(deviceId: string): ParkedStatus | undefined {
    const t = this.repo.totals(deviceId);
    return t.windows ? { ...t, versions: this.repo.versions(deviceId, STATUS_VERSIONS) } : undefined;
  }

  /**
   * Stores the parked windows of every version the registry holds now, then deletes those parked longer
   * than retentionDays; returns how many were stored.
   */
  sweep(): Promise<number> {
    return (this.sweeping ??= this.countTable().then(() => this.releaseAll()).then(async (n) => {
      await this.expire();
      return n;
    }).finally(() => {
      this.sweeping = null;
    }));
  }

  /**
   * Sums the table's parked characters for the hub-wide count once (again after a failure, logged, or a
   * stop), COUNT_CHUNK windows a query by (device, seq). A window this hub parks meanwhile ahead of the
   * cursor is counted twice (conservative: the cap refuses that much early, until the next start).
   */
  private countTable(): Promise<void> {
    if (this.counted) return Promise.resolve();
    return (this.counting ??= this.sumTable().then((sum) => {
      if (sum === null) return;
      this.tableBytes = sum;
      this.counted = true;
    }, (err: unknown) => {
      this.deps.logger.warn({ err }, 'counting the parked telemetry windows failed (counted again at the next sweep)');
    }).finally(() => {
      this.counting = null;
    }));
  }

  /** The table's parked characters (null: stopped first). */
  private async sumTable(): Promise<number | null> {
    // A sum again (several hubs): the total holds what it held until the new sum replaces it.
    this.tableBytes += this.sinceBytes;
    this.sinceBytes = 0;
    this.countedAt = this.deps.now().getTime();
    let sum = 0;
    let after = { deviceId: '', seq: 0 };
    for (;;) {
      if (this.stopped) return null;
      const chunk = this.repo.bytesAfter(after, this.deps.countChunk ?? COUNT_CHUNK);
      sum += chunk.bytes;
      if (!chunk.last) return sum;
      after = chunk.last;
      await new Promise((r) => setImmediate(r));
    }
  }

  private async expire(): Promise<void> {
    const before = new Date(this.deps.now().getTime() - this.deps.retentionDays * 86_400_000);
    const { bytesByDevice } = await expireParked({ ...this.deps, repo: this.repo, stopped: () => this.stopped }, before, this.deps.retentionDays);
    for (const [deviceId, bytes] of bytesByDevice) {
      const d = this.devices.get(deviceId);
      if (d) d.bytes = Math.max(0, d.bytes - bytes);
      this.sinceBytes -= bytes;
    }
  }

  private releaseAll(): Promise<number> {
    return releaseParked({
      repo: this.repo, logger: this.deps.logger, stopped: () => this.stopped, release: this.deps.release,
      removed: (bytes) => { this.sinceBytes -= bytes; },
      released: (deviceId) => { this.devices.delete(deviceId); },
    });
  }

  private device(deviceId: string, now: Date = this.deps.now()): DeviceCount {
    let d = this.devices.get(deviceId);
    if (!d) {
      if (this.devices.size >= MAX_CACHED_DEVICES) {
        const oldest = this.devices.keys().next().value;
        if (oldest !== undefined) this.devices.delete(oldest);
      }
      d = { bytes: this.repo.totals(deviceId).bytes, readAt: now.getTime(), loggedAt: -Infinity, unlogged: 0 };
      this.devices.set(deviceId, d);
    }
    return d;
  }

  /**
   * The device's count; with several hubs read from the table again when adding `adding` would pass the
   * bound and the count is RECOUNT_DEVICE_MS old: another hub's sweep may have stored or expired what this
   * hub counted (one device's rows summed, at most once a minute per device at its bound).
   */
  private recount(deviceId: string, adding: number, now: Date): DeviceCount {
    const d = this.device(deviceId, now);
    if (this.deps.shared && d.bytes + adding > this.deps.maxBytes && !(now.getTime() - d.readAt < RECOUNT_DEVICE_MS)) {
      d.bytes = this.repo.totals(deviceId).bytes;
      d.readAt = now.getTime();
    }
    return d;
  }

  private log(deviceId: string, d: { loggedAt: number; unlogged: number }, now: Date, fields: object, msg: string): void {
    if (now.getTime() - d.loggedAt < (this.deps.logEveryMs ?? 60_000)) {
      d.unlogged++;
      return;
    }
    this.deps.logger.warn({ deviceId, ...fields, alsoSinceLastLog: d.unlogged }, msg);
    d.loggedAt = now.getTime();
    d.unlogged = 0;
  }
}
