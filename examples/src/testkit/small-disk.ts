// A real full disk for tests: a tmpfs of a few MiB mounted on a temp dir (mount(8) needs root, which
// this machine and CI's have; elsewhere `smallDisk` answers why not and the test skips). Writes past its
// size fail with ENOSPC exactly as on a full partition, for files and SQLite alike. `fill` leaves the
// given bytes free; `free` removes the ballast. Always `unmount` in the test's `after`.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Bytes free on it now. */
  available(): number;
  /** Writes a ballast file until about `leave` bytes are free (0: nothing at all). */
  fill(leave?: number): void;
  /** Removes the ballast. */
  free(): void;
  unmount(): void;
}

/** A mounted tmpfs of `bytes`, or the reason there is none (not root, mount refused). */
export function smallDisk(bytes: number): SmallDisk | string {
  const dir = mkdtempSync(join(tmpdir(), 'ef-small-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs for a real full disk (needs root): ${(r.stderr || r.error?.message || '').trim()}`;
  }
  const ballast = join(dir, '.ballast');
  const available = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    available,
    fill(leave = 0) {
      const fd = openSync(ballast, 'a');
      try {
        const block = Buffer.alloc(4096, 1);
        while (available() > leave) {
          try {
            writeSync(fd, block, 0, Math.floor(Math.min(block.length, Math.max(1, available() - leave))));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(ballast, { force: true });
    },
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
