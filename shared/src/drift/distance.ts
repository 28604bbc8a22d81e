// Drift statistics between two binned distributions given as counts (or any
// non-negative weights) on the same bins: PSI, Jensen-Shannon distance, a binned
// Kolmogorov-Smirnov statistic and Pearson's chi-square with its p-value.
// Histograms become distributions with histogramToDistribution (under and over
// are the end bins), categorical sketches with categoricalToDistribution.
import { AppError } from '../errors.js';
import type { HistogramSketch } from '../sketch/schema.js';
import { gammaQ } from './gamma.js';

/** Default floor for empty bins in PSI and chi-square (see psi). */
export const DEFAULT_EPSILON = 1e-4;
/**
 * The largest PSI two distributions can reach at DEFAULT_EPSILON (all of one in a bin the other never
 * fills, and the other way round): 2 (1 - ε) ln(1/ε) ≈ 18.42. A threshold above it would never fire.
 */
export const PSI_CEILING = 2 * (1 - DEFAULT_EPSILON) * Math.log(1 / DEFAULT_EPSILON);

/** [under, ...counts, over]: every observation has a bin, so nothing outside the edges is hidden from drift. */
export function histogramToDistribution(h: HistogramSketch): number[] {
  return [h.under, ...h.counts, h.over];
}

function checkPair(p: readonly number[], q: readonly number[], fn: string, names: [string, string]): void {
  if (p.length !== q.length) {
    throw new AppError('INVALID_INPUT', `${fn}: ${names[0]} has ${p.length} bins and ${names[1]} has ${q.length}: expected the same bins on both`);
  }
  if (p.length === 0) throw new AppError('INVALID_INPUT', `${fn}: no bins: expected at least one bin`);
}

/** Proportions summing to 1; refuses negative or non-finite counts and a zero total. */
export function normalize(counts: readonly number[], what = 'distribution'): number[] {
  let total = 0;
  for (const [i, c] of counts.entries()) {
    if (!(c >= 0) || !Number.isFinite(c)) {
      throw new AppError('INVALID_INPUT', `${what} bin ${i} is ${String(c)}: expected a finite count >= 0`);
    }
    total += c;
  }
  if (total === 0) {
    throw new AppError('INVALID_INPUT', `${what} has a total of 0: expected at least one observation to compare`);
  }
  return counts.map((c) => c / total);
}

/**
 * Population Stability Index Σ (a_i - e_i) · ln(a_i / e_i) over proportions.
 * An empty bin on either side would make the log infinite (or 0 · ∞ undefined),
 * so a zero proportion is replaced by `epsilon` (default 1e-4, i.e. 0.01 %) before
 * the sum. That keeps PSI finite while a bin that goes from 0 to a real share still
 * adds a large term (e.g. 0 → 10 %: 0.1 · ln(0.1 / 1e-4) ≈ 0.69, far above the 0.2
 * drift threshold). The floor is not renormalised: its effect is below epsilon.
 */
export function psi(expected: readonly number[], actual: readonly number[], opts: { epsilon?: number } = {}): number {
  const epsilon = opts.epsilon ?? DEFAULT_EPSILON;
  if (!(epsilon > 0 && epsilon < 1)) throw new AppError('INVALID_INPUT', `psi: epsilon ${String(epsilon)}: expected a number in (0, 1)`);
  checkPair(expected, actual, 'psi', ['expected', 'actual']);
  const e = normalize(expected, 'psi expected');
  const a = normalize(actual, 'psi actual');
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i] as number, epsilon);
    const ai = Math.max(a[i] as number, epsilon);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/**
 * Jensen-Shannon distance (base 2): sqrt of ½ KL(p‖m) + ½ KL(q‖m) with m = ½(p + q).
 * In [0, 1]: 0 for identical distributions, 1 for disjoint ones. No epsilon needed:
 * m > 0 wherever p or q is, and 0 · log 0 terms are 0.
 */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  checkPair(p, q, 'jsDistance', ['p', 'q']);
  const pn = normalize(p, 'jsDistance p');
  const qn = normalize(q, 'jsDistance q');
  let div = 0;
  for (let i = 0; i < pn.length; i++) {
    const pi = pn[i] as number;
    const qi = qn[i] as number;
    const mi = (pi + qi) / 2;
    if (pi > 0) div += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) div += 0.5 * qi * Math.log2(qi / mi);
  }
  // Rounding can leave a tiny negative or a hair above 1.
  return Math.sqrt(Math.min(1, Math.max(0, div)));
}

/** Kolmogorov-Smirnov statistic on binned data: max |CDF_p - CDF_q| over bin boundaries. In [0, 1]. */
export function ksBinned(p: readonly number[], q: readonly number[]): number {
  checkPair(p, q, 'ksBinned', ['p', 'q']);
  const pn = normalize(p, 'ksBinned p');
  const qn = normalize(q, 'ksBinned q');
  let cp = 0;
  let cq = 0;
  let max = 0;
  for (let i = 0; i < pn.length; i++) {
    cp += pn[i] as number;
    cq += qn[i] as number;
    max = Math.max(max, Math.abs(cp - cq));
  }
  return Math.min(1, max);
}

export interface ChiSquareResult {
  statistic: number;
  /** Bins used minus one (bins empty on both sides are not used). */
  df: number;
  /** P(X ≥ statistic) for X ~ χ²(df): the upper regularized incomplete gamma Q(df/2, statistic/2). */
  pValue: number;
}

/**
 * Pearson's chi-square goodness of fit of `observedCounts` to the distribution of
 * `expectedCounts` (e.g. the reference's category counts), scaled to the observed
 * total: Σ (O_i - E_i)² / E_i. A bin empty in the reference but seen now (a new
 * category) would divide by zero; its expected share is floored at `epsilon`, as in
 * psi, so it yields a large but finite statistic. Bins empty on both sides are skipped.
 */
export function chiSquare(
  expectedCounts: readonly number[],
  observedCounts: readonly number[],
  opts: { epsilon?: number } = {},
): ChiSquareResult {
  const epsilon = opts.epsilon ?? DEFAULT_EPSILON;
  if (!(epsilon > 0 && epsilon < 1)) throw new AppError('INVALID_INPUT', `chiSquare: epsilon ${String(epsilon)}: expected a number in (0, 1)`);
  checkPair(expectedCounts, observedCounts, 'chiSquare', ['expected', 'observed']);
  const e = normalize(expectedCounts, 'chiSquare expected');
  normalize(observedCounts, 'chiSquare observed');
  let n = 0;
  for (const o of observedCounts) n += o;
  let statistic = 0;
  let used = 0;
  for (let i = 0; i < e.length; i++) {
    const o = observedCounts[i] as number;
    const share = e[i] as number;
    if (share === 0 && o === 0) continue;
    used++;
    const ei = n * Math.max(share, epsilon);
    statistic += ((o - ei) * (o - ei)) / ei;
  }
  const df = Math.max(0, used - 1);
  const pValue = df === 0 ? 1 : gammaQ(df / 2, statistic / 2);
  return { statistic, df, pValue };
}
