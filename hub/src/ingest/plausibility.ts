// What a device may report (docs/security.md, "A device reports only what it could have seen"):
// numbers another machine sends are checked before they are summed. Pure checks of one window or
// event against the device's context; the IngestGuard (guard.ts) supplies that context. Counts
// here, floats (moments, latency and error sums) in plausibility-values.ts.
// Every check is one an honest agent always passes (agent/src/summaries records exactly these
// relations, and compaction merges windows by summing, which keeps every inequality); the test
// test/src/plausibility/agent-windows.test.ts holds windows of the agent's own recorder to them.
import { MAX_CONFUSION_CLASSES, type DeviceEvent, type SeqWindow } from '@edgefleet/shared';
import { errorSumsPlausible, latencySumPlausible, momentsPlausible } from './plausibility-values.js';

export interface IngestLimits {
  /** Predictions, and requests, a window may count per second of its length (a batch job on a fast box stays far below). */
  maxPredictionsPerSec: number;
  /** How far in the hub's future a window may start or an event be stamped (clock skew). */
  futureToleranceMs: number;
  /** How far above the highest seq already stored from the device a new seq may jump. */
  maxSeqGap: number;
  /** The longest window (compaction merges minute windows up to days). */
  maxLengthSec: number;
  /** Characters of JSON of windows and events stored per device; once reached, reports are acked and refused (storage_quota). */
  maxStoredBytesPerDevice: number;
  /**
   * Seconds of time a device's windows of one version may claim again (coverage.ts): a restart, a resend,
   * a compacted backlog's boundary. Each window pays what its counts need at the rate limits.
   */
  maxOverlapSec: number;
  /** Characters of JSON of windows parked per device, of versions the registry does not hold (parked.ts); past it they are refused. */
  maxParkedBytesPerDevice: number;
  /** Characters of JSON of windows parked by all devices together, per hub (parked.ts); past it they are refused. */
  maxParkedBytes: number;
  /** Days a window stays parked for its version to be pushed; the sweep deletes older ones (parked-expiry.ts). */
  parkedRetentionDays: number;
  /** Device clock offset past which the hub warns and places windows by its own clock (clock-offset.ts). */
  clockSkewMs?: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxPredictionsPerSec: 1_000_000,
  futureToleranceMs: 3600_000,
  maxSeqGap: 10_000_000,
  maxLengthSec: 31 * 86_400,
  maxStoredBytesPerDevice: 256 * 1024 * 1024,
  maxOverlapSec: 86_400,
  // The agent's default outbox budget (summaries.budgetBytes): a box's whole backlog fits.
  maxParkedBytesPerDevice: 64 * 1024 * 1024,
  // 64 boxes' whole backlogs, or about a day of 1,000 boxes' windows (~4 MB a day each, docs/hub.md).
  maxParkedBytes: 4 * 1024 * 1024 * 1024,
  // As long as capture.keepDays and alerts.deliveriesDays: weeks for the operator to push a missing bundle.
  parkedRetentionDays: 30,
};

export type RefusalReason =
  | 'unassigned_version' // a model version the device was never told to run nor reported installing from the registry
  | 'seq_jump' // a seq far above anything the device sent before (would poison the seq space)
  | 'future_start' // starts (or, for an event, is stamped) beyond the clock tolerance
  | 'implausible_rate' // more predictions, requests or recorded values than the window's length allows
  | 'inconsistent_counts' // counts that contradict the window's own histograms, or a name listed twice
  | 'implausible_values' // moments, latency or error sums no recording makes (plausibility-values.ts)
  | 'other_reference' // binned on another reference than the version's manifest's (references.ts)
  | 'overlapping_window' // claims time its stored windows of the version already claim, past its credit (coverage.ts)
  | 'storage_quota' // the device already has maxStoredBytesPerDevice stored (guard.ts)
  | 'schema_invalid'; // does not match the wire schema, in a batch whose other items do (mqtt/salvage.ts)

/**
 * Output and input values (tensor elements) a window may count per second of its length. An output
 * holds any number of values per prediction (a detection model's boxes, every element of a tensor
 * without a reference column), so they are not bounded by `count`; the agent records each on one
 * JavaScript thread at ~20 ns a value (docs/performance.md, summary recording: 0.27-0.35 µs for a
 * prediction of 17 values), so 1e10 a second is far more than it can record.
 */
export const MAX_VALUES_PER_SEC = 1e10;

export interface DeviceContext {
  nowMs: number;
  /** Highest seq stored from this device (0 if none). */
  maxSeq: number;
  allowed(model: string, version: string): boolean;
  /**
   * The reference id of the version's manifest (references.ts): null when it has none, undefined when
   * unknown (not checked). `sent` is the window's. Absent: windows' references are not checked.
   */
  referenceOf?(model: string, version: string, sent: string): string | null | undefined;
}

function checkSeq(seq: number, ctx: DeviceContext, limits: IngestLimits): RefusalReason | null {
  return seq > ctx.maxSeq + limits.maxSeqGap ? 'seq_jump' : null;
}

const sum = (a: readonly number[]): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return s;
};

/** Why the hub must not count this window, or null when it is plausible. */
export function checkWindow(w: SeqWindow, ctx: DeviceContext, limits: IngestLimits): RefusalReason | null {
  if (!ctx.allowed(w.model, w.version)) return 'unassigned_version';
  // Bins on another manifest's reference edges would be merged into this version's drift as if on its own
  // (docs/decisions/0152-windows-of-another-reference.md). A window naming no reference is not checked.
  if (w.referenceId !== undefined && ctx.referenceOf) {
    const ref = ctx.referenceOf(w.model, w.version, w.referenceId);
    if (ref !== undefined && ref !== w.referenceId) return 'other_reference';
  }
  const seq = checkSeq(w.seq, ctx, limits);
  if (seq) return seq;
  const start = Date.parse(w.start);
  if (!(start <= ctx.nowMs + limits.futureToleranceMs)) return 'future_start';
  // Every request (answered or refused) adds one latency sample, so the samples are the requests:
  // like predictions, at most maxPredictionsPerSec a second (a request carries one prediction or
  // many, or none when refused; the agent answers ~10,000 a second, docs/performance.md, and a batch
  // job's refused line costs it more than a microsecond). Errors, errorLatency and shadow counts are
  // bounded by the samples below, so every count of the window is.
  const most = w.lengthSec * limits.maxPredictionsPerSec;
  const samples = sum(w.latency.counts);
  if (w.lengthSec > limits.maxLengthSec || w.count > most || samples > most) return 'implausible_rate';
  // Refused requests are also counted in `errors`, answered ones add their rows to `count`. So
  // errors <= samples, and a window that counts predictions has at least one answered request.
  let errors = 0;
  for (const k in w.errors) errors += w.errors[k] as number;
  if (errors > samples || (w.count > 0 && samples - errors < 1)) return 'inconsistent_counts';
  // errorLatency is the failed requests' part of `latency`: within it bucket by bucket, and at most
  // one sample per error (fewer after a merge with a window of an older agent, which has none).
  if (w.errorLatency) {
    const e = w.errorLatency.counts;
    if (e.length !== w.latency.counts.length || sum(e) > errors) return 'inconsistent_counts';
    for (let i = 0; i < e.length; i++) if ((e[i] as number) > (w.latency.counts[i] as number)) return 'inconsistent_counts';
  }
  // Shadow runs (docs/agent-summaries.md "Shadow"): samples are answered requests of this window (latency
  // samples minus errors), runs and failures come from samples, agreements from runs, and each run adds
  // one latency sample. One entry per candidate version (the agent keeps one tally each; merges sum by version).
  const candidates = new Set<string>();
  for (const sh of w.shadow ?? []) {
    if (candidates.has(sh.version)) return 'inconsistent_counts';
    candidates.add(sh.version);
    if (sh.sampled + sh.dropped > samples - errors || sh.runs + sh.errors > sh.sampled || sh.agree > sh.runs || sum(sh.latency.counts) !== sh.runs) return 'inconsistent_counts';
  }
  return checkRows(w) ?? checkValues(w) ?? checkAccuracy(w, limits);
}

/**
 * Rows (docs/agent-summaries.md "Recording"; agent/src/summaries/acc.ts): `count` is the rows of the
 * feature input, and each row gives every feature one value: a numeric one adds it to one bin (or
 * under/over; no bins without a reference) or, NaN, to `nans`, and a finite one also to the moments;
 * a categorical one adds it to one category, `other` or, NaN, `nulls`. So for each feature
 * binned + nans + nulls <= count and moments.n + nans + nulls <= count (the agent's numeric `nulls`
 * is 0; merges sum every term). Each name is listed once: the agent writes one entry per feature,
 * output and input of the manifest, mergeWindows (shared) refuses a window naming one twice, and
 * rollups would add every entry of a name to its one slot. Outputs and inputs hold any number of
 * values per row (see MAX_VALUES_PER_SEC); an output's finite values are in its moments and every
 * non-NaN one in its bins, so moments.n <= binned where it has bins.
 */
function checkRows(w: SeqWindow): RefusalReason | null {
  const values = w.lengthSec * MAX_VALUES_PER_SEC;
  const names = new Set<string>();
  for (const f of w.features) {
    if (names.has(f.name)) return 'inconsistent_counts';
    names.add(f.name);
    if (f.kind === 'numeric') {
      const binned = f.hist ? sum(f.hist.counts) + f.hist.under + f.hist.over : 0;
      if (binned + f.nans + f.nulls > w.count || f.moments.n + f.nans + f.nulls > w.count) return 'inconsistent_counts';
    } else {
      let cats = f.cat.other + f.nulls;
      for (const k in f.cat.counts) cats += f.cat.counts[k] as number;
      if (cats > w.count) return 'inconsistent_counts';
    }
  }
  names.clear();
  for (const o of w.outputs) {
    if (names.has(o.name)) return 'inconsistent_counts';
    names.add(o.name);
    const binned = o.hist ? sum(o.hist.counts) + o.hist.under + o.hist.over : 0;
    if (binned > values || o.moments.n > values) return 'implausible_rate';
    if (o.hist && o.moments.n > binned) return 'inconsistent_counts';
  }
  names.clear();
  for (const i of w.inputs) {
    if (names.has(i.name)) return 'inconsistent_counts';
    names.add(i.name);
    if (i.moments.n + i.nans > values) return 'implausible_rate';
  }
  return null;
}

/**
 * Floats (plausibility-values.ts): the moments of numeric features and outputs, which rollups merge
 * (inputs' are merged nowhere: only their counts are summed, in totals), and latency sums.
 */
function checkValues(w: SeqWindow): RefusalReason | null {
  for (const f of w.features) if (f.kind === 'numeric' && !momentsPlausible(f.moments)) return 'implausible_values';
  for (const o of w.outputs) if (!momentsPlausible(o.moments)) return 'implausible_values';
  if (!latencySumPlausible(w.latency) || (w.errorLatency && !latencySumPlausible(w.errorLatency))) return 'implausible_values';
  for (const sh of w.shadow ?? []) if (!latencySumPlausible(sh.latency)) return 'implausible_values';
  return null;
}

/**
 * Labels and confidence (docs/drift.md "Accuracy"): correct <= labelled; a confusion matrix is square,
 * of at most MAX_CONFUSION_CLASSES classes, sums to labelled with correct on its diagonal; labels
 * arrive no faster than predictions may be made (labelled rows are earlier predictions, each labelled
 * once); squared errors at least (sum of errors)² / n (Cauchy-Schwarz) and error sums within what a
 * rollup can add (errorSumsPlausible); a confidence is at most 1 per counted row, and only predicted
 * rows have one.
 */
function checkAccuracy(w: SeqWindow, limits: IngestLimits): RefusalReason | null {
  const f = w.feedback;
  if (f) {
    if (f.labelled > w.lengthSec * limits.maxPredictionsPerSec) return 'implausible_rate';
    if (f.correct > f.labelled) return 'inconsistent_counts';
    if (f.confusion) {
      const k = Math.round(Math.sqrt(f.confusion.length));
      if (k * k !== f.confusion.length || k < 2 || k > MAX_CONFUSION_CLASSES || sum(f.confusion) !== f.labelled) return 'inconsistent_counts';
      let diagonal = 0;
      for (let i = 0; i < k; i++) diagonal += f.confusion[i * k + i] as number;
      if (diagonal !== f.correct) return 'inconsistent_counts';
    }
    const abs = f.absErrorSum ?? 0;
    const sq = f.sqErrorSum ?? 0;
    if ((abs > 0 || sq > 0) && f.labelled === 0) return 'inconsistent_counts';
    // (abs / n) · abs rather than abs² / n: the square of an honest sum may overflow where the quotient does not.
    if (f.labelled > 0 && sq < (abs / f.labelled) * abs * (1 - 1e-9) - 1e-9) return 'inconsistent_counts';
    if (!errorSumsPlausible(f.labelled, abs, sq)) return 'implausible_values';
  }
  const c = w.confidence;
  if (c && (c.n > w.count || c.sum > c.n * (1 + 1e-9))) return 'inconsistent_counts';
  return null;
}

/** Why the hub must not store this event, or null when it is plausible. */
export function checkEvent(e: DeviceEvent, ctx: DeviceContext, limits: IngestLimits): RefusalReason | null {
  if (e.model !== undefined && e.version !== undefined && !ctx.allowed(e.model, e.version)) return 'unassigned_version';
  const seq = checkSeq(e.seq, ctx, limits);
  if (seq) return seq;
  if (!(Date.parse(e.at) <= ctx.nowMs + limits.futureToleranceMs)) return 'future_start';
  return null;
}
