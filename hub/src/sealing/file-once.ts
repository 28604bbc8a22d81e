// The secrets a hub makes in its data dir the first time it starts: DATA/content-keys.key (keystore.ts),
// DATA/hub.key and DATA/admin.token (server/first-start.ts). Each is made by createFileOnce, so that of
// hubs starting at the same moment on a new data dir (several hubs sharing one, a restart overlapping
// the old process) every one ends with the file the first made: a plain atomic write (temp + rename)
// would let a later hub replace a key an earlier one had already used. It sits beside the keystore, its
// first user, and is no more about sealing than shared's writeFileAtomic: it moves there when another
// program needs it.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError, fsyncPath } from '@edgefleet/shared';

/** Errors of a filesystem without hard links (some network and FUSE filesystems): the file is then made in place. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
/** How long a reader waits for a file another process is still writing in place (no hard links). */
const WAIT_MS = 5000;

export interface CreateOnceOptions {
  /** Mode of a new file (default 0600). */
  mode?: number;
  /** The hard-link step (node:fs linkSync); tests give one that fails as a filesystem without hard links does. */
  link?: (existingPath: string, newPath: string) => void;
  /** How long to wait for an empty file to be written by the process making it (default 5 s). */
  waitMs?: number;
  /** For tests: runs when the file was found missing, before it is made (where a racing process makes it first). */
  beforeCreate?: () => void;
}

export interface FileOnce {
  /** The file's content: this call's when it made the file, else the one found there. */
  data: Buffer;
  /** Whether this call made the file. */
  made: boolean;
}

/**
 * The content of `path`, made from `make()` when there is no file there, never replacing a file that is.
 * The new file is written and fsynced under a temp name next to it, then hard-linked to `path`: the link
 * fails (EEXIST) when another process made `path` first, and then that file is read instead, so every
 * process ends with the same content, and `path` is never seen half-written. Temp files left by a start
 * that was killed (they hold a secret) are removed once `path` exists.
 *
 * On a filesystem without hard links the file is created in place with O_EXCL (never replaces either),
 * so for a moment it is empty: an empty file is taken as being written and waited for (`waitMs`), then
 * refused (CONFIG_INVALID naming it) rather than replaced, since the process writing it may still use
 * what it writes. All files made this way are small and written with one write, so a file that is not
 * empty is whole.
 */
export function createFileOnce(path: string, make: () => string | Uint8Array, opts: CreateOnceOptions = {}): FileOnce {
  const waitMs = opts.waitMs ?? WAIT_MS;
  let found = readWritten(path, waitMs);
  let made = false;
  if (found === undefined) {
    opts.beforeCreate?.();
    const content = make();
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    if (data.length === 0) throw new AppError('INTERNAL', `createFileOnce ${path}: nothing to write (an empty file reads as one being written)`);
    made = create(path, data, opts.mode ?? 0o600, opts.link ?? linkSync);
    found = made ? data : readWritten(path, waitMs);
    if (found === undefined) throw new AppError('IO_ERROR', `${path} was removed while this hub was making it: start again`);
  }
  removeTemps(path);
  return { data: found, made };
}

/** Makes `path` from `data` unless it exists: true when this call made it. */
function create(path: string, data: Buffer, mode: number, link: (existingPath: string, newPath: string) => void): boolean {
  const dir = dirname(path);
  const tmp = join(dir, `${tempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`);
  let made: boolean;
  try {
    writeNew(tmp, data, mode);
    try {
      link(tmp, path);
      made = true;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'EEXIST') made = false;
      // Another process found `path` made and removed the temp files, this one's with them.
      else if (code === 'ENOENT' && existsSync(path)) made = false;
      else if (NO_LINKS.has(code)) made = createInPlace(path, data, mode);
      else throw err;
    }
  } catch (err) {
    throw new AppError('IO_ERROR', `cannot make ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncPath(dir);
  return made;
}

/** O_EXCL in place (no hard links): false when the file exists. A write that fails takes the file away again. */
function createInPlace(path: string, data: Buffer, mode: number): boolean {
  try {
    writeNew(path, data, mode);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw err;
  }
}

/** A new file (O_EXCL) holding `data`, fsynced; on a failed write it is removed (it may hold part of a secret). */
function writeNew(path: string, data: Buffer, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw err;
  }
  closeSync(fd);
}

/** The file's content; undefined when there is none. An empty file is waited for, then refused. */
function readWritten(path: string, waitMs: number): Buffer | undefined {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw new AppError('IO_ERROR', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (data.length > 0) return data;
    if (Date.now() >= deadline) {
      throw new AppError('CONFIG_INVALID',
        `${path} is empty: a hub making it was stopped before it wrote it (on a filesystem without hard links it is written in place), ` +
        `or it is still being written after ${waitMs} ms. It is not replaced while another process may be writing it: when no hub is starting on ${dirname(path)}, remove it and start again`);
    }
    sleepSync(Math.min(25, Math.max(1, deadline - Date.now())));
  }
}

/** Removes the temp files of `path` (best effort: one that cannot be removed is used by no one). */
function removeTemps(path: string): void {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    try {
      rmSync(join(dir, n), { force: true });
    } catch {
      // Left for the next start.
    }
  }
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? '';
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
