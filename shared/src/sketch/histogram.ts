// Fixed-bin histogram on a reference's bin edges, with under/over counts.
// Because every device bins on the same edges (from the manifest's reference),
// merging is plain addition of counts: exact, associative and commutative.
import { AppError } from '../errors.js';
import type { HistogramSketch } from './schema.js';

export function emptyHistogram(nBins: number): HistogramSketch {
  if (!Number.isInteger(nBins) || nBins < 1) {
    throw new AppError('INVALID_INPUT', `invalid histogram bin count ${String(nBins)}: expected an integer >= 1`);
  }
  return { counts: new Array<number>(nBins).fill(0), under: 0, over: 0 };
}

/**
 * The bin of `x` on `edges` (n+1 strictly increasing edges, n bins): -1 below
 * edges[0], n above edges[n], else i with x in [edges[i], edges[i+1]); the last
 * bin is closed on the right so that the maximum edge itself is counted inside.
 * NaN has no bin: it returns NaN, and callers count it as a NaN instead.
 */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  const nBins = edges.length - 1;
  if (x !== x) return Number.NaN;
  if (x < (edges[0] as number)) return -1;
  const last = edges[nBins] as number;
  if (x > last) return nBins;
  if (x === last) return nBins - 1;
  // Invariant: edges[lo] <= x < edges[hi].
  let lo = 0;
  let hi = nBins;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x < (edges[mid] as number)) hi = mid;
    else lo = mid;
  }
  return lo;
}

/**
 * Counts `x` into `h` (mutating; no allocation, on the request path). Throws on
 * NaN (callers count NaNs separately) and when `h` was not built for `edges`.
 */
export function addToHistogram(h: HistogramSketch, edges: ArrayLike<number>, x: number): void {
  const nBins = h.counts.length;
  if (edges.length !== nBins + 1) {
    throw new AppError('INVALID_INPUT', `histogram has ${nBins} bins but got ${edges.length} edges: expected ${nBins + 1} edges`);
  }
  const i = binIndex(edges, x);
  if (i === -1) h.under++;
  else if (i === nBins) h.over++;
  else if (i >= 0) h.counts[i] = (h.counts[i] as number) + 1;
  else throw new AppError('INVALID_INPUT', 'cannot bin NaN: expected a number (count NaNs in the summary\'s `nans` instead)');
}

/** A new histogram holding both; refuses histograms built on different bin counts. */
export function mergeHistograms(a: HistogramSketch, b: HistogramSketch): HistogramSketch {
  if (a.counts.length !== b.counts.length) {
    throw new AppError(
      'INVALID_INPUT',
      `cannot merge histograms with ${a.counts.length} and ${b.counts.length} bins: expected the same reference edges on both`,
    );
  }
  return {
    counts: a.counts.map((c, i) => c + (b.counts[i] as number)),
    under: a.under + b.under,
    over: a.over + b.over,
  };
}

/** Everything counted, including under and over. */
export function histogramTotal(h: HistogramSketch): number {
  let t = h.under + h.over;
  for (const c of h.counts) t += c;
  return t;
}
