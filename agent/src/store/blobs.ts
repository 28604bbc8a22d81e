// Content-addressed model files under DATA/blobs/sha256/ab/cdef…: written to a
// temp name, hashed while written, fsynced, renamed, and the directory fsynced,
// so a power cut leaves either no file or the whole, verified file.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppError, sha256File, toAppError } from '@edgefleet/shared/core';
import { ownerAlive, processIdentity } from '../run-lock.js';

/** A temp file written within this long by a process that may still run is an install in progress, not a leftover. */
export const TMP_GRACE_MS = 3600_000;

/**
 * Which process writes a temp file, in its name: the pid and a short hash of the process's identity
 * (boot id and start time, run-lock.ts), `x` where /proc does not say. A file whose writer is gone is a
 * leftover at once, whatever its age: a kill -9 mid-install and a restart within the hour left it there
 * for as long as the daemon then ran.
 */
export function writerTag(pid: number): string {
  const id = processIdentity(pid);
  return `${pid}-${id === undefined || id === 'zombie' ? 'x' : createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}
let ownTag: string | undefined;
const TMP_NAME = /^[0-9a-f]{16}\.(\d+)-([0-9a-f]{8}|x)\.[0-9a-f]{12}\.part$/;

/** Whether the process that named temp file `name` is gone (false when the name does not say, or it may run). */
function writerGone(name: string): boolean {
  const m = TMP_NAME.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  const tag = `${pid}-${m[2]}`;
  // This process cleans at start, before it writes: a file naming its pid but not it is an earlier process's (a container's pid 1).
  if (pid === process.pid) return tag !== (ownTag ??= writerTag(process.pid));
  if (!ownerAlive({ pid })) return true;
  return m[2] !== 'x' && writerTag(pid) !== tag;
}

export class BlobStore {
  constructor(readonly root: string) {}

  pathOf(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  }

  async has(sha256: string, size?: number): Promise<boolean> {
    try {
      const s = await stat(this.pathOf(sha256));
      return size === undefined || s.size === size;
    } catch {
      return false;
    }
  }

  /**
   * Writes a blob from chunks given by `produce`, checking size and sha256
   * before the rename; HASH_MISMATCH / SIZE_MISMATCH name `what`. A failure to store it (a full disk, an
   * unwritable blobs/) is DISK_FULL / IO_ERROR naming `what` and the directory; `produce`'s own errors pass as they are.
   */
  async write(sha256: string, size: number, what: string, produce: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>, pauseBeforeRename?: () => Promise<void>): Promise<string> {
    const io = <T>(p: Promise<T>): Promise<T> => p.catch((err: unknown) => {
      const e = toAppError(err);
      throw new AppError(e.code, `${what}: cannot store it under ${this.root}: ${e.message} (expected a writable directory with room for ${size} bytes)`, { cause: err });
    });
    const final = this.pathOf(sha256);
    const dir = dirname(final);
    const tmp = join(this.root, 'tmp', `${sha256.slice(0, 16)}.${ownTag ??= writerTag(process.pid)}.${randomBytes(6).toString('hex')}.part`);
    await io(mkdir(dir, { recursive: true }).then(() => mkdir(dirname(tmp), { recursive: true })));
    const fh = await io(open(tmp, 'w', 0o644));
    const hash = createHash('sha256');
    let written = 0;
    try {
      await produce(async (chunk) => {
        hash.update(chunk);
        written += chunk.length;
        if (written > size) throw new AppError('SIZE_MISMATCH', `${what}: more than the declared ${size} bytes`);
        await io(fh.write(chunk));
      });
      if (written !== size) throw new AppError('SIZE_MISMATCH', `${what}: ${written} bytes, expected ${size}`);
      const got = hash.digest('hex');
      if (got !== sha256) throw new AppError('HASH_MISMATCH', `${what}: sha256 ${got} does not match the manifest's ${sha256}`);
      await io(fh.sync());
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await io(fh.close());
    if (pauseBeforeRename) await pauseBeforeRename();
    await io(rename(tmp, final));
    await io(fsyncDir(dir));
    return final;
  }

  /** Re-hashes a stored blob; false when missing or different (bit rot). */
  async verify(sha256: string, size: number): Promise<boolean> {
    try {
      const r = await sha256File(this.pathOf(sha256));
      return r.sha256 === sha256 && r.size === size;
    } catch {
      return false;
    }
  }

  /**
   * Marks a stored blob as just used (its mtime): an install that reuses a blob already stored touches
   * it, so a prune in another process, which spares blobs used within its grace, cannot delete it
   * between the install's check and its commit (install/prune.ts).
   */
  async touch(sha256: string): Promise<void> {
    const now = new Date();
    await utimes(this.pathOf(sha256), now, now).catch(() => undefined);
  }

  /**
   * Deletes a blob unless it was written or touched within `graceMs`; returns whether it went. A
   * missing blob is not an error.
   */
  async removeIfIdle(sha256: string, graceMs: number, now = Date.now()): Promise<boolean> {
    const path = this.pathOf(sha256);
    try {
      if (!(await idleFor(path, (await stat(path)).mtimeMs, graceMs, now))) return false;
    } catch {
      return false;
    }
    await rm(path, { force: true });
    return true;
  }

  /** The sha256 of every stored blob. */
  async list(): Promise<string[]> {
    const top = join(this.root, 'sha256');
    const out: string[] = [];
    for (const prefix of await readdir(top).catch(() => [] as string[])) {
      for (const rest of await readdir(join(top, prefix)).catch(() => [] as string[])) {
        if (/^[0-9a-f]{2}$/.test(prefix) && /^[0-9a-f]{62}$/.test(rest)) out.push(prefix + rest);
      }
    }
    return out;
  }

  /**
   * Removes leftovers of interrupted writes (called at start, before this process writes): temp files whose
   * writer is gone (writerTag), and others idle for TMP_GRACE_MS, so an install writing in another process
   * (the CLI beside a daemon that starts) keeps its file. Returns how many.
   */
  async cleanTmp(now = Date.now()): Promise<number> {
    const dir = join(this.root, 'tmp');
    let n = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const st = await stat(path).catch(() => null);
      if (!st || (!(await idleFor(path, st.mtimeMs, TMP_GRACE_MS, now)) && !writerGone(name))) continue;
      await rm(path, { recursive: true, force: true });
      n++;
    }
    return n;
  }
}

/**
 * Whether a file written or touched at `mtimeMs` has been idle for `graceMs` at `now`. A stamp more than the
 * grace ahead of the clock (written while the clock was ahead, then stepped back: an RTC set wrong, NTP
 * late) is stamped `now`, so its grace runs from now: before, such a file was spared until the clock caught
 * up with it, a forgotten version's files kept for as long as the clock had been ahead (docs/agent.md
 * "Installed versions").
 */
async function idleFor(path: string, mtimeMs: number, graceMs: number, now: number): Promise<boolean> {
  if (mtimeMs - now > graceMs) {
    await utimes(path, now / 1000, now / 1000).catch(() => undefined);
    return false;
  }
  return now - mtimeMs >= graceMs;
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
