// Log-bucket latency histogram on one fixed scheme shared by every device, so
// merging is addition of counts. Buckets grow by 2^(1/4) (~19 %) from 0.01 ms to
// ~70 s: a quantile read from it is at most ~19 % above the true value.
// counts[i] covers (LATENCY_BOUNDS_MS[i-1], LATENCY_BOUNDS_MS[i]] (counts[0]: [0, 0.01]);
// the last count is the overflow bucket above the last bound.
import { AppError } from '../errors.js';
import type { LatencySketch } from './schema.js';

const FIRST_BOUND_MS = 0.01;
const STEPS_PER_DOUBLING = 4;

function makeBounds(): readonly number[] {
  const out: number[] = [];
  for (let i = 0; ; i++) {
    const b = FIRST_BOUND_MS * 2 ** (i / STEPS_PER_DOUBLING);
    out.push(b);
    if (b >= 60_000) break;
  }
  return Object.freeze(out);
}

/** Upper bounds (inclusive) in ms: 0.01 · 2^(i/4) for i = 0..91 (0.01 ms … ~70.5 s). */
export const LATENCY_BOUNDS_MS: readonly number[] = makeBounds();
/** Number of counts in a latency sketch: one per bound plus the overflow bucket. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export function emptyLatency(): LatencySketch {
  return { counts: new Array<number>(LATENCY_BUCKETS).fill(0), sumMs: 0 };
}

/** Bucket of `ms` in O(1): a log2 guess, corrected by at most a step against the exact bounds. */
export function latencyBucket(ms: number): number {
  if (!(ms >= 0)) {
    throw new AppError('INVALID_INPUT', `invalid latency ${String(ms)} ms: expected a number >= 0`);
  }
  const n = LATENCY_BOUNDS_MS.length;
  if (ms <= FIRST_BOUND_MS) return 0;
  if (ms > (LATENCY_BOUNDS_MS[n - 1] as number)) return n;
  let i = Math.ceil(STEPS_PER_DOUBLING * Math.log2(ms / FIRST_BOUND_MS));
  if (i > n - 1) i = n - 1;
  // The log2 guess can be off by one through rounding; the bounds decide.
  while (i > 0 && ms <= (LATENCY_BOUNDS_MS[i - 1] as number)) i--;
  while (ms > (LATENCY_BOUNDS_MS[i] as number)) i++;
  return i;
}

/** Counts one latency (mutating). */
export function addLatency(l: LatencySketch, ms: number): void {
  const i = latencyBucket(ms);
  if (l.counts.length !== LATENCY_BUCKETS) {
    throw new AppError('INVALID_INPUT', `latency sketch has ${l.counts.length} buckets: expected ${LATENCY_BUCKETS}`);
  }
  l.counts[i] = (l.counts[i] as number) + 1;
  l.sumMs += ms;
}

export function mergeLatency(a: LatencySketch, b: LatencySketch): LatencySketch {
  if (a.counts.length !== LATENCY_BUCKETS || b.counts.length !== LATENCY_BUCKETS) {
    throw new AppError(
      'INVALID_INPUT',
      `cannot merge latency sketches with ${a.counts.length} and ${b.counts.length} buckets: expected ${LATENCY_BUCKETS} each`,
    );
  }
  return { counts: a.counts.map((c, i) => c + (b.counts[i] as number)), sumMs: a.sumMs + b.sumMs };
}

export function latencyCount(l: LatencySketch): number {
  let t = 0;
  for (const c of l.counts) t += c;
  return t;
}

/**
 * The upper bound (ms) of the bucket holding the q-quantile (nearest rank: the
 * ceil(q·n)-th smallest value, at least the first), so the true quantile is <= the
 * answer. Infinity when it falls in the overflow bucket; null for an empty sketch.
 */
export function latencyQuantile(l: LatencySketch, q: number): number | null {
  if (!(q >= 0 && q <= 1)) {
    throw new AppError('INVALID_INPUT', `invalid quantile ${String(q)}: expected a number in [0, 1]`);
  }
  const n = latencyCount(l);
  if (n === 0) return null;
  // Trim float noise so that e.g. 0.07 · 100 = 7.000000000000001 is rank 7, not 8.
  const r = q * n;
  const rank = Math.max(1, Math.ceil(r - r * 1e-12));
  let seen = 0;
  for (let i = 0; i < l.counts.length; i++) {
    seen += l.counts[i] as number;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? (LATENCY_BOUNDS_MS[i] as number) : Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}

/** Mean latency in ms (exact, from sumMs); null for an empty sketch. */
export function latencyMean(l: LatencySketch): number | null {
  const n = latencyCount(l);
  return n === 0 ? null : l.sumMs / n;
}
