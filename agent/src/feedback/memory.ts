// Recent predictions by request id, so a local app can post the ground truth later
// (POST /edgefleet/v1/feedback, docs/agent.md "Feedback"). In memory only: a label for a
// prediction made before a restart is reported unknown. Bounded by rows and by age (oldest
// first: a Map keeps insertion order), since request ids come from clients.
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
}

export const DEFAULT_MEMORY_LIMITS: MemoryLimits = { maxRows: 100_000, maxAgeMs: 24 * 3600_000, maxIdLength: 256, maxRowsPerRequest: 1024 };

export interface Remembered {
  model: string;
  version: string;
  task: TaskPlan;
  at: number;
  /** Per row: the predicted class index (-1: none) or value. */
  predicted: Float64Array;
  /** Per row: 1 once labelled (a row counts once). */
  labelled: Uint8Array;
}

export class PredictionMemory {
  private readonly entries = new Map<string, Remembered>();
  private rowsHeld = 0;
  readonly limits: MemoryLimits;

  constructor(limits: Partial<MemoryLimits> = {}, private readonly now: () => number = Date.now) {
    this.limits = { ...DEFAULT_MEMORY_LIMITS, ...limits };
  }

  get size(): number {
    return this.entries.size;
  }

  get rows(): number {
    return this.rowsHeld;
  }

  /** Remembers what a version predicted for request `id` (a later request with the same id replaces it). */
  remember(id: string, model: string, version: string, task: TaskPlan, outputs: readonly RecordedTensor[]): void {
    if (id.length === 0 || id.length > this.limits.maxIdLength) return;
    const values: number[] = [];
    const rows = eachPrediction(task, outputs, (p) => { if (values.length <= this.limits.maxRowsPerRequest) values.push(p); });
    if (rows <= 0 || rows > this.limits.maxRowsPerRequest || rows > this.limits.maxRows) return;
    this.forget(id);
    const now = this.now();
    this.entries.set(id, { model, version, task, at: now, predicted: Float64Array.from(values), labelled: new Uint8Array(rows) });
    this.rowsHeld += rows;
    this.evict(now);
  }

  /** The prediction of `id`, or undefined when unknown or forgotten (too old, evicted). */
  get(id: string): Remembered | undefined {
    const now = this.now();
    this.evict(now);
    return this.entries.get(id);
  }

  private forget(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.rowsHeld -= e.predicted.length;
  }

  private evict(now: number): void {
    for (const [id, e] of this.entries) {
      if (this.rowsHeld <= this.limits.maxRows && now - e.at <= this.limits.maxAgeMs) break;
      this.entries.delete(id);
      this.rowsHeld -= e.predicted.length;
    }
  }
}
