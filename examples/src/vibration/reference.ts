// The reference profile of a training set (manifest `reference`): decile edges,
// fixed-bin counts and moments per numeric feature, vocabulary counts per
// categorical feature, and equal-width bins over [0, 1] for probability outputs.
// Counts come from the shared sketch functions, so agent summaries computed on
// the same edges are directly comparable (and mergeable) with these.
import {
  addCategory, addMoment, addToHistogram, emptyCategorical, emptyHistogram, emptyMoments, withReferenceId,
  type Feature, type FeatureReference, type OutputReference, type Reference,
} from '@edgefleet/shared';

/** Quantile edges [min, q(1/k), ..., q((k-1)/k), max], deduplicated to be strictly increasing. */
export function quantileEdges(values: ArrayLike<number>, bins = 10): number[] {
  const sorted = Float64Array.from(values).filter(Number.isFinite).sort();
  if (sorted.length === 0) throw new Error('quantileEdges: no finite values, expected at least one');
  const q = (f: number) => {
    const pos = f * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
  };
  const raw = Array.from({ length: bins + 1 }, (_, i) => (i === 0 ? (sorted[0] as number) : i === bins ? (sorted[sorted.length - 1] as number) : q(i / bins)));
  const edges = raw.filter((e, i) => i === 0 || e > (raw[i - 1] as number));
  // A constant column still needs a bin around its value.
  if (edges.length < 2) return [(edges[0] as number) - 0.5, (edges[0] as number) + 0.5];
  return edges;
}

/** Equal-width edges over [lo, hi]. */
export function uniformEdges(lo: number, hi: number, bins: number): number[] {
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
}

export interface ReferenceInput {
  features: Feature[];
  /** Row-major rows x columns of the feature input. */
  x: ArrayLike<number>;
  columns: number;
  rows: number;
  outputs?: { name: string; index?: number; values: ArrayLike<number>; edges: number[] }[];
  bins?: number;
}

/** Builds the profile; `id` is sha256 of the canonical JSON of everything else (shared `withReferenceId`). */
export function computeReference(input: ReferenceInput): Reference {
  const { rows, columns, x } = input;
  if (x.length !== rows * columns) throw new Error(`computeReference: ${x.length} values for ${rows} rows x ${columns} columns`);
  const column = (i: number) => Float64Array.from({ length: rows }, (_, r) => x[r * columns + i] as number);
  const features: FeatureReference[] = input.features.map((f) => {
    const values = column(f.index);
    if (f.kind === 'categorical') {
      const c = emptyCategorical();
      for (const v of values) addCategory(c, f.vocabulary ?? [], v);
      return { kind: 'categorical', name: f.name, counts: c.counts, other: c.other };
    }
    const edges = quantileEdges(values, input.bins ?? 10);
    const h = emptyHistogram(edges.length - 1);
    const m = emptyMoments();
    for (const v of values) {
      addToHistogram(h, edges, v);
      addMoment(m, v);
    }
    return { kind: 'numeric', name: f.name, edges, counts: h.counts, under: h.under, over: h.over, moments: m };
  });
  const outputs: OutputReference[] = (input.outputs ?? []).map((o) => {
    const h = emptyHistogram(o.edges.length - 1);
    const m = emptyMoments();
    for (let i = 0; i < o.values.length; i++) {
      addToHistogram(h, o.edges, o.values[i] as number);
      addMoment(m, o.values[i] as number);
    }
    return { name: o.name, index: o.index ?? 0, edges: o.edges, counts: h.counts, under: h.under, over: h.over, moments: m };
  });
  return withReferenceId({ rows, features, outputs });
}
