// The summary of a merged group of rollups (query.ts, docs/decisions/0023-rollups.md): what the API,
// the rollout gates and drift read. Counts and errors by kind with their rates, latency percentiles of
// every request and of the answered ones, feature and output distributions, and accuracy (docs/drift.md
// "Accuracy"), all read out of the flat vectors the merge summed.
import { LATENCY_BUCKETS, latencyCount, latencyQuantile, type LatencySketch, type MomentsSketch } from '@edgefleet/shared';
import type { Series } from '../store/rollups-repo.js';
import { MOMENT_FIELDS, PERF_FIELDS, type RollupLayout } from './layout.js';
import { emptyValues, type RollupValues } from './values.js';
import type { Group, Plan } from './query.js';

export interface LatencyStats {
  count: number;
  meanMs: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export type FeatureDistribution =
  | { name: string; kind: 'numeric'; edges: number[] | null; /** [under, bins..., over], null without edges */ counts: number[] | null; nulls: number; nans: number; moments: MomentsSketch }
  | { name: string; kind: 'categorical'; vocabulary: string[]; /** [vocabulary..., other] */ counts: number[]; nulls: number };

export interface OutputDistribution {
  name: string;
  index: number;
  edges: number[] | null;
  counts: number[] | null;
  moments: MomentsSketch;
}

/**
 * Ground truth and CBPE (docs/drift.md "Accuracy"): labels counted in the range (the window a label
 * arrived in), and the expected accuracy of every predicted row from its confidence.
 */
export interface AccuracySummary {
  labelled: number;
  correct: number;
  /** correct / labelled (classifiers), null without labels. */
  observed: number | null;
  /** CBPE: the mean confidence of the predicted class over `confidenceRows`, null without. */
  expected: number | null;
  confidenceRows: number;
  /** The classifier's classes ([] otherwise). */
  classes: string[];
  /** confusion[label][predicted] (classifiers with labels), else null. */
  confusion: number[][] | null;
  /** Regressors: mean absolute and root mean squared error of the labelled rows. */
  mae: number | null;
  rmse: number | null;
}

/** The accuracy fields of a merged perf vector. */
export function accuracyOf(layout: RollupLayout, p: Float64Array): AccuracySummary {
  const classes = layout.classes ?? [];
  const k = classes.length;
  const labelled = p[0] as number;
  const confN = p[4] as number;
  const confusion = k > 0 && labelled > 0
    ? Array.from({ length: k }, (_, i) => Array.from(p.subarray(PERF_FIELDS + i * k, PERF_FIELDS + (i + 1) * k)))
    : null;
  return {
    labelled,
    correct: p[1] as number,
    observed: k > 0 && labelled > 0 ? (p[1] as number) / labelled : null,
    expected: confN > 0 ? (p[5] as number) / confN : null,
    confidenceRows: confN,
    classes,
    confusion,
    mae: k === 0 && labelled > 0 ? (p[2] as number) / labelled : null,
    rmse: k === 0 && labelled > 0 ? Math.sqrt((p[3] as number) / labelled) : null,
  };
}

/** Everything the devices reported for a model version over a range, merged. */
export interface MergedSummary {
  model: string;
  version: string;
  /** The range covered (whole hours). */
  since: string;
  until: string;
  devices: number;
  windows: number;
  predictions: number;
  errors: { model: number; input: number; load: number; byCode: Record<string, number> };
  /**
   * Errors of each kind per request (answered or failed: the latency samples, one per request), null
   * without requests. Not per prediction: a window's `count` is the answered rows only
   * (docs/agent-summaries.md), so a version failing every request has 0 predictions and a rate of 1.
   */
  modelErrorRate: number | null;
  invalidInputRate: number | null;
  shedLoadRate: number | null;
  /**
   * Requests per second over the part of the range that has passed (`now`, default its end), kept for
   * callers that read it so; a version live for part of the range reads low (`activeThroughput`).
   */
  throughput: number;
  /**
   * Seconds the version served in the range: its windows' summed length, at most the span from the first
   * window's start to the last one's end (clipped to the range and `now`); a gap between windows (a box
   * offline or idle) is not counted. 0 without windows (docs/decisions/0117-rate-over-reported-span.md).
   */
  activeSec: number;
  /** Requests (answered or failed) per second of `activeSec`; null without requests or without time. */
  activeThroughput: number | null;
  /** Every request, failures included. */
  latency: LatencyStats;
  /** Answered requests only (failures' latency taken out, docs/agent-summaries.md "Error kinds"). */
  answeredLatency: LatencyStats;
  latencySketch: LatencySketch;
  answeredLatencySketch: LatencySketch;
  features: FeatureDistribution[];
  outputs: OutputDistribution[];
  accuracy: AccuracySummary;
}

function stats(l: LatencySketch): LatencyStats {
  const count = latencyCount(l);
  return {
    count,
    meanMs: count === 0 ? null : l.sumMs / count,
    p50: latencyQuantile(l, 0.5),
    p95: latencyQuantile(l, 0.95),
    p99: latencyQuantile(l, 0.99),
  };
}

function momentsAt(mom: Float64Array, j: number): MomentsSketch {
  const b = j * MOMENT_FIELDS;
  const n = mom[b] as number;
  return n === 0
    ? { n: 0, mean: 0, m2: 0, min: null, max: null }
    : { n, mean: mom[b + 1] as number, m2: mom[b + 2] as number, min: mom[b + 3] as number, max: mom[b + 4] as number };
}

/** Feature and output distributions out of a flat dist vector. */
export function distributions(layout: RollupLayout, v: RollupValues): Pick<MergedSummary, 'features' | 'outputs'> {
  const d = v.dist;
  const slice = (from: number, len: number) => Array.from(d.subarray(from, from + len));
  const features = layout.features.map((f): FeatureDistribution => {
    if (f.kind === 'categorical') {
      const k = f.vocabulary.length;
      return { name: f.name, kind: 'categorical', vocabulary: f.vocabulary, counts: slice(f.offset, k + 1), nulls: d[f.offset + k + 1] as number };
    }
    const tail = f.offset + (f.edges ? f.bins + 2 : 0);
    return {
      name: f.name, kind: 'numeric', edges: f.edges, counts: f.edges ? slice(f.offset, f.bins + 2) : null,
      nulls: d[tail] as number, nans: d[tail + 1] as number, moments: momentsAt(v.mom, f.moments),
    };
  });
  const outputs = layout.outputs.map((o): OutputDistribution => ({
    name: o.name, index: o.index, edges: o.edges, counts: o.edges ? slice(o.offset, o.bins + 2) : null, moments: momentsAt(v.mom, o.moments),
  }));
  return { features, outputs };
}

/**
 * A merged group as the summary the API and the rollout gates read. `now` ends the time throughput is
 * spread over when the range (rounded up to the hour) ends later: the rest of the hour holds no requests yet.
 */
export function summarize(s: Series, plan: Plan, g: Group | undefined, now?: number): MergedSummary {
  const v = g?.values ?? emptyValues(s.layout);
  const lat = v.lat;
  const all: LatencySketch = { counts: Array.from(lat.subarray(2, 2 + LATENCY_BUCKETS)), sumMs: lat[0] as number };
  const answered: LatencySketch = {
    counts: all.counts.map((c, i) => Math.max(0, c - (lat[2 + LATENCY_BUCKETS + i] as number))),
    sumMs: Math.max(0, (lat[0] as number) - (lat[1] as number)),
  };
  const requests = latencyCount(all);
  const rate = (n: number) => (requests === 0 ? null : n / requests);
  const end = Math.min(plan.until, now ?? plan.until);
  const elapsedSec = (end - plan.since) / 1000;
  // The windows' summed length, at most their span: exact for one device (its windows do not overlap;
  // a gap, offline or idle, sends none), an upper bound of the union for several (docs/drift.md "Metrics").
  const spanMs = Math.max(0, Math.min(v.lastMs, end) - Math.max(v.firstMs, plan.since));
  const activeSec = (v.activeMs > 0 ? Math.min(spanMs, v.activeMs) : spanMs) / 1000;
  return {
    model: s.model,
    version: s.version,
    since: new Date(plan.since).toISOString(),
    until: new Date(plan.until).toISOString(),
    devices: g ? (g.deviceCount ?? g.devices.size) : 0,
    windows: v.windows,
    predictions: v.count,
    errors: { model: v.errModel, input: v.errInput, load: v.errLoad, byCode: v.errors },
    modelErrorRate: rate(v.errModel),
    invalidInputRate: rate(v.errInput),
    shedLoadRate: rate(v.errLoad),
    throughput: elapsedSec > 0 ? requests / elapsedSec : 0,
    activeSec,
    activeThroughput: requests > 0 && activeSec > 0 ? requests / activeSec : null,
    latency: stats(all),
    answeredLatency: stats(answered),
    latencySketch: all,
    answeredLatencySketch: answered,
    ...distributions(s.layout, v),
    accuracy: accuracyOf(s.layout, v.perf),
  };
}
