// Content-addressed files under DATA/blobs/sha256/ab/<sha256>, written
// atomically (temp file, fsync, rename, fsync of the directory), plus the blobs
// table that records them. Bundles are stored whole: the bundle is the blob.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, existsSync, readdirSync, statSync, openSync, fsyncSync, closeSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { notFound } from '@edgefleet/shared';
import type { Db } from './db.js';

export class BlobStore {
  private readonly root: string;
  // Prepared once: every block request reads both (preparing them per request was most of a request's cost while a fleet downloaded, docs/performance.md "Fleet scale probe").
  private sizeStmt: ReturnType<Db['prepare']> | null = null;
  constructor(private readonly db: Db, dataDir: string) {
    this.root = join(dataDir, 'blobs', 'sha256');
  }

  /** A temp path on the same filesystem, for staging a file before `adopt`. */
  tempPath(): string {
    const dir = join(this.root, '..', 'tmp');
    mkdirSync(dir, { recursive: true });
    return join(dir, `${Date.now()}-${Math.random().toString(36).slice(2)}.part`);
  }

  /**
   * Removes staged `.part` files untouched for `olderThanMs`: an upload cut short by a hub killed
   * mid-push leaves one (a failed or aborted push removes its own). Only old ones: another hub sharing
   * this data dir (docs/hub.md "Several hubs") may be receiving into a fresh one. Returns how many.
   */
  sweepTemp(olderThanMs: number, now = Date.now()): number {
    const dir = join(this.root, '..', 'tmp');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return 0; // no upload ever staged
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith('.part')) continue;
      const file = join(dir, name);
      try {
        if (now - statSync(file).mtimeMs < olderThanMs) continue;
        rmSync(file, { force: true });
        removed++;
      } catch {
        /* gone meanwhile */
      }
    }
    return removed;
  }

  pathOf(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  has(sha256: string): boolean {
    return this.row(sha256) !== undefined && existsSync(this.pathOf(sha256));
  }

  size(sha256: string): number {
    const r = this.row(sha256);
    if (!r) throw notFound('blob', sha256, `no blob ${sha256}`);
    return r.size;
  }

  private row(sha256: string): { size: number } | undefined {
    return (this.sizeStmt ??= this.db.prepare('SELECT size FROM blobs WHERE sha256 = ?')).get(sha256) as { size: number } | undefined;
  }

  /**
   * Moves a staged file (already hashed by the caller) into place under its
   * hash: fsync the file, rename, fsync the directory, then record it.
   */
  adopt(tempFile: string, sha256: string, size: number, at: Date): void {
    this.place(tempFile, sha256, size);
    this.record(sha256, size, at);
  }

  /** The file half of `adopt`: true when it moved a new file in (false: the same blob was there already). */
  place(tempFile: string, sha256: string, size: number): boolean {
    const dest = this.pathOf(sha256);
    if (existsSync(dest) && statSync(dest).size === size) {
      rmSync(tempFile, { force: true });
      return false;
    }
    mkdirSync(dirname(dest), { recursive: true });
    const fd = openSync(tempFile, 'r+');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tempFile, dest);
    const dfd = openSync(dirname(dest), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
    return true;
  }

  /** The row half of `adopt` (inside the caller's transaction). */
  record(sha256: string, size: number, at: Date): void {
    this.db.prepare('INSERT OR IGNORE INTO blobs (sha256, size, created_at) VALUES (?, ?, ?)').run(sha256, size, at.toISOString());
  }

  /** Whether a row names the blob (a placed file without one is removed when its transaction failed). */
  recorded(sha256: string): boolean {
    return this.db.prepare('SELECT 1 FROM blobs WHERE sha256 = ?').get(sha256) !== undefined;
  }

  /** Deletes a blob's file; call after the transaction that deleted its row committed. */
  removeFile(sha256: string): void {
    rmSync(this.pathOf(sha256), { force: true });
  }

  open(sha256: string, range?: { start: number; end: number }): Readable {
    if (!this.has(sha256)) throw notFound('blob', sha256, `no blob ${sha256}`);
    return createReadStream(this.pathOf(sha256), range);
  }
}

/** sha256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}
