// The per-value kernels of WindowAcc (acc.ts): moment layout and Welford update, the latency
// bucket index, and tensor lookup helpers (docs/agent-summaries.md). Request path: no allocation.
import { LATENCY_BOUNDS_MS } from '@edgefleet/shared/core';
import type { RecordedTensor } from '../runtime/recorder.js';

export type Numbers = ArrayLike<number | bigint>;

export const MOM = 5; // n, mean, m2, min, max

export function initMoments(a: Float64Array): void {
  for (let i = 0; i < a.length; i += MOM) {
    a[i + 3] = Infinity;
    a[i + 4] = -Infinity;
  }
}

/** Welford update of the moments at offset o (finite x only). */
export function addMoment(m: Float64Array, o: number, x: number): void {
  const n = (m[o] as number) + 1;
  m[o] = n;
  const mean = m[o + 1] as number;
  const d = x - mean;
  const mean2 = mean + d / n;
  m[o + 1] = mean2;
  m[o + 2] = (m[o + 2] as number) + d * (x - mean2);
  if (x < (m[o + 3] as number)) m[o + 3] = x;
  if (x > (m[o + 4] as number)) m[o + 4] = x;
}

const BOUNDS = Float64Array.from(LATENCY_BOUNDS_MS);
const LAST_BOUND = BOUNDS.length - 1;

/**
 * The shared latencyBucket() (same buckets: bounds 0.01 ms * 2^(i/4)) without its
 * argument check and call, for the request path: a log2 guess corrected against
 * the exact bounds. `ms` must be >= 0.
 */
export function latencyIndex(ms: number): number {
  if (ms <= (BOUNDS[0] as number)) return 0;
  if (ms > (BOUNDS[LAST_BOUND] as number)) return LAST_BOUND + 1;
  let i = Math.ceil(4 * Math.log2(ms * 100));
  if (i > LAST_BOUND) i = LAST_BOUND;
  else if (i < 0) i = 0;
  while (i > 0 && ms <= (BOUNDS[i - 1] as number)) i--;
  while (ms > (BOUNDS[i] as number)) i++;
  return i;
}

/** Row stride of a tensor as sent: product of dims after the first; whole tensor for rank <= 1. */
export function strideOf(t: RecordedTensor): number {
  const s = t.shape;
  if (s.length <= 1) return Math.max(1, t.data.length);
  let p = 1;
  for (let i = 1; i < s.length; i++) p *= s[i] as number;
  return Math.max(1, p);
}

/** The data as numbers: typed arrays as they are, 64-bit integer arrays converted once. */
export function numeric(d: Numbers): ArrayLike<number> {
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  return d as ArrayLike<number>;
}

/** Index of the tensor called `name`, trying `hint` (where it was last time) first; -1 if absent. */
export function find(ts: readonly RecordedTensor[], name: string, hint: number): number {
  const t = ts[hint];
  if (t !== undefined && t.name === name) return hint;
  for (let i = 0; i < ts.length; i++) if (ts[i]!.name === name) return i;
  return -1;
}
