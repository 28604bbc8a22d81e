// Recent predictions by request id, so a local app can post the ground truth later
// (POST /edgefleet/v1/feedback, docs/agent.md "Feedback"). Bounded by rows, by bytes and by age (oldest
// first: a Map keeps insertion order), since request ids come from clients: one-row requests with
// long ids cost far more per row than the rows themselves. Kept in agent.db across restarts by keep.ts
// (docs/decisions/0135-remembered-predictions-kept.md): the memory only notes what changed
// (`changes`), the request path never touches SQLite.
import type { RecordedTensor } from '../runtime/recorder.js';
import { eachPrediction, type TaskPlan } from './task.js';

export interface MemoryLimits {
  /** Rows remembered over all requests; the oldest requests are forgotten past it. */
  maxRows: number;
  /** A prediction older than this is forgotten (ms). */
  maxAgeMs: number;
  /** Longest request id remembered (characters); longer ids are not remembered. */
  maxIdLength: number;
  /** A request with more rows than this is not remembered. */
  maxRowsPerRequest: number;
  /** Bytes held over all requests, as entryBytes() counts them; the oldest requests are forgotten past it. */
  maxBytes: number;
}

export const DEFAULT_MEMORY_LIMITS: MemoryLimits = { maxRows: 100_000, maxAgeMs: 24 * 3600_000, maxIdLength: 256, maxRowsPerRequest: 1024, maxBytes: 16 * 1024 * 1024 };

/**
 * What one remembered request holds, at most: its id (two bytes a character at most), 16 bytes a row
 * (its prediction and its labelled mark), and the entry itself (the map's slot, the object and its two
 * arrays: ~260 bytes measured on node 20, with room).
 */
export function entryBytes(idLength: number, rows: number): number {
  return 320 + 2 * idLength + 16 * rows;
}

export interface Remembered {
  model: string;
  version: string;
  task: TaskPlan;
  at: number;
  /** Per row: the predicted class index (-1: none) or value. Plain arrays: a typed array costs ~150 bytes more. */
  predicted: number[];
  /** Per row: 1 once labelled (a row counts once). */
  labelled: number[];
  /** entryBytes() of this entry. */
  bytes: number;
  /** Its place in the order remembered (keep.ts: its row's key on disk). */
  seq: number;
  /** The request id, and its neighbours in the order the bounds forget in (null: the newest, the oldest). */
  id: string;
  newer: Remembered | null;
  older: Remembered | null;
}

/** What changed since the last save (keep.ts), when the memory is kept on disk. */
export interface MemoryChanges {
  /** Remembered since, by id, oldest first (not on disk yet). */
  added: Map<string, Remembered>;
  /** On disk, with a row labelled since. */
  labelled: Set<Remembered>;
  /** Seqs of entries on disk forgotten since (evicted, too old, replaced). */
  dropped: number[];
}

/** How feedback items were answered, since start (route.ts; /metrics, metrics.ts). */
export interface LabelOutcomes { counted: number; unknown: number; already_labelled: number; no_prediction: number }

export class PredictionMemory {
  readonly outcomes: LabelOutcomes = { counted: 0, unknown: 0, already_labelled: 0, no_prediction: 0 };
  private readonly entries = new Map<string, Remembered>();
  // Oldest and newest, linked by `newer`: the oldest is found at once. Not by iterating the Map: after
  // many deletes its first live entry sits behind as many holes (~100 µs a prediction at 100,000 rows).
  private oldest: Remembered | null = null;
  private newest: Remembered | null = null;
  private rowsHeld = 0;
  private bytesHeld = 0;
  private nextSeq = 1;
  readonly limits: MemoryLimits;
  /** Set by keep.ts when the memory is kept on disk; null: nothing is noted. */
  changes: MemoryChanges | null = null;

  constructor(limits: Partial<MemoryLimits> = {}, private readonly now: () => number = Date.now) {
    this.limits = { ...DEFAULT_MEMORY_LIMITS, ...limits };
  }

  get size(): number {
    return this.entries.size;
  }

  get rows(): number {
    return this.rowsHeld;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** Remembers what a version predicted for request `id` (a later request with the same id replaces it). */
  remember(id: string, model: string, version: string, task: TaskPlan, outputs: readonly RecordedTensor[]): void {
    if (id.length === 0 || id.length > this.limits.maxIdLength) return;
    const values: number[] = [];
    const rows = eachPrediction(task, outputs, (p) => { if (values.length <= this.limits.maxRowsPerRequest) values.push(p); });
    const bytes = entryBytes(id.length, rows);
    if (rows <= 0 || rows > this.limits.maxRowsPerRequest || rows > this.limits.maxRows || bytes > this.limits.maxBytes) return;
    const now = this.now();
    // slice: an array of its length, not of the capacity pushes grew
    const e: Remembered = { model, version, task, at: now, predicted: values.slice(0, rows), labelled: new Array<number>(rows).fill(0), bytes, seq: this.nextSeq++, id, newer: null, older: null };
    this.hold(id, e, now);
    this.changes?.added.set(id, e);
  }

  /**
   * An entry read back from disk (keep.ts), in the order remembered: held under the same bounds (the
   * oldest forgotten past them, noted as dropped), not noted as added. False when over a bound alone.
   */
  restore(id: string, e: Remembered): boolean {
    const rows = e.predicted.length;
    if (id.length === 0 || id.length > this.limits.maxIdLength || rows <= 0 || rows > this.limits.maxRowsPerRequest || rows > this.limits.maxRows || e.bytes > this.limits.maxBytes) return false;
    this.nextSeq = Math.max(this.nextSeq, e.seq + 1);
    this.hold(id, e, this.now());
    return true;
  }

  /** Marks a row labelled (route.ts): a row counts once, after a restart too. */
  markLabelled(id: string, e: Remembered, row: number): void {
    e.labelled[row] = 1;
    const c = this.changes;
    if (c !== null && c.added.get(id) !== e) c.labelled.add(e);
  }

  private hold(id: string, e: Remembered, now: number): void {
    this.forget(id);
    this.entries.set(id, e);
    e.older = this.newest;
    e.newer = null;
    if (this.newest === null) this.oldest = e;
    else this.newest.newer = e;
    this.newest = e;
    this.rowsHeld += e.predicted.length;
    this.bytesHeld += e.bytes;
    this.evict(now);
  }

  /** The prediction of `id`, or undefined when unknown or forgotten (too old, evicted). */
  get(id: string): Remembered | undefined {
    this.expire();
    return this.entries.get(id);
  }

  /** Forgets what is too old now. */
  expire(): void {
    this.evict(this.now());
  }

  private forget(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.drop(id, e);
  }

  private drop(id: string, e: Remembered): void {
    this.entries.delete(id);
    this.unlink(e);
    this.rowsHeld -= e.predicted.length;
    this.bytesHeld -= e.bytes;
    const c = this.changes;
    if (c === null) return;
    if (c.added.get(id) === e) c.added.delete(id);
    else {
      c.dropped.push(e.seq);
      c.labelled.delete(e);
    }
  }

  private unlink(e: Remembered): void {
    if (e.older === null) this.oldest = e.newer;
    else e.older.newer = e.newer;
    if (e.newer === null) this.newest = e.older;
    else e.newer.older = e.older;
    e.newer = null;
    e.older = null;
  }

  private evict(now: number): void {
    for (let e = this.oldest; e !== null; e = this.oldest) {
      if (this.rowsHeld <= this.limits.maxRows && this.bytesHeld <= this.limits.maxBytes && now - e.at <= this.limits.maxAgeMs) break;
      this.drop(e.id, e);
    }
  }
}
