// Merging the parts of two summary windows (sketch/window.ts): error counts, and features, outputs and
// inputs by name. mergeWindows builds a new window from them; TotalsAccumulator merges into its own
// copies in place. Internal to the sketches (not exported from the package).
import { AppError } from '../errors.js';
import type { FeatureSummary, InputSummary, OutputSummary } from '../wire/telemetry.js';
import { mergeCategorical } from './categorical.js';
import { mergeHistograms } from './histogram.js';
import { mergeMoments } from './moments.js';
import type { HistogramSketch } from './schema.js';

// Own-property writes, so that a name such as "__proto__" stays an ordinary key.
export function addOwn(rec: Record<string, number>, key: string, by: number): void {
  if (Object.hasOwn(rec, key)) rec[key] = (rec[key] as number) + by;
  else Object.defineProperty(rec, key, { value: by, writable: true, enumerable: true, configurable: true });
}

export function mergeCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) addOwn(out, k, v);
  for (const [k, v] of Object.entries(b)) addOwn(out, k, v);
  return out;
}

function mergeOptionalHist(a: HistogramSketch | undefined, b: HistogramSketch | undefined, what: string): HistogramSketch | undefined {
  if (a && b) return mergeHistograms(a, b);
  if (!a && !b) return undefined;
  throw new AppError('INVALID_INPUT', `cannot merge ${what}: one side has a histogram and the other has none; expected both binned on the same reference`);
}

export function mergeFeature(a: FeatureSummary, b: FeatureSummary): FeatureSummary {
  if (a.kind === 'numeric' && b.kind === 'numeric') {
    const hist = mergeOptionalHist(a.hist, b.hist, `feature "${a.name}"`);
    return {
      kind: 'numeric',
      name: a.name,
      ...(hist ? { hist } : {}),
      moments: mergeMoments(a.moments, b.moments),
      nulls: a.nulls + b.nulls,
      nans: a.nans + b.nans,
    };
  }
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    return { kind: 'categorical', name: a.name, cat: mergeCategorical(a.cat, b.cat), nulls: a.nulls + b.nulls };
  }
  throw new AppError('INVALID_INPUT', `cannot merge feature "${a.name}": it is ${a.kind} on one side and ${b.kind} on the other; expected the same kind`);
}

/** mergeFeature, a categorical one's counts added into `a` (the accumulator's own copy) rather than copied. */
export function addFeature(a: FeatureSummary, b: FeatureSummary): FeatureSummary {
  if (a.kind !== 'categorical' || b.kind !== 'categorical') return mergeFeature(a, b);
  for (const k in b.cat.counts) if (Object.hasOwn(b.cat.counts, k)) addOwn(a.cat.counts, k, b.cat.counts[k] as number);
  a.cat.other += b.cat.other;
  a.nulls += b.nulls;
  return a;
}

export function mergeOutput(a: OutputSummary, b: OutputSummary): OutputSummary {
  if (a.index !== b.index) {
    throw new AppError('INVALID_INPUT', `cannot merge output "${a.name}": index ${a.index} vs ${b.index}; expected the same output column`);
  }
  const hist = mergeOptionalHist(a.hist, b.hist, `output "${a.name}"`);
  return { name: a.name, index: a.index, ...(hist ? { hist } : {}), moments: mergeMoments(a.moments, b.moments) };
}

export function mergeInput(a: InputSummary, b: InputSummary): InputSummary {
  return { name: a.name, moments: mergeMoments(a.moments, b.moments), nans: a.nans + b.nans };
}

/** Union by name in first-seen order (a's order, then b's new names); same names are merged. */
export function mergeByName<T extends { name: string }>(a: readonly T[], b: readonly T[], merge: (x: T, y: T) => T, what: string): T[] {
  const out = new Map<string, T>();
  addByName(out, a, merge, what);
  addByName(out, b, merge, what);
  return [...out.values()];
}

/** Merges `list` into `into` by name (a name twice in `list` is refused). */
export function addByName<T extends { name: string }>(into: Map<string, T>, list: readonly T[], merge: (x: T, y: T) => T, what: string): void {
  const seen = new Set<string>();
  for (const x of list) {
    if (seen.has(x.name)) throw new AppError('INVALID_INPUT', `window has ${what} "${x.name}" twice: expected each name once`);
    seen.add(x.name);
    const prev = into.get(x.name);
    // A copy, so that later recording into an input window never reaches the merge.
    into.set(x.name, prev === undefined ? structuredClone(x) : merge(prev, x));
  }
}
