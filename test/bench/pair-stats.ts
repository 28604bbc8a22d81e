// Statistics of per-pair ratios (ingest.bench.ts --pairs N): one pair of runs is inside the box's
// noise (±15 % on a quiet 2-core VM), so a target is read from the mean over many alternated pairs and
// its 95 % confidence interval (Student's t), printed beside the median and the range.

/** Two-sided 95 % critical values of Student's t for 1-30 degrees of freedom (then 1.96). */
const T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface PairStats {
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
  /** The 95 % confidence interval of the mean; null for fewer than 2 values. */
  ci: [number, number] | null;
}

export function pairStats(xs: readonly number[]): PairStats {
  if (xs.length === 0 || !xs.every(Number.isFinite)) throw new Error(`pairStats: expected finite numbers, got [${xs.join(', ')}]`);
  const n = xs.length;
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const median = n % 2 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
  let ci: [number, number] | null = null;
  if (n >= 2) {
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
    const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
    ci = [mean - half, mean + half];
  }
  return { n, mean, median, min: sorted[0] as number, max: sorted[n - 1] as number, ci };
}

/** "mean 0.95x (95 % CI 0.91-0.99), median 0.97x, 0.75-1.18x over 16 pairs". */
export function formatPairStats(s: PairStats): string {
  const ci = s.ci ? ` (95 % CI ${s.ci[0].toFixed(2)}-${s.ci[1].toFixed(2)})` : '';
  return `mean ${s.mean.toFixed(2)}x${ci}, median ${s.median.toFixed(2)}x, ${s.min.toFixed(2)}-${s.max.toFixed(2)}x over ${s.n} pair${s.n === 1 ? '' : 's'}`;
}
