// Room on a filesystem: what the agent reports of its data dir (agent/src/sync/disk-space.ts) and the
// hub exposes of its own on /metrics (hub/src/server/wiring.ts). zod-free (core).
import { statfsSync } from 'node:fs';

/** Bytes free to an unprivileged writer (statfs bavail) and in all on the filesystem holding a path. */
export interface DiskRoom {
  free: number;
  total: number;
}

/** The filesystem holding `dir` now, or undefined when statfs fails (the dir is gone, an odd filesystem). */
export function readDiskSpace(dir: string): DiskRoom | undefined {
  try {
    const s = statfsSync(dir);
    const total = s.blocks * s.bsize;
    return { free: Math.min(s.bavail * s.bsize, total), total };
  } catch {
    return undefined;
  }
}
