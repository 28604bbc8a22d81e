// What the hub learns from clock marks (docs/decisions/0059-clock-marks.md): agents name the clock that
// stamped each window, event, presence and state (the boot and its steps). Per device the hub keeps, for the
// last few marks it read, the offset of that clock: the highest reading, because a reading can only be
// late (network, an outbox resend, a broker replaying a retained message after a hub restart), never
// early, and a mark's clock does not step. Kept in the hub's database too (clock-marks-repo.ts), read the
// first time a device needs them, so a hub restarted between a reading and the backlog of that clock still
// places it. Written only when a mark is new, becomes the present one again, or its offset grew by
// SAVE_STEP_MS: the readings of a steady clock write nothing (docs/decisions/0055-the-floor-under-ingest.md).
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
}

export interface ClockMarkOffsetsDeps {
  /** Where the marks are kept; none: memory only (each hub start learns them again). */
  repo?: ClockMarksRepo | undefined;
  logger: LoggerPort;
}

export class ClockMarkOffsets {
  private readonly devices = new Map<string, DeviceMarks>();
  private readonly writes: BatchedWrites<MarkWrite>;

  constructor(private readonly d: ClockMarkOffsetsDeps) {
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
   */
  earlier(deviceId: string, mark: string | undefined): number | undefined {
    if (mark === undefined) return undefined;
    const d = this.device(deviceId);
    return d.present !== mark ? d.marks.get(mark)?.offset : undefined;
  }

  /** Whether the hub knows any earlier clock of this device (else placement is as before). */
  has(deviceId: string): boolean {
    return this.device(deviceId).marks.size > 1;
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
}

function fromStored(stored: readonly StoredMark[]): DeviceMarks {
  return {
    present: stored.at(-1)?.mark,
    marks: new Map(stored.map((s) => [s.mark, { offset: s.offsetMs, saved: s.offsetMs }])),
  };
}
