// Merging whole summary windows (per model version and reference), their totals,
// and UTC window alignment. Agents use mergeWindows to compact a long offline
// backlog into coarser windows; the hub uses it to aggregate devices and cohorts,
// and windowTotals to prove it holds exactly the counts the devices saw. A window's parts
// (error counts, features, outputs, inputs) merge by name in sketch/window-parts.ts.
import { AppError } from '../errors.js';
import { countedErrorCode } from '../error-kinds.js';
import type { ConfidenceSum, FeatureSummary, FeedbackCounts, InputSummary, OutputSummary, ShadowSummary, SummaryWindow } from '../wire/telemetry.js';
import { emptyHistogram } from './histogram.js';
import { emptyLatency, latencyCount, mergeLatency } from './latency.js';
import { emptyMoments } from './moments.js';
import { addByName, addFeature, addOwn, mergeByName, mergeCounts, mergeFeature, mergeInput, mergeOutput } from './window-parts.js';

export interface WindowMeta {
  model: string;
  version: string;
  referenceId?: string | undefined;
  /** ms since epoch or an ISO time; aligned down to a multiple of lengthSec unless `align` is false. */
  start: number | string;
  lengthSec: number;
  /** Default true. False keeps `start` as given (e.g. for a compacted window spanning several). */
  align?: boolean;
}

/** Which features, outputs and inputs a window carries (from the manifest); all empty by default. */
export interface WindowLayout {
  features?: ReadonlyArray<{ name: string; kind: 'numeric' | 'categorical'; bins?: number }>;
  outputs?: ReadonlyArray<{ name: string; index: number; bins?: number }>;
  inputs?: readonly string[];
}

/** The start of the UTC-aligned window of `lengthSec` seconds holding `timeMs`. */
export function alignWindowStart(timeMs: number, lengthSec: number): number {
  if (!Number.isInteger(lengthSec) || lengthSec <= 0) {
    throw new AppError('INVALID_INPUT', `invalid window length ${String(lengthSec)} s: expected a positive integer`);
  }
  if (!Number.isFinite(timeMs)) {
    throw new AppError('INVALID_INPUT', `invalid time ${String(timeMs)}: expected ms since the epoch`);
  }
  const len = lengthSec * 1000;
  return Math.floor(timeMs / len) * len;
}

function toMs(t: number | string, what: string): number {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new AppError('INVALID_INPUT', `invalid ${what} ${JSON.stringify(t)}: expected an ISO time or ms since the epoch`);
  return ms;
}

export function emptyWindow(meta: WindowMeta, layout: WindowLayout = {}): SummaryWindow {
  const given = toMs(meta.start, 'window start');
  const aligned = alignWindowStart(given, meta.lengthSec);
  const start = meta.align === false ? given : aligned;
  const w: SummaryWindow = {
    model: meta.model,
    version: meta.version,
    start: new Date(start).toISOString(),
    lengthSec: meta.lengthSec,
    count: 0,
    errors: {},
    latency: emptyLatency(),
    features: (layout.features ?? []).map((f): FeatureSummary =>
      f.kind === 'numeric'
        ? { kind: 'numeric', name: f.name, ...(f.bins === undefined ? {} : { hist: emptyHistogram(f.bins) }), moments: emptyMoments(), nulls: 0, nans: 0 }
        : { kind: 'categorical', name: f.name, cat: { counts: {}, other: 0 }, nulls: 0 }),
    outputs: (layout.outputs ?? []).map((o): OutputSummary => ({
      name: o.name,
      index: o.index,
      ...(o.bins === undefined ? {} : { hist: emptyHistogram(o.bins) }),
      moments: emptyMoments(),
    })),
    inputs: (layout.inputs ?? []).map((name): InputSummary => ({ name, moments: emptyMoments(), nans: 0 })),
  };
  if (meta.referenceId !== undefined) w.referenceId = meta.referenceId;
  return w;
}

/**
 * One window covering both: same model, version and reference required; start is
 * the earlier start and lengthSec reaches the later end. Counts add exactly.
 */
export function mergeWindows(a: SummaryWindow, b: SummaryWindow): SummaryWindow {
  for (const key of ['model', 'version', 'referenceId'] as const) {
    if (a[key] !== b[key]) {
      throw new AppError(
        'INVALID_INPUT',
        `cannot merge windows of different ${key}: ${JSON.stringify(a[key] ?? null)} vs ${JSON.stringify(b[key] ?? null)}; expected the same model, version and reference`,
      );
    }
  }
  const aStart = toMs(a.start, 'window start');
  const bStart = toMs(b.start, 'window start');
  const start = Math.min(aStart, bStart);
  const end = Math.max(aStart + a.lengthSec * 1000, bStart + b.lengthSec * 1000);
  const w: SummaryWindow = {
    model: a.model,
    version: a.version,
    start: new Date(start).toISOString(),
    lengthSec: Math.ceil((end - start) / 1000),
    count: a.count + b.count,
    errors: mergeCounts(a.errors, b.errors),
    latency: mergeLatency(a.latency, b.latency),
    features: mergeByName(a.features, b.features, mergeFeature, 'feature'),
    outputs: mergeByName(a.outputs, b.outputs, mergeOutput, 'output'),
    inputs: mergeByName(a.inputs ?? [], b.inputs ?? [], mergeInput, 'input'),
  };
  if (a.referenceId !== undefined) w.referenceId = a.referenceId;
  // The clock that stamped the merged start, when both were stamped by one (docs/decisions/0059-clock-marks.md).
  if (a.clock !== undefined && a.clock === b.clock) w.clock = a.clock;
  // A window from an older agent has no errorLatency: the merge keeps what the other one knows.
  if (a.errorLatency || b.errorLatency) w.errorLatency = mergeLatency(a.errorLatency ?? emptyLatency(), b.errorLatency ?? emptyLatency());
  const feedback = mergeFeedback(a.feedback, b.feedback);
  if (feedback) w.feedback = feedback;
  if (a.confidence || b.confidence) w.confidence = { n: (a.confidence?.n ?? 0) + (b.confidence?.n ?? 0), sum: (a.confidence?.sum ?? 0) + (b.confidence?.sum ?? 0) } satisfies ConfidenceSum;
  if (a.shadow || b.shadow) w.shadow = mergeShadows(a.shadow ?? [], b.shadow ?? []);
  return w;
}

/** Label counts add; confusion matrices add cell by cell (of the same size: one version's classes). */
export function mergeFeedback(a: FeedbackCounts | undefined, b: FeedbackCounts | undefined): FeedbackCounts | undefined {
  if (!a || !b) return a || b ? structuredClone((a ?? b)!) : undefined;
  const out: FeedbackCounts = { labelled: a.labelled + b.labelled, correct: a.correct + b.correct };
  if (a.confusion || b.confusion) {
    const x = a.confusion ?? [];
    const y = b.confusion ?? [];
    if (x.length > 0 && y.length > 0 && x.length !== y.length) {
      throw new AppError('INVALID_INPUT', `cannot merge confusion matrices of ${x.length} and ${y.length} cells: expected the same classes`);
    }
    out.confusion = Array.from({ length: Math.max(x.length, y.length) }, (_, i) => (x[i] ?? 0) + (y[i] ?? 0));
  }
  if (a.absErrorSum !== undefined || b.absErrorSum !== undefined) out.absErrorSum = (a.absErrorSum ?? 0) + (b.absErrorSum ?? 0);
  if (a.sqErrorSum !== undefined || b.sqErrorSum !== undefined) out.sqErrorSum = (a.sqErrorSum ?? 0) + (b.sqErrorSum ?? 0);
  return out;
}

/** Shadow summaries by candidate version, every count summed (so the plausibility relations survive a merge). */
export function mergeShadows(a: readonly ShadowSummary[], b: readonly ShadowSummary[]): ShadowSummary[] {
  const out = new Map<string, ShadowSummary>();
  for (const s of [...a, ...b]) {
    const cur = out.get(s.version);
    out.set(s.version, cur ? {
      version: s.version, sampled: cur.sampled + s.sampled, dropped: cur.dropped + s.dropped, runs: cur.runs + s.runs,
      agree: cur.agree + s.agree, errors: cur.errors + s.errors, latency: mergeLatency(cur.latency, s.latency),
    } : { ...s, latency: { counts: [...s.latency.counts], sumMs: s.latency.sumMs } });
  }
  return [...out.values()];
}

export type FeatureTotals =
  | { kind: 'numeric'; counts: number[] | null; under: number; over: number; n: number; nulls: number; nans: number }
  | { kind: 'categorical'; counts: Record<string, number>; other: number; nulls: number };

export interface OutputTotals { counts: number[] | null; under: number; over: number; n: number }

/** Integer totals over many windows: what the hub compares with what devices sent. */
export interface WindowTotals {
  count: number;
  errors: Record<string, number>;
  latencyCount: number;
  features: Record<string, FeatureTotals>;
  outputs: Record<string, OutputTotals>;
  inputs: Record<string, { n: number; nans: number }>;
  /**
   * Sums past 2^53 - 1, where a float sum stops being exact (paths such as `count` or
   * `features.temp.counts[3]`, the first MAX_INEXACT_PATHS): present only when there are any.
   */
  inexact?: string[];
}

/** Paths of inexact sums WindowTotals names at most. */
export const MAX_INEXACT_PATHS = 20;

function setOwn<T>(rec: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(rec, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Sums every count of `windows` (any models: features, outputs and inputs are
 * summed by name and must agree in kind and bins). Only integers, so two sides
 * holding the same windows get deep-equal totals whatever the order, and the
 * totals of windows equal the totals of their merge.
 */
export function windowTotals(windows: readonly SummaryWindow[]): WindowTotals {
  const acc = new TotalsAccumulator();
  for (const w of windows) acc.add(w);
  return acc.totals();
}

/**
 * windowTotals one window at a time: a caller reading many windows (the hub's `GET /models/{name}/totals`)
 * adds them a page at a time and holds only the running sums, never every window.
 */
export class TotalsAccumulator {
  private count = 0;
  private errors: Record<string, number> = {};
  private latencyN = 0;
  // By name, merged in place: rebuilt per window, 100 windows of 5,000 categories a device made up took 73 s.
  private readonly features = new Map<string, FeatureSummary>();
  private readonly outputs = new Map<string, OutputSummary>();
  private readonly inputs = new Map<string, InputSummary>();

  add(w: SummaryWindow): void {
    this.count += w.count;
    // Summed in place, and a code outside ErrorCode under OTHER as in the hub's rollups (countedErrorCode):
    // copied per window, 100 windows of 5,000 made-up codes took 76 s of the hub's event loop.
    for (const code in w.errors) if (Object.hasOwn(w.errors, code)) addOwn(this.errors, countedErrorCode(code), w.errors[code] as number);
    this.latencyN += latencyCount(w.latency);
    addByName(this.features, w.features, addFeature, 'feature');
    addByName(this.outputs, w.outputs, mergeOutput, 'output');
    addByName(this.inputs, w.inputs ?? [], mergeInput, 'input');
  }

  /**
   * The totals of every window added so far. A sum past 2^53 - 1 is kept as the float it is and named in
   * `inexact` (docs/decisions/0086-a-device-claims-its-time-once.md): one sum past it, honest or not, must not
   * make the totals of every caller fail.
   */
  totals(): WindowTotals {
    const t: WindowTotals = { count: this.count, errors: this.errors, latencyCount: this.latencyN, features: {}, outputs: {}, inputs: {} };
    for (const f of this.features.values()) {
      setOwn<FeatureTotals>(t.features, f.name, f.kind === 'numeric'
        ? { kind: 'numeric', counts: f.hist ? f.hist.counts : null, under: f.hist?.under ?? 0, over: f.hist?.over ?? 0, n: f.moments.n, nulls: f.nulls, nans: f.nans }
        : { kind: 'categorical', counts: f.cat.counts, other: f.cat.other, nulls: f.nulls });
    }
    for (const o of this.outputs.values()) {
      setOwn(t.outputs, o.name, { counts: o.hist ? o.hist.counts : null, under: o.hist?.under ?? 0, over: o.hist?.over ?? 0, n: o.moments.n });
    }
    for (const i of this.inputs.values()) setOwn(t.inputs, i.name, { n: i.moments.n, nans: i.nans });
    const inexact: string[] = [];
    findInexact(t, '', inexact);
    if (inexact.length) t.inexact = inexact;
    return t;
  }
}

/**
 * Counts are non-negative, so a sum that is a safe integer had only safe partial sums: checking the
 * results proves every addition was exact. Past 2^53 - 1 a total may be off by its rounding; named in `out`.
 */
function findInexact(v: unknown, path: string, out: string[]): void {
  if (out.length >= MAX_INEXACT_PATHS) return;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) out.push(path);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => findInexact(x, `${path}[${i}]`, out));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) findInexact(x, path ? `${path}.${k}` : k, out);
  }
}
