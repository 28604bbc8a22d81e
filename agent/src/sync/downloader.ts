// Fetches a blob (a bundle file, addressed by sha256) over the MQTT block protocol into a partial file,
// resumably: a sliding window of block requests stays in flight; the contiguous prefix that has arrived
// is fsynced and recorded durably every `commitEveryBytes`, so after a kill, reboot or disconnect the
// download resumes from the last commit. Only a file whose size and sha256 match is moved into place
// (temp name, fsync, rename, fsync dir). After AWS IoT MQTT file streams. The window: download-window.ts.
import { mkdirSync, openSync, closeSync, fsyncSync, ftruncateSync, writeSync, rmSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pruneDownloads } from './download-prune.js';
import { discardDownload, finalPath, partialPath, placeVerified } from './download-files.js';
import { advancePrefix, nextRequest, rewind, wantedBlock, type ActiveDownload } from './download-window.js';
import { AppError, sha256File, storageError, type BlobDataHeader, type BlobGet } from '@edgefleet/shared';

export interface DownloadRecord {
  sha256: string;
  size: number;
  committed: number;
}

/** Durable progress of partial downloads (a table in agent.db). */
export interface DownloadStore {
  get(sha256: string): DownloadRecord | null;
  save(rec: DownloadRecord): void;
  remove(sha256: string): void;
}

/** Sends blob/get requests; the sync layer routes incoming blob/data frames to `deliver`. */
export interface BlobRequester {
  request(req: BlobGet): void;
}

export interface DownloaderOptions {
  dir: string;
  store: DownloadStore;
  requester: BlobRequester;
  blockSize?: number;
  /** Blocks in flight at once. */
  window?: number;
  /**
   * Re-request what is missing when nothing has arrived for this long (default 5 s); each stall in a
   * row doubles the wait, up to maxStallMs (default 60 s), and a block that arrives starts it over: a
   * hub that does not answer (overloaded, or its blob server stopped) is asked once a minute by each
   * box, not every 5 s for ever.
   */
  stallMs?: number;
  maxStallMs?: number;
  commitEveryBytes?: number;
  onProgress?: (sha256: string, received: number, size: number) => void;
  /** Test hook (EDGEFLEET_TEST_PAUSE_AT): stops the download at a point so a test can kill the process there. */
  pause?: (point: 'download:mid' | 'download:before-rename') => Promise<void>;
}

export class BlobDownloader {
  private readonly blockSize: number;
  private readonly window: number;
  private readonly stallMs: number;
  private readonly maxStallMs: number;
  private readonly commitEvery: number;
  private readonly active = new Map<string, ActiveDownload>();

  constructor(private readonly opts: DownloaderOptions) {
    this.blockSize = opts.blockSize ?? 1024 * 1024;
    this.window = opts.window ?? 8;
    this.stallMs = opts.stallMs ?? 5000;
    this.maxStallMs = Math.max(this.stallMs, opts.maxStallMs ?? 60_000);
    this.commitEvery = opts.commitEveryBytes ?? 4 * 1024 * 1024;
    mkdirSync(join(opts.dir, 'partial'), { recursive: true });
    mkdirSync(join(opts.dir, 'bundles'), { recursive: true });
  }

  finalPath(sha256: string): string {
    return finalPath(this.opts.dir, sha256);
  }

  private partialPath(sha256: string): string {
    return partialPath(this.opts.dir, sha256);
  }

  isActive(sha256: string): boolean {
    return this.active.has(sha256);
  }

  /** Resolves with the path of the verified file; resumes from durable progress. */
  async fetch(sha256: string, size: number, onProgress?: (received: number, size: number) => void): Promise<string> {
    const final = this.finalPath(sha256);
    if (existsSync(final) && statSync(final).size === size) {
      const h = await sha256File(final);
      if (h.sha256 === sha256) return final;
      rmSync(final, { force: true });
    }
    const existing = this.active.get(sha256);
    if (existing) return new Promise((resolve, reject) => {
      const prevResolve = existing.resolve;
      const prevReject = existing.reject;
      existing.resolve = (p) => { prevResolve(p); resolve(p); };
      existing.reject = (e) => { prevReject(e); reject(e); };
    });
    const rec = this.opts.store.get(sha256);
    const path = this.partialPath(sha256);
    // The record never counts more than the file holds (a partial removed after a refused write, or by hand).
    const held = existsSync(path) ? statSync(path).size : 0;
    const committed = rec && rec.size === size ? Math.min(rec.committed, size, held) : 0;
    let fd = -1;
    try {
      fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
      // Anything past the last durable commit may be garbage from before a crash: drop it.
      ftruncateSync(fd, committed);
      this.opts.store.save({ sha256, size, committed });
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      throw this.refusedWrite(sha256, size, err);
    }
    return new Promise<string>((resolve, reject) => {
      const a: ActiveDownload = { sha256, size, fd, committed, received: new Map(), nextOffset: committed, lastCommit: committed, stallTimer: null, stalls: 0, resolve, reject, onProgress };
      this.active.set(sha256, a);
      if (committed >= size) this.finishing(a);
      else this.pump(a);
    });
  }

  /** Feeds one blob/data frame. Frames for unknown blobs or outside what was asked are ignored. */
  deliver(header: BlobDataHeader, bytes: Buffer): void {
    const a = this.active.get(header.sha256);
    if (!a) return;
    if (header.error) {
      this.fail(a, new AppError('NOT_FOUND', `hub refused blob ${header.sha256.slice(0, 12)}…: ${header.error.code}: ${header.error.message}`, { details: { hubRefused: header.error.code } }));
      return;
    }
    if (header.total !== a.size) {
      this.fail(a, new AppError('SIZE_MISMATCH', `blob ${header.sha256.slice(0, 12)}… is ${header.total} bytes on the hub, expected ${a.size}`));
      return;
    }
    if (!wantedBlock(a, header.offset, bytes.length, this.blockSize)) return;
    try {
      writeSync(a.fd, bytes, 0, bytes.length, header.offset);
    } catch (err) {
      this.refused(a, err);
      return;
    }
    a.received.set(header.offset, bytes.length);
    if (advancePrefix(a)) {
      a.stalls = 0;
      this.opts.onProgress?.(a.sha256, a.committed, a.size);
      a.onProgress?.(a.committed, a.size);
      if (a.committed - a.lastCommit >= this.commitEvery || a.committed >= a.size) {
        try {
          this.commit(a);
        } catch (err) {
          this.refused(a, err);
          return;
        }
      }
      if (this.opts.pause && !a.midPaused && a.committed < a.size && a.committed * 2 >= a.size) {
        // Test hook: make the progress so far durable and stop asking while paused (for ever at
        // EDGEFLEET_TEST_PAUSE_AT=download:mid, so a test can kill the process here).
        this.commit(a);
        a.midPaused = true;
        a.halted = true;
        if (a.stallTimer) clearTimeout(a.stallTimer);
        this.opts.pause('download:mid').then(() => {
          a.halted = false;
          if (this.active.get(a.sha256) === a) this.pump(a);
        }, (err: unknown) => this.fail(a, err));
        return;
      }
    }
    if (a.halted) return;
    if (a.committed >= a.size) this.finishing(a);
    else this.pump(a);
  }

  /** Re-sends requests for everything still missing (after a reconnect). */
  resumeAll(): void {
    for (const a of this.active.values()) {
      rewind(a);
      a.stalls = 0;
      this.pump(a);
    }
  }

  /** Removes the downloads of blobs not in `keep` and not being fetched (download-prune.ts); returns how many files went. */
  prune(keep: ReadonlySet<string>): number {
    return pruneDownloads(this.opts.dir, this.opts.store, keep, (sha256) => this.active.has(sha256));
  }

  /** Stops all downloads; progress up to the last commit stays on disk. */
  stop(): void {
    for (const a of [...this.active.values()]) {
      this.commit(a);
      this.fail(a, new AppError('NOT_READY', 'download stopped'));
    }
  }

  private commit(a: ActiveDownload): void {
    fsyncSync(a.fd);
    this.opts.store.save({ sha256: a.sha256, size: a.size, committed: a.committed });
    a.lastCommit = a.committed;
  }

  private pump(a: ActiveDownload): void {
    if (a.halted) return;
    const next = nextRequest(a, this.window, this.blockSize);
    if (next) this.opts.requester.request({ schema: 'edgefleet.blob-get/v1', sha256: a.sha256, offset: next.offset, blockSize: this.blockSize, count: next.count });
    if (a.stallTimer) clearTimeout(a.stallTimer);
    a.stallTimer = setTimeout(() => {
      // Nothing arrived for a while: forget what is in flight and ask again from the prefix.
      rewind(a);
      a.stalls++;
      this.pump(a);
    }, Math.min(this.maxStallMs, this.stallMs * 2 ** Math.min(a.stalls, 30)));
  }

  private cleanup(a: ActiveDownload): void {
    if (a.stallTimer) clearTimeout(a.stallTimer);
    this.active.delete(a.sha256);
    try {
      closeSync(a.fd);
    } catch {
      /* already closed */
    }
  }

  private fail(a: ActiveDownload, err: unknown): void {
    this.cleanup(a);
    a.reject(err);
  }

  /**
   * The disk refused a block or a commit (full: DISK_FULL, else IO_ERROR). The download fails naming the
   * directory, and its partial file goes with its progress: on a full disk the box's own summaries need
   * that room more than a resume does. (It was caught as an invalid message before: the block was asked
   * again after every stall, for ever, and the hub never heard why.)
   */
  private refused(a: ActiveDownload, err: unknown): void {
    this.fail(a, this.refusedWrite(a.sha256, a.size, err, '; the partial download was removed'));
    this.discard(a.sha256);
  }

  /**
   * Removes what is on disk of `sha256` (partial and finished file) with its progress, unless it is being
   * fetched: a download the disk refused gives its room back (docs/agent.md "Disk space"). Never throws.
   */
  discard(sha256: string): void {
    if (!this.active.has(sha256)) discardDownload(this.opts.dir, this.opts.store, sha256);
  }

  /** A write the disk refused while fetching `sha256`, naming the directory and the room needed. */
  private refusedWrite(sha256: string, size: number, err: unknown, after = ''): unknown {
    return storageError(err, `download of blob ${sha256.slice(0, 12)}…: cannot store it under ${join(this.opts.dir, 'partial')}`, `room for its ${size} bytes${after}`);
  }

  /** Runs finish() in the background; whatever fails there (disk, SQLite) rejects the fetch. */
  private finishing(a: ActiveDownload): void {
    this.finish(a).catch((err: unknown) => a.reject(err));
  }

  /** The last block committed: the file is verified and moved into place (download-files.ts). */
  private async finish(a: ActiveDownload): Promise<void> {
    try {
      try {
        this.commit(a);
      } finally {
        this.cleanup(a);
      }
      a.resolve(await placeVerified(this.opts.dir, this.opts.store, a.sha256, a.size, this.opts.pause));
    } catch (err) {
      a.reject(err);
    }
  }
}
