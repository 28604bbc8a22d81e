// What the hub learns from clock marks (docs/decisions/0059-clock-marks.md): agents name the clock that
// stamped each window, presence and state (the boot and its steps). Per device the hub keeps, for the
// last few marks it read, the offset of that clock: the highest reading, because a reading can only be
// late (network, an outbox resend, a broker replaying a retained message after a hub restart), never
// early, and a mark's clock does not step. Memory only, bounded; after a hub restart it learns again.

/** Marks remembered per device: a box that steps more often than this between reports is placed by the older rules. */
const MARKS_PER_DEVICE = 8;

/** Devices remembered; past it the oldest are dropped. */
const MAX_DEVICES = 100_000;

interface DeviceMarks {
  /** The mark of the latest reading: the clock that reads now. */
  present: string;
  offsets: Map<string, number>;
}

export class ClockMarkOffsets {
  private readonly devices = new Map<string, DeviceMarks>();

  /** A reading of the clock `mark` names: device time − hub receive time. */
  note(deviceId: string, mark: string, offset: number): void {
    let d = this.devices.get(deviceId);
    if (!d) {
      if (this.devices.size >= MAX_DEVICES) {
        const oldest = this.devices.keys().next().value;
        if (oldest !== undefined) this.devices.delete(oldest);
      }
      d = { present: mark, offsets: new Map() };
      this.devices.set(deviceId, d);
    }
    d.present = mark;
    const had = d.offsets.get(mark);
    d.offsets.delete(mark); // re-inserted last: the most recently read marks stay
    d.offsets.set(mark, had === undefined ? offset : Math.max(had, offset));
    if (d.offsets.size > MARKS_PER_DEVICE) {
      const oldest = d.offsets.keys().next().value;
      if (oldest !== undefined) d.offsets.delete(oldest);
    }
  }

  /**
   * The offset of the clock that stamped a window marked `mark`, when that is a clock the hub read and not
   * the one that reads now (whose windows the rules of decision 0057 place); else undefined.
   */
  earlier(deviceId: string, mark: string | undefined): number | undefined {
    if (mark === undefined) return undefined;
    const d = this.devices.get(deviceId);
    return d && d.present !== mark ? d.offsets.get(mark) : undefined;
  }

  /** Whether the hub knows any earlier clock of this device (else placement is as before). */
  has(deviceId: string): boolean {
    const d = this.devices.get(deviceId);
    return d !== undefined && d.offsets.size > 1;
  }
}
