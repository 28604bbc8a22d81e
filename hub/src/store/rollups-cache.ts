// The rollup rows this hub last wrote, as it wrote them (docs/decisions/0052-rollup-rows-remembered.md):
// the rollups writer (rollups-writer.ts) adds a batch to the remembered row instead of reading the
// row back, and writes it with a compare-and-set: the UPDATE matches only while every stored column
// still equals what is remembered. A row changed since (another hub, a transaction rolled back after
// the write was remembered, a retention delete) matches nothing, and the writer reads the row as
// before. So what is remembered may be wrong without any harm but a read: it is never trusted.
// Only rows of the newest hour and day written are kept (a row of an hour that is over is seldom
// written again: a late window costs a read); and at most `maxBytes`, least recently written first.
import type { StoredRollup } from '../rollups/values.js';

/** A rollup row's stored columns (the key aside), as bound to its INSERT or UPDATE: every blob present. */
export type StoredRow = StoredRollup & { dist: Uint8Array; mom: Uint8Array; lat: Uint8Array };

/** What a remembered row costs beyond its bytes (the entry, its key, the Buffers' headers). */
const ENTRY_OVERHEAD = 400;

/** The default bound: ~40,000 rows of a 16-feature model (an hour and a day row for 20,000 devices). */
export const ROLLUP_CACHE_BYTES = 64 * 1024 * 1024;

export function rowBytes(r: StoredRow): number {
  return ENTRY_OVERHEAD + r.errors.length * 2 + r.dist.byteLength + r.mom.byteLength + r.lat.byteLength + (r.perf?.byteLength ?? 0);
}

interface Entry {
  row: StoredRow;
  grain: number;
  start: number;
  bytes: number;
}

export class RollupRowCache {
  private readonly rows = new Map<string, Entry>();
  /** The newest start written per grain: rows of earlier periods are dropped when it moves on. */
  private readonly newest = new Map<number, number>();
  private held = 0;

  constructor(private readonly maxBytes = ROLLUP_CACHE_BYTES) {}

  get size(): number {
    return this.rows.size;
  }

  get bytes(): number {
    return this.held;
  }

  get(key: string): StoredRow | undefined {
    return this.rows.get(key)?.row;
  }

  /** Remembers `row`, the row of (`grain`, `start`), as the latest written under `key` (most recent: dropped last). */
  set(key: string, row: StoredRow, grain: number, start: number): void {
    this.delete(key);
    const newest = this.newest.get(grain);
    if (newest === undefined || start > newest) {
      this.newest.set(grain, start);
      if (newest !== undefined) for (const [k, e] of this.rows) if (e.grain === grain && e.start < start) this.delete(k);
    } else if (start < newest) return;
    const bytes = rowBytes(row);
    this.rows.set(key, { row, grain, start, bytes });
    this.held += bytes;
    for (const k of this.rows.keys()) {
      if (this.held <= this.maxBytes) break;
      this.delete(k);
    }
  }

  delete(key: string): void {
    const old = this.rows.get(key);
    if (!old) return;
    this.rows.delete(key);
    this.held -= old.bytes;
  }

  clear(): void {
    this.rows.clear();
    this.newest.clear();
    this.held = 0;
  }
}
