// Device → hub telemetry (summary windows), events, and hub → device acks.
// Windows and events share the device's one outbox `seq` space, so one ack covers both.
import { z } from 'zod';
import { CLOCK_MARK_RE, ClockMark, Count, DeviceId, IsoTime, ModelName, SemVer, Sha256Hex, schemaTag } from './common.js';
import { CategoricalSketch, HistogramSketch, LatencySketch, MomentsSketch } from '../sketch/schema.js';

export const FeatureSummary = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('numeric'), name: z.string(), hist: HistogramSketch.optional(), moments: MomentsSketch, nulls: Count, nans: Count }),
  z.object({ kind: z.literal('categorical'), name: z.string(), cat: CategoricalSketch, nulls: Count }),
]);
export type FeatureSummary = z.infer<typeof FeatureSummary>;

export const OutputSummary = z.object({ name: z.string(), index: Count, hist: HistogramSketch.optional(), moments: MomentsSketch });
export type OutputSummary = z.infer<typeof OutputSummary>;

/** Per input tensor moments over all its elements (for non-tabular models). */
export const InputSummary = z.object({ name: z.string(), moments: MomentsSketch, nans: Count });
export type InputSummary = z.infer<typeof InputSummary>;

/** Most classes of a window's confusion matrix (manifest MAX_TASK_CLASSES). */
export const MAX_CONFUSION_CLASSES = 64;

/**
 * Ground truth received in the window for earlier predictions of its model version (counted in the
 * window the label arrives in, docs/drift.md "Accuracy"). Sums, so windows merge by adding.
 * Classification: `confusion` is classes × classes, row-major, row = the label, column = the
 * predicted class, so its sum is `labelled` and its diagonal `correct`. Regression: error sums.
 */
export const FeedbackCounts = z.object({
  labelled: Count,
  correct: Count,
  confusion: z.array(Count).max(MAX_CONFUSION_CLASSES * MAX_CONFUSION_CLASSES).optional(),
  absErrorSum: z.number().nonnegative().finite().optional(),
  sqErrorSum: z.number().nonnegative().finite().optional(),
});
export type FeedbackCounts = z.infer<typeof FeedbackCounts>;

/** CBPE: the predicted class's confidence summed over `n` predicted rows (expected accuracy = sum / n). */
export const ConfidenceSum = z.object({ n: Count, sum: z.number().nonnegative().finite() });
export type ConfidenceSum = z.infer<typeof ConfidenceSum>;

/**
 * A candidate run in shadow beside this window's version (docs/agent-summaries.md "Shadow"): answered
 * requests sampled for it (`sampled`) or dropped because the shadow fell behind (`dropped`), shadow runs
 * that finished (`runs`, their latency in `latency`) or failed (`errors`), and runs whose outputs agreed
 * with the answer given (`agree`). Honest windows keep runs + errors <= sampled, sampled + dropped <= count,
 * agree <= runs and latency samples = runs (hub/src/ingest/plausibility.ts); merging sums every field.
 */
export const ShadowSummary = z.object({
  version: SemVer,
  sampled: Count,
  dropped: Count,
  runs: Count,
  agree: Count,
  errors: Count,
  latency: LatencySketch,
});
export type ShadowSummary = z.infer<typeof ShadowSummary>;

export const SummaryWindow = z.object({
  model: ModelName,
  version: SemVer,
  referenceId: Sha256Hex.optional(),
  /** UTC-aligned start of the window. */
  start: IsoTime,
  /** The clock that stamped `start` (ClockMark); optional: older agents send none. */
  clock: ClockMark.optional(),
  lengthSec: z.number().int().positive(),
  count: Count,
  errors: z.record(z.string(), Count),
  /** Every request, answered or failed (errors of any kind included). */
  latency: LatencySketch,
  /**
   * The part of `latency` from failed requests (every code in `errors`): answered latency is `latency`
   * minus this, bucket by bucket, so quick refusals (invalid input, shed load) cannot hide a slow model
   * (docs/agent-summaries.md "Error kinds"). Optional: windows from older agents have none.
   */
  errorLatency: LatencySketch.optional(),
  features: z.array(FeatureSummary),
  outputs: z.array(OutputSummary),
  inputs: z.array(InputSummary).default([]),
  /** Labels received (optional: only when some arrived). */
  feedback: FeedbackCounts.optional(),
  /** Classifiers: the predicted classes' confidence (optional: windows of older agents have none). */
  confidence: ConfidenceSum.optional(),
  /** Candidates run in shadow beside this version, one entry per candidate version (optional). */
  shadow: z.array(ShadowSummary).optional(),
});
export type SummaryWindow = z.infer<typeof SummaryWindow>;

export const SeqWindow = SummaryWindow.extend({ seq: z.number().int().positive() });
export type SeqWindow = z.infer<typeof SeqWindow>;

export const TELEMETRY_SCHEMA = 'edgefleet.telemetry/v1' as const;
export const TelemetryBatch = z.object({ schema: schemaTag(TELEMETRY_SCHEMA), deviceId: DeviceId, windows: z.array(SeqWindow).min(1) });
export type TelemetryBatch = z.infer<typeof TelemetryBatch>;

export const EventKind = z.enum([
  'download_started', 'download_progress', 'verifying', 'installed', 'activating', 'activated', 'install_failed',
  'desired_refused', 'rolled_back', 'policy_breach', 'bit_rot', 'trust_rotated', 'trust_refused',
  'backlog_compacted', 'backlog_dropped', 'error', 'waiting_for_disk',
  // A removal (DesiredRemoval): serving stopped, files deleted after the keep time, not acted on for a model installed on the box itself.
  'model_removed', 'model_forgotten', 'removal_kept_local',
]);
export type EventKind = z.infer<typeof EventKind>;

export const DeviceEvent = z.object({
  seq: z.number().int().positive(),
  at: IsoTime,
  /** The clock that stamped `at` (ClockMark, docs/decisions/0059-clock-marks.md); optional: older agents send none. */
  clock: ClockMark.optional(),
  kind: EventKind,
  model: ModelName.optional(),
  version: SemVer.optional(),
  code: z.string().optional(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;

export const EVENTS_SCHEMA = 'edgefleet.events/v1' as const;
export const EventBatch = z.object({ schema: schemaTag(EVENTS_SCHEMA), deviceId: DeviceId, events: z.array(DeviceEvent).min(1) });
export type EventBatch = z.infer<typeof EventBatch>;

/** Inclusive [from, to] seq ranges the hub has persisted. */
export const SeqRange = z.tuple([z.number().int().positive(), z.number().int().positive()]).refine(([a, b]) => a <= b, { error: 'expected from <= to' });
export const ACK_SCHEMA = 'edgefleet.ack/v1' as const;
export const Ack = z.object({
  schema: schemaTag(ACK_SCHEMA),
  ranges: z.array(SeqRange),
  /** Seqs of `ranges` the hub held already before this message (a resend), when any. */
  known: z.array(SeqRange).optional(),
  /**
   * The highest seq the hub holds from the device (older hubs send none). An agent whose own highest seq
   * is lower numbers from an agent.db put back from a backup or made anew: it moves what the hub has not
   * stored above this (docs/agent.md "Outbox").
   */
  maxSeq: z.number().int().nonnegative().optional(),
});
export type Ack = z.infer<typeof Ack>;

export { IsoTime };

// ---------------------------------------------------------------------------------------------
// Fast path for the hub's hottest message (issue 4/5 ingest benchmarks): zod spends most of a
// batch's validation time walking the windows' count arrays. `fastTelemetryBatch` answers "is this,
// field for field, a batch zod accepts and returns unchanged?" with plain loops. It is stricter than
// the schema (no unknown keys, `inputs` present, plain objects as JSON.parse makes them), so whenever it
// says no the caller runs zod, which either accepts (a rarer but valid shape) or refuses naming the
// field. Accepted and refused inputs and the error messages are therefore exactly zod's; a property
// test (telemetry-fast.test.ts) checks that everything accepted here zod accepts with an equal result.

type Obj = Record<string, unknown>;

function plain(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** Every own key of `o` is in `allowed` (required keys are checked by the field tests). */
function keysWithin(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isPos = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;

function counts(a: unknown): boolean {
  if (!Array.isArray(a)) return false;
  for (let i = 0; i < a.length; i++) if (!isCount(a[i])) return false;
  return true;
}

function countRecord(r: unknown): boolean {
  if (!plain(r)) return false;
  for (const k in r) if (k === '__proto__' || !isCount(r[k])) return false;
  return true;
}

const HIST_KEYS = new Set(['counts', 'under', 'over']);
function hist(h: unknown): boolean {
  return plain(h) && keysWithin(h, HIST_KEYS) && counts(h['counts']) && isCount(h['under']) && isCount(h['over']);
}

const MOMENT_KEYS = new Set(['n', 'mean', 'm2', 'min', 'max']);
function moments(m: unknown): boolean {
  if (!plain(m) || !keysWithin(m, MOMENT_KEYS)) return false;
  const { min, max, m2 } = m;
  return isCount(m['n']) && isNum(m['mean']) && isNum(m2) && m2 >= 0 && (min === null || isNum(min)) && (max === null || isNum(max));
}

const NUMERIC_KEYS = new Set(['kind', 'name', 'hist', 'moments', 'nulls', 'nans']);
const CATEGORICAL_KEYS = new Set(['kind', 'name', 'cat', 'nulls']);
const CAT_KEYS = new Set(['counts', 'other']);
function feature(f: unknown): boolean {
  if (!plain(f) || typeof f['name'] !== 'string' || !isCount(f['nulls'])) return false;
  if (f['kind'] === 'numeric') {
    return keysWithin(f, NUMERIC_KEYS) && ('hist' in f ? hist(f['hist']) : true) && moments(f['moments']) && isCount(f['nans']);
  }
  if (f['kind'] === 'categorical') {
    const c = f['cat'];
    return keysWithin(f, CATEGORICAL_KEYS) && plain(c) && keysWithin(c, CAT_KEYS) && countRecord(c['counts']) && isCount(c['other']);
  }
  return false;
}

const OUTPUT_KEYS = new Set(['name', 'index', 'hist', 'moments']);
function output(o: unknown): boolean {
  return plain(o) && keysWithin(o, OUTPUT_KEYS) && typeof o['name'] === 'string' && isCount(o['index'])
    && ('hist' in o ? hist(o['hist']) : true) && moments(o['moments']);
}

const INPUT_KEYS = new Set(['name', 'moments', 'nans']);
function input(o: unknown): boolean {
  return plain(o) && keysWithin(o, INPUT_KEYS) && typeof o['name'] === 'string' && moments(o['moments']) && isCount(o['nans']);
}

function every(a: unknown, check: (x: unknown) => boolean): boolean {
  if (!Array.isArray(a)) return false;
  for (let i = 0; i < a.length; i++) if (!check(a[i])) return false;
  return true;
}

/** The string formats through the schemas themselves (a window's strings repeat: remember the last good ones). */
function stringCheck(schema: z.ZodType<string>): (v: unknown) => boolean {
  let last: string | null = null;
  return (v) => {
    if (typeof v !== 'string') return false;
    if (v === last) return true;
    if (!schema.safeParse(v).success) return false;
    last = v;
    return true;
  };
}
const modelOk = stringCheck(ModelName);
const versionOk = stringCheck(SemVer);
const startOk = stringCheck(IsoTime);
const shaOk = stringCheck(Sha256Hex);
const deviceOk = stringCheck(DeviceId);

const WINDOW_KEYS = new Set(['seq', 'model', 'version', 'referenceId', 'start', 'clock', 'lengthSec', 'count', 'errors', 'latency', 'errorLatency', 'features', 'outputs', 'inputs', 'feedback', 'confidence', 'shadow']);
const FEEDBACK_KEYS = new Set(['labelled', 'correct', 'confusion', 'absErrorSum', 'sqErrorSum']);
const optNonNeg = (o: Obj, k: string): boolean => !(k in o) || (isNum(o[k]) && (o[k] as number) >= 0);
function feedbackCounts(f: unknown): boolean {
  return plain(f) && keysWithin(f, FEEDBACK_KEYS) && isCount(f['labelled']) && isCount(f['correct'])
    && (!('confusion' in f) || (counts(f['confusion']) && (f['confusion'] as unknown[]).length <= MAX_CONFUSION_CLASSES * MAX_CONFUSION_CLASSES))
    && optNonNeg(f, 'absErrorSum') && optNonNeg(f, 'sqErrorSum');
}
const CONFIDENCE_KEYS = new Set(['n', 'sum']);
function confidenceSum(c: unknown): boolean {
  return plain(c) && keysWithin(c, CONFIDENCE_KEYS) && isCount(c['n']) && isNum(c['sum']) && c['sum'] >= 0;
}
const LATENCY_KEYS = new Set(['counts', 'sumMs']);
function latency(lat: unknown): boolean {
  return plain(lat) && keysWithin(lat, LATENCY_KEYS) && counts(lat['counts']) && isNum(lat['sumMs']) && lat['sumMs'] >= 0;
}
const SHADOW_KEYS = new Set(['version', 'sampled', 'dropped', 'runs', 'agree', 'errors', 'latency']);
function shadow(s: unknown): boolean {
  return plain(s) && keysWithin(s, SHADOW_KEYS) && versionOk(s['version']) && isCount(s['sampled']) && isCount(s['dropped'])
    && isCount(s['runs']) && isCount(s['agree']) && isCount(s['errors']) && latency(s['latency']);
}
function seqWindow(w: unknown): boolean {
  if (!plain(w) || !keysWithin(w, WINDOW_KEYS)) return false;
  return isPos(w['seq']) && modelOk(w['model']) && versionOk(w['version']) && ('referenceId' in w ? shaOk(w['referenceId']) : true)
    && startOk(w['start']) && ('clock' in w ? typeof w['clock'] === 'string' && CLOCK_MARK_RE.test(w['clock']) : true) && isPos(w['lengthSec']) && isCount(w['count']) && countRecord(w['errors'])
    && latency(w['latency']) && ('errorLatency' in w ? latency(w['errorLatency']) : true)
    && every(w['features'], feature) && every(w['outputs'], output) && every(w['inputs'], input)
    && ('feedback' in w ? feedbackCounts(w['feedback']) : true) && ('confidence' in w ? confidenceSum(w['confidence']) : true)
    && ('shadow' in w ? every(w['shadow'], shadow) : true);
}

const BATCH_KEYS = new Set(['schema', 'deviceId', 'windows']);

/**
 * `value` itself when it is a TelemetryBatch exactly as zod would return it; otherwise null (then
 * validate with `parseWire(TelemetryBatch, ...)`, which accepts it or says what is wrong).
 */
export function fastTelemetryBatch(value: unknown): TelemetryBatch | null {
  if (!plain(value) || !keysWithin(value, BATCH_KEYS) || value['schema'] !== TELEMETRY_SCHEMA || !deviceOk(value['deviceId'])) return null;
  const ws = value['windows'];
  if (!Array.isArray(ws) || ws.length === 0 || !every(ws, seqWindow)) return null;
  return value as unknown as TelemetryBatch;
}
