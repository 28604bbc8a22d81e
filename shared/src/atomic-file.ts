// Atomic small-file writes (key files, credentials): temp file, fsync, rename. zod-free (core).
// fsyncPath/fsyncTree make a file's bytes, or the names created and renamed in directories, survive a
// crash; copyFileHashed copies a file of any size (over 2 GiB too) in one streamed pass, hashing it.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fchmodSync, fchownSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Writes `text` to `path` via a temp file, fsync, rename and an fsync of the directory, so a crash or a
 * power cut leaves the old file or the new one (without the last, the rename itself could be lost:
 * a key file gone while what it protects was already written elsewhere). A failed write or rename
 * leaves no temp file behind (it may hold a secret).
 */
export function writeFileAtomic(path: string, text: string | Uint8Array, mode = 0o644, owner?: { uid: number; gid: number }): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      // Given an owner, the new file gets it and exactly `mode` (the umask may have cleared group bits) before it is renamed in.
      if (owner) {
        fchownSync(fd, owner.uid, owner.gid);
        fchmodSync(fd, mode);
      }
      writeSync(fd, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(dirname(path));
}


/** fsyncs a file, or a directory (so that the entries created, renamed or removed in it survive a crash). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs every directory under `dir`, then `dir` itself. */
export function fsyncTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) fsyncTree(join(dir, e.name));
  fsyncPath(dir);
}

/**
 * Copies `src` to the new file `dst` (`mode`, default 0600; missing parents made 0700) in one streamed pass,
 * hashing what it copies, and fsyncs it. Refuses an existing `dst`. `onBytes` gets each chunk's length.
 */
export async function copyFileHashed(src: string, dst: string, onBytes?: (n: number) => void, mode = 0o600): Promise<{ sha256: string; size: number }> {
  mkdirSync(dirname(dst), { recursive: true, mode: 0o700 });
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(src, { highWaterMark: 1 << 20 }), async function* (chunks: AsyncIterable<Buffer>) {
    for await (const c of chunks) {
      hash.update(c);
      size += c.length;
      onBytes?.(c.length);
      yield c;
    }
  }, createWriteStream(dst, { flags: 'wx', mode }));
  fsyncPath(dst);
  return { sha256: hash.digest('hex'), size };
}
