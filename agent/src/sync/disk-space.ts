// Room on the filesystem of the agent's data dir, in its reported state (docs/agent.md "Disk space"):
// read with statfs at every state report and once a minute; a change of band (free share at least 10%,
// under 10%, under 5%, under 1%) reports the state again, so the hub learns of a filling disk without a
// report a minute from every box.
import { diskShare, readDiskSpace } from '@edgefleet/shared/core';
import type { DiskSpace } from '@edgefleet/shared';

/** Free shares at which the band changes: under 10%, under 5%, under 1%. */
const BANDS = [0.1, 0.05, 0.01] as const;

/** 0 while at least 10% is free, then 1, 2, 3 as it falls under 10%, 5%, 1%. */
export function diskBand(d: DiskSpace): number {
  const share = diskShare(d);
  return BANDS.filter((b) => share < b).length;
}

export class DiskWatch {
  private band = -1;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly dir: string, private readonly onBandChange: () => void, private readonly everyMs = 60_000) {}

  /** Reads the disk for a state report, remembering its band. */
  read(): DiskSpace | undefined {
    const d = readDiskSpace(this.dir);
    this.band = d ? diskBand(d) : -1;
    return d;
  }

  /** Bytes free to the agent now (a version waiting for room looks: sync/disk-wait.ts); undefined when unreadable. */
  free(): number | undefined {
    return readDiskSpace(this.dir)?.free;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      const d = readDiskSpace(this.dir);
      if ((d ? diskBand(d) : -1) !== this.band) this.onBandChange();
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
