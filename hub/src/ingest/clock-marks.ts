// What the hub learns from clock marks (docs/decisions/0059-clock-marks.md): agents name the clock that
// stamped each window, event, presence and state (the boot and its steps). Per device the hub keeps, for the
// last few marks it read, the offset of that clock: the highest reading, because a reading can only be
// late (network, an outbox resend, a broker replaying a retained message after a hub restart), never
// early, and a mark's clock does not step. Kept in the hub's database too (clock-marks-repo.ts), read the
// first time a device needs them, so a hub restarted between a reading and the backlog of that clock still
// places it. Written only when a mark is new, becomes the present one again, or its offset grew by
// SAVE_STEP_MS: the readings of a steady clock write nothing (docs/decisions/0055-the-floor-under-ingest.md).
// Several hubs share the table (docs/hub.md "Several hubs"): a window or event naming a mark this hub has
// not read makes it read the device's marks again (at most once per REREAD_EVERY_MS), since another hub
// may have read that clock and written it since.
import type { LoggerPort } from '../mqtt/ports.js';
import { BatchedWrites } from '../mqtt/batched-writes.js';
import { MARKS_PER_DEVICE, type ClockMarksRepo, type MarkWrite, type StoredMark } from './clock-marks-repo.js';

/** Devices remembered; past it the oldest are dropped (and read again from the database on use). */
const MAX_DEVICES = 100_000;

/**
 * A mark's highest offset is written again once it has grown this much: a clock that runs fast would
 * otherwise write on every reading. What a restart loses is below this, far inside `clockSkewMs`.
 */
export const SAVE_STEP_MS = 1000;

/**
 * A device's marks are read again from the database at most this often, when a window or event names a mark
 * this hub does not hold: a device that sends an unknown mark forever costs one read a second, not one a message.
 */
export const REREAD_EVERY_MS = 1000;

interface Mark {
  /** The highest offset read. */
  offset: number;
  /** The offset the database holds. */
  saved: number;
}

interface DeviceMarks {
  /** The mark of the latest reading: the clock that reads now (none yet: the device never named one). */
  present: string | undefined;
  /** Oldest first: the most recently read is last. */
  marks: Map<string, Mark>;
  /** When they were last read again for an unknown mark (`now()`'s time; -Infinity: not since loaded). */
  rereadAt: number;
}

export interface ClockMarkOffsetsDeps {
  /** Where the marks are kept; none: memory only (each hub start learns them again). */
  repo?: ClockMarksRepo | undefined;
  logger: LoggerPort;
  /** Milliseconds for the bound on reading a device's marks again (default: performance.now, which never steps). */
  now?: (() => number) | undefined;
}

export class ClockMarkOffsets {
  private readonly devices = new Map<string, DeviceMarks>();
  private readonly writes: BatchedWrites<MarkWrite>;
  private readonly now: () => number;

  constructor(private readonly d: ClockMarkOffsetsDeps) {
    this.now = d.now ?? (() => performance.now());
    this.writes = new BatchedWrites((b) => d.repo?.write(b), (err, count) => d.logger.warn({ err: String(err), marks: count }, 'device clock marks not written'));
  }

  /** A reading of the clock `mark` names, received at `hubNow`: device time − hub receive time. */
  note(deviceId: string, mark: string, offset: number, hubNow: Date): void {
    const d = this.device(deviceId);
    const had = d.marks.get(mark);
    const highest = had === undefined ? offset : Math.max(had.offset, offset);
    const due = had === undefined || d.present !== mark || highest - had.saved >= SAVE_STEP_MS;
    d.present = mark;
    d.marks.delete(mark); // re-inserted last: the most recently read marks stay
    d.marks.set(mark, { offset: highest, saved: due ? highest : (had as Mark).saved });
    if (d.marks.size > MARKS_PER_DEVICE) {
      const oldest = d.marks.keys().next().value;
      if (oldest !== undefined) d.marks.delete(oldest);
    }
    if (due && this.d.repo) {
      this.writes.set(`${deviceId}\n${mark}`, { deviceId, mark, offsetMs: highest, fresh: had === undefined, at: hubNow.toISOString() });
    }
  }

  /**
   * The offset of the clock that stamped a window or event marked `mark`, when that is a clock the hub read
   * and not the one that reads now (whose windows and events the rules of decision 0057 place); else undefined.
   * A mark this hub does not hold may be one another hub read and wrote since: the device's marks are read
   * again first (reread). A mark it holds, the common case, touches no database.
   */
  earlier(deviceId: string, mark: string | undefined): number | undefined {
    if (mark === undefined) return undefined;
    let d = this.device(deviceId);
    if (!d.marks.has(mark)) d = this.reread(deviceId, d);
    return d.present !== mark ? d.marks.get(mark)?.offset : undefined;
  }

  /**
   * Whether placement must ask `earlier` for this device's windows and events: when the hub knows an earlier
   * clock of it, and always with a database, where another hub may have written a clock this one never read.
   * Memory only, a device with no earlier clock is placed as before without asking.
   */
  has(deviceId: string): boolean {
    return this.d.repo !== undefined || this.device(deviceId).marks.size > 1;
  }

  /** Writes the pending marks now (ingest's stop, through ClockOffsets.flush). */
  flush(): void {
    this.writes.flush();
  }

  private device(deviceId: string): DeviceMarks {
    let d = this.devices.get(deviceId);
    if (d) return d;
    if (this.devices.size >= MAX_DEVICES) {
      const oldest = this.devices.keys().next().value;
      if (oldest !== undefined) this.devices.delete(oldest);
    }
    // Read once per device and hub start (or after it was dropped above): one indexed query.
    d = fromStored(this.d.repo?.load(deviceId) ?? []);
    this.devices.set(deviceId, d);
    return d;
  }

  /**
   * The device's marks read again, unless they were within REREAD_EVERY_MS (then `d` as it is). This hub's
   * pending writes go first, so the rows hold what every hub read, in the order they were written: the
   * last is the present clock, offsets are the highest any hub read. When the database has none (a write
   * failed, or a device not in the devices table), what this hub holds stays.
   */
  private reread(deviceId: string, d: DeviceMarks): DeviceMarks {
    const repo = this.d.repo;
    const now = this.now();
    if (!repo || (now - d.rereadAt < REREAD_EVERY_MS && now >= d.rereadAt)) return d;
    d.rereadAt = now;
    this.writes.flush();
    let stored: StoredMark[];
    try {
      stored = repo.load(deviceId);
    } catch (err) {
      // Placed by what this hub holds (decision 0057 for the unknown mark), as before the read.
      this.d.logger.warn({ err: String(err), deviceId }, 'device clock marks not read again');
      return d;
    }
    if (stored.length === 0) return d;
    const next = fromStored(stored);
    for (const [mark, m] of next.marks) m.offset = Math.max(m.offset, d.marks.get(mark)?.offset ?? m.offset);
    next.rereadAt = now;
    this.devices.set(deviceId, next);
    return next;
  }
}

function fromStored(stored: readonly StoredMark[]): DeviceMarks {
  return {
    present: stored.at(-1)?.mark,
    marks: new Map(stored.map((s) => [s.mark, { offset: s.offsetMs, saved: s.offsetMs }])),
    rereadAt: -Infinity,
  };
}
