// Drift of merged rollups against an expected profile (docs/drift.md): per numeric feature PSI,
// Jensen-Shannon distance and a binned KS on [under, bins..., over]; per categorical feature the same
// on [vocabulary..., other] plus a chi-square p-value; per output PSI/JS/KS on its bins. The expected
// profile is the manifest's reference or a baseline period's merged rollups. The math is
// shared/src/drift; this module only lines up the distributions.
import { DEFAULT_EPSILON, chiSquare, outputReferenceNames, jsDistance, ksBinned, psi, type DriftThresholds, type FeatureDrift, type Reference } from '@edgefleet/shared';
import { MOMENT_FIELDS, type RollupLayout } from '../rollups/layout.js';
import type { RollupValues } from '../rollups/values.js';

export interface ExpectedSlot {
  /** Expected distribution in the slot's order; null when unknown (no reference bins). */
  dist: number[] | null;
  mean: number | null;
}

/** Expected distributions per feature and output, in layout order. */
export interface Expected {
  features: ExpectedSlot[];
  outputs: ExpectedSlot[];
}

const total = (a: readonly number[]) => a.reduce((s, x) => s + x, 0);
const known = (dist: number[] | null): number[] | null => (dist && total(dist) > 0 ? dist : null);

/** The manifest's reference, lined up with the layout's slots. */
export function expectedFromReference(layout: RollupLayout, ref: Reference | undefined): Expected {
  const features = layout.features.map((f): ExpectedSlot => {
    const r = ref?.features.find((x) => x.name === f.name);
    if (f.kind === 'categorical') {
      if (r?.kind !== 'categorical') return { dist: null, mean: null };
      const dist = f.vocabulary.map((v) => (Object.hasOwn(r.counts, v) ? (r.counts[v] as number) : 0));
      const inVocab = total(dist);
      dist.push(total(Object.values(r.counts)) - inVocab + r.other);
      return { dist: known(dist), mean: null };
    }
    if (r?.kind !== 'numeric' || !f.edges || r.counts.length !== f.bins) return { dist: null, mean: r?.kind === 'numeric' && r.moments.n > 0 ? r.moments.mean : null };
    return { dist: known([r.under, ...r.counts, r.over]), mean: r.moments.n > 0 ? r.moments.mean : null };
  });
  const outputs = layout.outputs.map((o): ExpectedSlot => {
    const names = outputReferenceNames(ref?.outputs ?? []);
    const r = ref?.outputs.find((x, i) => names[i] === o.name);
    if (!r || r.counts.length !== o.bins) return { dist: null, mean: null };
    return { dist: known([r.under, ...r.counts, r.over]), mean: r.moments && r.moments.n > 0 ? r.moments.mean : null };
  });
  return { features, outputs };
}

function slotDist(v: RollupValues, offset: number, len: number): number[] {
  return Array.from(v.dist.subarray(offset, offset + len));
}

function meanAt(v: RollupValues, j: number): number | null {
  const n = v.mom[j * MOMENT_FIELDS] as number;
  return n > 0 ? (v.mom[j * MOMENT_FIELDS + 1] as number) : null;
}

/** Observed distributions of `v` in the same order as Expected. */
export function observed(layout: RollupLayout, v: RollupValues): Expected {
  return {
    features: layout.features.map((f) => f.kind === 'categorical'
      ? { dist: slotDist(v, f.offset, f.vocabulary.length + 1), mean: null }
      : { dist: f.edges ? slotDist(v, f.offset, f.bins + 2) : null, mean: meanAt(v, f.moments) }),
    outputs: layout.outputs.map((o) => ({ dist: o.edges ? slotDist(v, o.offset, o.bins + 2) : null, mean: meanAt(v, o.moments) })),
  };
}

/**
 * A baseline period's merged rollups as the expected profile. A slot with fewer than `minN`
 * observations (a feature null in most rows) is unknown: too few to stand for the period.
 */
export function expectedFromValues(layout: RollupLayout, v: RollupValues, minN = 1): Expected {
  const o = observed(layout, v);
  const enough = (dist: number[] | null) => (dist && total(dist) >= minN ? known(dist) : null);
  return { features: o.features.map((s) => ({ ...s, dist: enough(s.dist) })), outputs: o.outputs.map((s) => ({ ...s, dist: enough(s.dist) })) };
}

const edge = (x: number) => String(Number(x.toPrecision(3)));

/** Labels of a slot's bins: [under, bins..., over] of numeric edges (the last bin holds its upper edge, so over is `> last`), or [vocabulary..., other]. */
function binLabels(slot: { kind?: string; edges?: readonly number[] | null; vocabulary?: readonly string[] }): string[] | null {
  if (slot.kind === 'categorical') return [...(slot.vocabulary ?? []), '(other)'];
  const e = slot.edges;
  if (!e || e.length < 2) return null;
  return [`< ${edge(e[0] as number)}`, ...e.slice(1).map((x, i) => `${edge(e[i] as number)}–${edge(x)}`), `> ${edge(e.at(-1) as number)}`];
}

function one(name: string, kind: FeatureDrift['kind'], obs: ExpectedSlot, exp: ExpectedSlot, th: DriftThresholds, enough: boolean, labels: string[] | null): FeatureDrift {
  const n = obs.dist ? total(obs.dist) : 0;
  const bins = labels && obs.dist && exp.dist && labels.length === obs.dist.length && labels.length === exp.dist.length ? { labels, baseline: exp.dist, current: obs.dist } : null;
  const base = { name, kind, n, mean: obs.mean, baselineMean: exp.mean, bins };
  // The minimum holds for the observations compared, not only the group's predictions: a feature
  // null in most rows (an optional sensor) would otherwise be judged on a handful of values, whose
  // PSI is large by chance alone (docs/decisions/0024-drift-verdicts.md).
  if (!enough || !obs.dist || !exp.dist || n === 0 || n < th.minPredictions) return { ...base, psi: null, js: null, ks: null, chi2_p: null, drifted: false };
  const p = psi(exp.dist, obs.dist);
  const j = jsDistance(exp.dist, obs.dist);
  return {
    ...base,
    psi: p,
    js: j,
    ks: ksBinned(exp.dist, obs.dist),
    chi2_p: kind === 'categorical' ? chiSquare(exp.dist, obs.dist).pValue : null,
    drifted: p >= th.psi || j >= th.js,
  };
}

export interface DriftOf {
  features: FeatureDrift[];
  outputs: FeatureDrift[];
  drifted: boolean;
}

/** Drift of each feature and output of `v` against `exp`; no verdicts when `enough` is false. */
export function driftOf(layout: RollupLayout, v: RollupValues, exp: Expected, th: DriftThresholds, enough: boolean): DriftOf {
  const obs = observed(layout, v);
  const features = layout.features.map((f, i) => one(f.name, f.kind, obs.features[i] as ExpectedSlot, exp.features[i] as ExpectedSlot, th, enough, binLabels(f)));
  const outputs = layout.outputs.map((o, i) => one(o.name, 'output', obs.outputs[i] as ExpectedSlot, exp.outputs[i] as ExpectedSlot, th, enough, binLabels(o)));
  return { features, outputs, drifted: [...features, ...outputs].some((f) => f.drifted) };
}

/** Each feature's expected proportions floored at PSI's epsilon (as `psi` uses them), once per Expected. */
const floored = new WeakMap<Expected, Array<Float64Array | null>>();
function flooredOf(exp: Expected): Array<Float64Array | null> {
  let f = floored.get(exp);
  if (!f) {
    f = exp.features.map((slot) => {
      if (!slot.dist) return null;
      const t = total(slot.dist);
      return Float64Array.from(slot.dist, (c) => Math.max(c / t, DEFAULT_EPSILON));
    });
    floored.set(exp, f);
  }
  return f;
}

/**
 * The highest feature PSI of `v` (for ranking devices), computed on feature bins only, of features
 * with at least `minN` observations (as `driftOf` judges them). Runs once per device, so it reads the
 * bins in place instead of copying and normalizing both sides each time; the values are
 * `psi(expected, observed)`'s (rollups/day-minus-hours.test.ts).
 */
export function worstFeature(layout: RollupLayout, v: RollupValues, exp: Expected, minN = 1): { psi: number; feature: string } | null {
  const fl = flooredOf(exp);
  const d = v.dist;
  let best: { psi: number; feature: string } | null = null;
  for (let i = 0; i < layout.features.length; i++) {
    const e = fl[i];
    const f = layout.features[i] as RollupLayout['features'][number];
    if (!e) continue;
    const len = f.kind === 'categorical' ? f.vocabulary.length + 1 : f.edges ? f.bins + 2 : 0;
    if (len === 0 || len !== e.length) continue;
    let n = 0;
    for (let j = 0; j < len; j++) n += d[f.offset + j] as number;
    if (n === 0 || n < minN) continue;
    let p = 0;
    for (let j = 0; j < len; j++) {
      const a = Math.max((d[f.offset + j] as number) / n, DEFAULT_EPSILON);
      const ej = e[j] as number;
      p += (a - ej) * Math.log(a / ej);
    }
    if (!best || p > best.psi) best = { psi: p, feature: f.name };
  }
  return best;
}
