// The floating-point half of the plausibility checks (plausibility.ts): moments, latency sums and
// regression error sums a window may carry (docs/hub.md "What the hub accepts from devices"). Counts
// add exactly, but these are summed or merged (Chan's formula, hub/src/rollups/values.ts) into
// rollups that are kept for good, so one finite but absurd number (a mean of 1e308 beside min = max =
// 5, an m2 or a latency sum of 1.7e308) would make every later sum Infinity or NaN. Each bound below
// holds for every window the agent records (agent/src/summaries/acc.ts, docs/agent-summaries.md) and
// for any sum of them (the agent's compaction, mergeWindows), with the float rounding of both.
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS, MAX_MAGNITUDE, type LatencySketch, type MomentsSketch } from '@edgefleet/shared';

/** Largest magnitude of a value in moments, and of a regression label (shared/src/sketch/moments.ts). */
export { MAX_MAGNITUDE };

/**
 * Longest one latency sample may be (ms): the time from a request's arrival to its answer (or of a
 * shadow run), measured with performance.now() within one agent process (agent/src/api/core.ts,
 * agent/src/runtime/runtime.ts). The overflow bucket above LATENCY_BOUNDS_MS (~70 s) is open-ended and
 * requests have no deadline once running (`requestTimeoutMs` bounds only receiving one), so the bound
 * is one no process serves a request for: ten years. It keeps latency sums finite (at most
 * maxPredictionsPerSec · maxLengthSec samples a window, each below 3.2e11 ms).
 */
export const MAX_SAMPLE_MS = 10 * 366 * 86_400_000;

/**
 * Relative rounding a float sum of n terms may carry, or Welford's and Chan's moments of n values: each
 * of n - 1 additions rounds by at most half an ulp (2^-53), so at most about n · 2^-53 (Higham,
 * "Accuracy and Stability of Numerical Algorithms", 2nd ed., §4.2); taken four times over, and at least 1e-9.
 */
export function floatSlack(n: number): number {
  return 1e-9 + n * 2 ** -51;
}

/**
 * Moments as the agent keeps them (Welford per value, Chan per merge; shared/src/sketch/moments.ts):
 * min and max null exactly while n is 0; otherwise MAX_MAGNITUDE bounds |min| and |max|,
 * min <= mean <= max, and m2 <= n · (max - min)² / 4 (Popoviciu's inequality: a variance is at most
 * a quarter of the squared range).
 *
 * Slack for rounding: with every value equal Welford keeps mean = x and m2 = 0 exactly (x - mean is 0),
 * so min = max needs none; otherwise mean and m2 may stray by the rounding of n steps, each off by at
 * most a few ulps of the largest magnitude `scale` (and m2 by that times the spread): e.g. the values
 * a and a + ulp(a) give m2 = ulp² while the bound is ulp²/2. The slack allows that and no more than
 * `scale` · floatSlack(n), harmless to any merge.
 */
export function momentsPlausible(m: MomentsSketch): boolean {
  const { n, mean, min, max } = m;
  if (n === 0) return min === null && max === null;
  if (min === null || max === null || !(min <= max)) return false;
  if (!(min >= -MAX_MAGNITUDE && max <= MAX_MAGNITUDE)) return false;
  const e = floatSlack(n);
  const scale = Math.max(Math.abs(min), Math.abs(max));
  const off = scale * e + 1e-300; // 1e-300: subnormal values, where a relative slack rounds to 0
  if (!(mean >= min - off && mean <= max + off)) return false;
  const half = (max - min) / 2;
  return m.m2 <= n * (half * half * (1 + e) + 4 * half * scale * e + 1e-300);
}

/**
 * A latency sketch's sum against its counts: counts[i] holds samples of at most LATENCY_BOUNDS_MS[i]
 * (the bucket's inclusive upper bound, agent/src/summaries/acc-kernels.ts `latencyIndex`), the overflow
 * bucket samples of at most MAX_SAMPLE_MS; a sketch of another bucket layout (not the agent's) is held
 * to MAX_SAMPLE_MS a sample.
 */
export function latencySumPlausible(l: LatencySketch): boolean {
  const c = l.counts;
  const known = c.length === LATENCY_BUCKETS;
  let most = 0;
  let n = 0;
  for (let i = 0; i < c.length; i++) {
    const k = c[i] as number;
    n += k;
    most += k * (known && i < LATENCY_BOUNDS_MS.length ? (LATENCY_BOUNDS_MS[i] as number) : MAX_SAMPLE_MS);
  }
  return l.sumMs <= most * (1 + floatSlack(n));
}

/**
 * A regressor's error sums over `labelled` labels (docs/drift.md "Accuracy"): each label adds
 * |label - prediction| and its square; with both within ±MAX_MAGNITUDE an error is at most
 * 2 · MAX_MAGNITUDE, so absErrorSum <= labelled · 2e144 and sqErrorSum <= labelled · 4e288, and a sum
 * of any number of windows' stays finite. The agent refuses a label past ±1e144 and counts no label for a
 * prediction past it (agent/src/feedback/route.ts): one past it is garbage, like such a value in the moments.
 */
export function errorSumsPlausible(labelled: number, abs: number, sq: number): boolean {
  const most = 2 * MAX_MAGNITUDE;
  const e = 1 + floatSlack(labelled);
  return abs <= labelled * most * e && sq <= labelled * most * most * e;
}
