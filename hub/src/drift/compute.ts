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
  /** Values behind `mean` (the moments' n): what `n` says where there are no bins (observed slots only). */
  n?: number;
  /** Why `dist` is unknown, in words (expected slots only). */
  why?: string;
}

/** Expected distributions per feature and output, in layout order. */
export interface Expected {
  features: ExpectedSlot[];
  outputs: ExpectedSlot[];
}

const total = (a: readonly number[]) => a.reduce((s, x) => s + x, 0);
const known = (dist: number[] | null): number[] | null => (dist && total(dist) > 0 ? dist : null);

/** A reference slot whose bins are all empty is unknown too: say so. */
function withWhy(slot: ExpectedSlot, name: string): ExpectedSlot {
  return slot.dist ? slot : { ...slot, why: `the manifest's reference counts no value of ${name}` };
}

/** The manifest's reference, lined up with the layout's slots. */
export function expectedFromReference(layout: RollupLayout, ref: Reference | undefined): Expected {
  const none = (name: string) => (ref ? `the manifest's reference has no bins for ${name}` : 'the manifest has no reference');
  const features = layout.features.map((f): ExpectedSlot => {
    const r = ref?.features.find((x) => x.name === f.name);
    if (f.kind === 'categorical') {
      if (r?.kind !== 'categorical') return { dist: null, mean: null, why: none(f.name) };
      const dist = f.vocabulary.map((v) => (Object.hasOwn(r.counts, v) ? (r.counts[v] as number) : 0));
      const inVocab = total(dist);
      dist.push(total(Object.values(r.counts)) - inVocab + r.other);
      return withWhy({ dist: known(dist), mean: null }, f.name);
    }
    if (r?.kind !== 'numeric' || !f.edges || r.counts.length !== f.bins) return { dist: null, mean: r?.kind === 'numeric' && r.moments.n > 0 ? r.moments.mean : null, why: none(f.name) };
    return withWhy({ dist: known([r.under, ...r.counts, r.over]), mean: r.moments.n > 0 ? r.moments.mean : null }, f.name);
  });
  const outputs = layout.outputs.map((o): ExpectedSlot => {
    const names = outputReferenceNames(ref?.outputs ?? []);
    const r = ref?.outputs.find((x, i) => names[i] === o.name);
    if (!r || r.counts.length !== o.bins) return { dist: null, mean: null, why: none(o.name) };
    return withWhy({ dist: known([r.under, ...r.counts, r.over]), mean: r.moments && r.moments.n > 0 ? r.moments.mean : null }, o.name);
  });
  return { features, outputs };
}

function slotDist(v: RollupValues, offset: number, len: number): number[] {
  return Array.from(v.dist.subarray(offset, offset + len));
}

/** A moments sketch's n and mean (null without values). */
function momentsAt(v: RollupValues, j: number): { n: number; mean: number | null } {
  const n = v.mom[j * MOMENT_FIELDS] as number;
  return { n, mean: n > 0 ? (v.mom[j * MOMENT_FIELDS + 1] as number) : null };
}

/** Observed distributions of `v` in the same order as Expected. */
export function observed(layout: RollupLayout, v: RollupValues): Expected {
  return {
    features: layout.features.map((f) => f.kind === 'categorical'
      ? { dist: slotDist(v, f.offset, f.vocabulary.length + 1), mean: null }
      : { dist: f.edges ? slotDist(v, f.offset, f.bins + 2) : null, ...momentsAt(v, f.moments) }),
    outputs: layout.outputs.map((o) => ({ dist: o.edges ? slotDist(v, o.offset, o.bins + 2) : null, ...momentsAt(v, o.moments) })),
  };
}

/**
 * A baseline period's merged rollups as the expected profile. A slot with fewer than `minN`
 * observations (a feature null in most rows) is unknown: too few to stand for the period.
 */
export function expectedFromValues(layout: RollupLayout, v: RollupValues, minN = 1, period = 'the baseline period'): Expected {
  const o = observed(layout, v);
  const slot = (s: ExpectedSlot, name: string): ExpectedSlot => {
    const n = s.dist ? total(s.dist) : 0;
    const dist = s.dist && n >= minN ? known(s.dist) : null;
    return { dist, mean: s.mean, ...(dist ? {} : { why: `${period} has ${n} binned values of ${name}: expected at least ${minN} to compare with` }) };
  };
  return { features: o.features.map((s, i) => slot(s, layout.features[i]?.name ?? '')), outputs: o.outputs.map((s, i) => slot(s, layout.outputs[i]?.name ?? '')) };
}

const edge = (x: number) => String(Number(x.toPrecision(3)));

/** Labels of a slot's bins: [under, bins..., over] of numeric edges (the last bin holds its upper edge, so over is `> last`), or [vocabulary..., other]. */
function binLabels(slot: { kind?: string; edges?: readonly number[] | null; vocabulary?: readonly string[] }): string[] | null {
  if (slot.kind === 'categorical') return [...(slot.vocabulary ?? []), '(other)'];
  const e = slot.edges;
  if (!e || e.length < 2) return null;
  return [`< ${edge(e[0] as number)}`, ...e.slice(1).map((x, i) => `${edge(e[i] as number)}–${edge(x)}`), `> ${edge(e.at(-1) as number)}`];
}

/**
 * Why a feature or output gets no statistics, or null when it does. The minimum holds for the
 * observations compared, not only the group's predictions: a feature null in most rows (an optional
 * sensor) would otherwise be judged on a handful of values, whose PSI is large by chance alone
 * (docs/decisions/0024-drift-verdicts.md).
 */
function whyNone(name: string, n: number, obs: ExpectedSlot, exp: ExpectedSlot, th: DriftThresholds, enough: boolean): string | null {
  // No edges: its values are only counted in its moments (the mean and n), never binned (rollups/layout.ts).
  if (!obs.dist) return `no reference bins (the manifest gives no edges for ${name}), so there is nothing to compare with: its mean and n only`;
  if (!exp.dist) return `${exp.why ?? `no baseline for ${name}`}, so there is nothing to compare with`;
  if (!enough) return `too few predictions in the group: expected at least ${th.minPredictions} for a drift verdict`;
  if (n < th.minPredictions || n === 0) return `${n} values of ${name} (nulls and NaNs are not values): expected at least ${th.minPredictions} for a drift verdict`;
  return null;
}

function one(name: string, kind: FeatureDrift['kind'], obs: ExpectedSlot, exp: ExpectedSlot, th: DriftThresholds, enough: boolean, labels: string[] | null): FeatureDrift {
  // Where there are no bins, n counts the values behind the mean, so the two never contradict each other.
  const n = obs.dist ? total(obs.dist) : (obs.n ?? 0);
  const bins = labels && obs.dist && exp.dist && labels.length === obs.dist.length && labels.length === exp.dist.length ? { labels, baseline: exp.dist, current: obs.dist } : null;
  const insufficient = whyNone(name, n, obs, exp, th, enough);
  const base = { name, kind, n, mean: obs.mean, baselineMean: exp.mean, bins, insufficient };
  if (insufficient !== null || !obs.dist || !exp.dist) return { ...base, psi: null, js: null, ks: null, chi2_p: null, drifted: false };
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
