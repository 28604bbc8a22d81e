// Queries over rollups (docs/decisions/0023-rollups.md): any time range, any set of devices, grouped
// by device, tag or time, answered by merging hourly and daily rollups, never by rescanning raw
// windows. Ranges are whole hours: `since` is rounded down and `until` up to the hour, and the
// summary says which range it covers. This module is the one the rollout gates and drift share:
// `mergeRollups` is its stable entry point.
import { AppError, LATENCY_BUCKETS, latencyCount, latencyQuantile, type LatencySketch, type MomentsSketch } from '@edgefleet/shared';
import type { RollupsRepo, ScanRange, Series, RollupRow } from '../store/rollups-repo.js';
import { DAY_SEC, HOUR_SEC } from '../store/rollups-repo.js';
import { MOMENT_FIELDS, PERF_FIELDS, type RollupLayout } from './layout.js';
import { addMoments, addStored, emptyValues, type RollupValues } from './values.js';
import { decodeMom } from './blobs.js';
import { NO_HORIZON, type RollupHorizon } from './expiry.js';

export interface MergeQuery {
  model: string;
  version: string;
  /** Only these devices (default: every device that reported the version). */
  devices?: readonly string[];
  /** ISO time, Date or ms; rounded down to the hour. */
  since: Date | string | number;
  /** ISO time, Date or ms; rounded up to the hour. */
  until: Date | string | number;
}

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
  /** Errors of each kind per request, null without requests. */
  modelErrorRate: number | null;
  invalidInputRate: number | null;
  shedLoadRate: number | null;
  /** Requests per second over the range. */
  throughput: number;
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

export interface Plan {
  since: number;
  until: number;
  ranges: ScanRange[];
}

const HOUR_MS = HOUR_SEC * 1000;
const DAY_MS = DAY_SEC * 1000;
/** The longest range one query may cover. */
export const MAX_RANGE_MS = 400 * DAY_MS;

export function toMs(t: Date | string | number, what: string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new AppError('BAD_REQUEST', `${what} ${JSON.stringify(t)} is not a time: expected an ISO time such as 2026-12-01T00:00:00Z`);
  return ms;
}

/**
 * Whole hours covering [since, until): hourly rollups at the edges, daily ones for whole days between.
 * Against a horizon (rollups/expiry.ts, `RollupsRepo.horizon()`): an edge before the hourly horizon
 * widens to whole days, and a range reaching before the daily horizon starts at it (BAD_REQUEST when it
 * ends before it). The plan's since and until say what it covers.
 */
export function planRanges(sinceIn: Date | string | number, untilIn: Date | string | number, horizon: RollupHorizon = NO_HORIZON): Plan {
  const s = toMs(sinceIn, 'since');
  const u = toMs(untilIn, 'until');
  const iso = (ms: number) => new Date(ms).toISOString();
  if (u <= s) throw new AppError('BAD_REQUEST', `until ${iso(u)} is not after since ${iso(s)}: expected since < until`);
  if (u - s > MAX_RANGE_MS) throw new AppError('BAD_REQUEST', `range of ${Math.round((u - s) / DAY_MS)} days is too long: expected at most ${MAX_RANGE_MS / DAY_MS} days`);
  let since = Math.floor(s / HOUR_MS) * HOUR_MS;
  let until = Math.ceil(u / HOUR_MS) * HOUR_MS;
  if (since < horizon.hourlyFrom) since = Math.floor(since / DAY_MS) * DAY_MS;
  if (until < horizon.hourlyFrom) until = Math.ceil(until / DAY_MS) * DAY_MS;
  if (since < horizon.dailyFrom) {
    if (until <= horizon.dailyFrom) {
      throw new AppError('BAD_REQUEST', `range ${iso(s)} to ${iso(u)} ends before ${iso(horizon.dailyFrom)}, and the rollups before then were deleted (retention.dailyRollupDays): expected a range ending after ${iso(horizon.dailyFrom)}`);
    }
    since = horizon.dailyFrom;
  }
  const d0 = Math.ceil(since / DAY_MS) * DAY_MS;
  const d1 = Math.floor(until / DAY_MS) * DAY_MS;
  if (d1 <= d0) return { since, until, ranges: [{ grain: HOUR_SEC, from: since, to: until }] };
  return {
    since, until,
    ranges: [{ grain: HOUR_SEC, from: since, to: d0 }, { grain: DAY_SEC, from: d0, to: d1 }, { grain: HOUR_SEC, from: d1, to: until }],
  };
}

export interface Group {
  values: RollupValues;
  /** Devices merged (empty when read from fleet rows: then deviceCount says how many). */
  devices: Set<string>;
  deviceCount?: number;
}

export interface CollectOptions {
  devices?: readonly string[];
  dist?: boolean;
  mom?: boolean;
  lat?: boolean;
  /** The group of a row (default: one group ""). */
  keyOf?: (row: RollupRow) => string;
  /** Hourly rollups only (for time series: a daily row cannot be split into hours). */
  hourly?: boolean;
  /** Errors by code (default true; a JSON parse per row that has any). */
  errors?: boolean;
  /** Merge moments here, keyed by this function, instead of into each group (drift: per cohort, not per device). */
  momInto?: { keyOf: (row: RollupRow) => string; groups: Map<string, Float64Array> };
  /**
   * Read the fleet rows (one per hour or day, the sum of every device's) instead of the device rows:
   * for questions about the whole fleet, 24 rows for a day instead of one per device and hour. Not
   * with `devices`; rows carry every blob; `keyOf` sees deviceId "".
   */
  fleet?: boolean;
  /** With `fleet`: count the distinct devices for deviceCount (default true; an index-only scan). */
  countDevices?: boolean;
}

/** Merges the rollups of `plan` into groups. */
export function collect(repo: RollupsRepo, s: Series, plan: Plan, opts: CollectOptions): Map<string, Group> {
  const groups = new Map<string, Group>();
  const ranges = opts.hourly ? [{ grain: HOUR_SEC, from: plan.since, to: plan.until }] : plan.ranges;
  if (opts.fleet && opts.devices) throw new Error('collect: fleet rows cannot be limited to devices');
  const rows = opts.fleet ? repo.fleet(s, ranges) : repo.scan(s.id, ranges, opts);
  const noMom = { ...opts, mom: false };
  for (const row of rows) {
    const key = opts.keyOf ? opts.keyOf(row) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { values: emptyValues(s.layout), devices: new Set() }));
    if (!opts.fleet) g.devices.add(row.deviceId);
    const mi = opts.momInto;
    if (mi && row.mom && opts.mom) {
      const k = mi.keyOf(row);
      let m = mi.groups.get(k);
      if (!m) mi.groups.set(k, (m = emptyValues(s.layout).mom));
      addMoments(m, decodeMom(row.mom));
      addStored(g.values, row, noMom);
    } else {
      addStored(g.values, row, opts);
    }
  }
  if (opts.fleet && opts.countDevices !== false) {
    const count = repo.deviceCount(s.id, ranges);
    for (const g of groups.values()) g.deviceCount = count;
  }
  return groups;
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

/** A merged group as the summary the API and the rollout gates read. */
export function summarize(s: Series, plan: Plan, g: Group | undefined): MergedSummary {
  const v = g?.values ?? emptyValues(s.layout);
  const lat = v.lat;
  const all: LatencySketch = { counts: Array.from(lat.subarray(2, 2 + LATENCY_BUCKETS)), sumMs: lat[0] as number };
  const answered: LatencySketch = {
    counts: all.counts.map((c, i) => Math.max(0, c - (lat[2 + LATENCY_BUCKETS + i] as number))),
    sumMs: Math.max(0, (lat[0] as number) - (lat[1] as number)),
  };
  const rate = (n: number) => (v.count === 0 ? null : n / v.count);
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
    throughput: v.count / ((plan.until - plan.since) / 1000),
    latency: stats(all),
    answeredLatency: stats(answered),
    latencySketch: all,
    answeredLatencySketch: answered,
    ...distributions(s.layout, v),
    accuracy: accuracyOf(s.layout, v.perf),
  };
}

/**
 * Everything reported for one model version over [since, until) by the given devices (default all),
 * merged from rollups: counts, errors by kind, latency percentiles, output and feature histograms.
 * NOT_FOUND when the registry has no such version.
 */
export function mergeRollups(repo: RollupsRepo, q: MergeQuery): MergedSummary {
  const s = repo.requireSeries(q.model, q.version);
  const plan = planRanges(q.since, q.until, repo.horizon());
  const groups = collect(repo, s, plan, { dist: true, mom: true, lat: true, ...(q.devices ? { devices: q.devices } : { fleet: true }) });
  return summarize(s, plan, groups.get(''));
}
