// Streaming moments {n, mean, m2, min, max}: Welford's update for one value and
// Chan et al.'s parallel formula to merge two sketches, both numerically stable
// (no sum of squares that cancels). variance = m2 / (n - 1).
// Chan, Golub, LeVeque, "Updating formulae and a pairwise algorithm for computing
// sample variances" (1979); https://en.wikipedia.org/wiki/Algorithms_for_calculating_variance
import { AppError } from '../errors.js';
import type { MomentsSketch } from './schema.js';

/**
 * Largest magnitude of a value in the moments of a feature or output (its min and max), and of a
 * regression label or prediction (so half the largest error a label may add). Merging moments squares
 * differences of means (Chan: delta² · n_a·n_b / n), so values within ±1e144 keep every rollup's moments
 * finite for up to 4.5e19 values (4·1e288 · n < 1.8e308), and error sums within (2e144)² per label the
 * same. Features and outputs are float32 (at most 3.4e38) or ordinary float64 quantities; beyond ±1e144
 * only garbage reaches a window, and summed it would make the fleet's moments of that feature NaN for
 * good (two windows with means of ±1e200 already do). The hub refuses a window past it
 * (hub/src/ingest/plausibility-values.ts); the agent refuses such a label (agent/src/feedback/route.ts).
 */
export const MAX_MAGNITUDE = 1e144;

export function emptyMoments(): MomentsSketch {
  return { n: 0, mean: 0, m2: 0, min: null, max: null };
}

/** Welford's update (mutating). Refuses NaN and infinities: they would poison every later mean. */
export function addMoment(m: MomentsSketch, x: number): void {
  if (!Number.isFinite(x)) {
    throw new AppError('INVALID_INPUT', `cannot add ${String(x)} to moments: expected a finite number (count NaNs separately)`);
  }
  const n = m.n + 1;
  const delta = x - m.mean;
  const mean = m.mean + delta / n;
  m.n = n;
  m.mean = mean;
  m.m2 += delta * (x - mean);
  if (m.min === null || x < m.min) m.min = x;
  if (m.max === null || x > m.max) m.max = x;
}

/** A new sketch holding both (Chan et al.). */
export function mergeMoments(a: MomentsSketch, b: MomentsSketch): MomentsSketch {
  if (b.n === 0) return { ...a };
  if (a.n === 0) return { ...b };
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  const mean = a.mean + delta * (b.n / n);
  const m2 = a.m2 + b.m2 + delta * delta * ((a.n * b.n) / n);
  return {
    n,
    mean,
    m2,
    min: Math.min(a.min as number, b.min as number),
    max: Math.max(a.max as number, b.max as number),
  };
}

/** Sample variance (n - 1 denominator); 0 for fewer than two values. */
export function variance(m: MomentsSketch): number {
  return m.n < 2 ? 0 : m.m2 / (m.n - 1);
}

export function stddev(m: MomentsSketch): number {
  return Math.sqrt(variance(m));
}
