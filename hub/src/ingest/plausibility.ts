// What a device may report (docs/security.md, "A device reports only what it could have seen"):
// numbers another machine sends are checked before they are summed. Pure checks of one window or
// event against the device's context; the IngestGuard (ingest-guard.ts) supplies that context.
// Every check is one an honest agent always passes (agent/src/summaries records exactly these
// relations, and compaction merges windows by summing, which keeps every inequality).
import { MAX_CONFUSION_CLASSES, type DeviceEvent, type SeqWindow } from '@edgefleet/shared';

export interface IngestLimits {
  /** Predictions a window may count per second of its length (a batch job on a fast box stays far below). */
  maxPredictionsPerSec: number;
  /** How far in the hub's future a window may start or an event be stamped (clock skew). */
  futureToleranceMs: number;
  /** How far above the highest seq already stored from the device a new seq may jump. */
  maxSeqGap: number;
  /** The longest window (compaction merges minute windows up to days). */
  maxLengthSec: number;
  /** Characters of JSON of windows and events stored per device; once reached, reports are acked and refused (storage_quota). */
  maxStoredBytesPerDevice: number;
  /** Device clock offset past which the hub warns and places windows by its own clock (clock-offset.ts). */
  clockSkewMs?: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxPredictionsPerSec: 1_000_000,
  futureToleranceMs: 3600_000,
  maxSeqGap: 10_000_000,
  maxLengthSec: 31 * 86_400,
  maxStoredBytesPerDevice: 256 * 1024 * 1024,
};

export type RefusalReason =
  | 'unassigned_version' // a model version the device was never told to run nor reported installing from the registry
  | 'seq_jump' // a seq far above anything the device sent before (would poison the seq space)
  | 'future_start' // starts (or, for an event, is stamped) beyond the clock tolerance
  | 'implausible_rate' // more predictions than the window's length allows
  | 'inconsistent_counts' // counts that contradict the window's own histograms
  | 'storage_quota'; // the device already has maxStoredBytesPerDevice stored (ingest-guard.ts)

export interface DeviceContext {
  nowMs: number;
  /** Highest seq stored from this device (0 if none). */
  maxSeq: number;
  allowed(model: string, version: string): boolean;
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
  const seq = checkSeq(w.seq, ctx, limits);
  if (seq) return seq;
  const start = Date.parse(w.start);
  if (!(start <= ctx.nowMs + limits.futureToleranceMs)) return 'future_start';
  if (w.lengthSec > limits.maxLengthSec || w.count > w.lengthSec * limits.maxPredictionsPerSec) return 'implausible_rate';
  // Every request (answered or refused) adds one latency sample; refused ones are also counted in
  // `errors`, answered ones add their rows to `count`. So errors <= samples, and a window that
  // counts predictions has at least one answered request.
  let errors = 0;
  for (const k in w.errors) errors += w.errors[k] as number;
  const samples = sum(w.latency.counts);
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
  // one latency sample.
  for (const sh of w.shadow ?? []) {
    if (sh.sampled + sh.dropped > samples - errors || sh.runs + sh.errors > sh.sampled || sh.agree > sh.runs || sum(sh.latency.counts) !== sh.runs) return 'inconsistent_counts';
  }
  // Each row adds to one bin (or under/over, or NaN) of a numeric feature, and to one category.
  for (const f of w.features) {
    if (f.kind === 'numeric') {
      const binned = f.hist ? sum(f.hist.counts) + f.hist.under + f.hist.over : 0;
      if (binned + f.nans > w.count || f.moments.n > w.count) return 'inconsistent_counts';
    } else {
      let cats = f.cat.other;
      for (const k in f.cat.counts) cats += f.cat.counts[k] as number;
      if (cats > w.count) return 'inconsistent_counts';
    }
  }
  return checkAccuracy(w, limits);
}

/**
 * Labels and confidence (docs/drift.md "Accuracy"): correct <= labelled; a confusion matrix is square,
 * of at most MAX_CONFUSION_CLASSES classes, sums to labelled with correct on its diagonal; labels
 * arrive no faster than predictions may be made (labelled rows are earlier predictions, each labelled
 * once); squared errors at least (sum of errors)² / n (Cauchy-Schwarz); a confidence is at most 1 per
 * counted row, and only predicted rows have one.
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
    if (f.labelled > 0 && sq < ((abs * abs) / f.labelled) * (1 - 1e-9) - 1e-9) return 'inconsistent_counts';
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
