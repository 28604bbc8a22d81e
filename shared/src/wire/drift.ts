// REST bodies for fleet metrics and drift (docs/drift.md): merged rollups of a model version per
// group (all devices, a tag's values, or each device), drift of each feature and output against the
// manifest's reference or a baseline period, and stored drift reports.
import { z } from 'zod';
import { Count, IsoTime, ModelName, SemVer } from './common.js';
import { MomentsSketch } from '../sketch/schema.js';
import { QueryCount } from './ids.js';
import { PSI_CEILING } from '../drift/distance.js';

/** A PSI threshold: above 0 and at most PSI_CEILING (≈ 18.42), the most any two distributions reach. */
export const PSI_THRESHOLD = `expected a PSI above 0 and at most ${PSI_CEILING.toFixed(2)} (the most two distributions can differ by; 0.2 is the usual drift threshold)`;
export const PsiThreshold = z.number().positive(PSI_THRESHOLD).max(PSI_CEILING, PSI_THRESHOLD);

const JS_THRESHOLD = 'expected a Jensen-Shannon distance above 0 and at most 1 (0.1 is the usual drift threshold)';
/** A JS distance threshold: (0, 1], the distance's range (base 2). */
const JsThreshold = z.number({ error: JS_THRESHOLD }).positive(JS_THRESHOLD).max(1, JS_THRESHOLD);
/** The most a drift verdict may need (a typo's extra zeros would leave every group without one, silently). */
export const MAX_DRIFT_MIN_PREDICTIONS = 100_000_000;
const MIN_PREDICTIONS = `expected a whole number of predictions, at least 1 and at most ${MAX_DRIFT_MIN_PREDICTIONS} (1000 by default), below which a group gets no verdict`;
const MinPredictions = z.number({ error: MIN_PREDICTIONS }).int(MIN_PREDICTIONS).positive(MIN_PREDICTIONS).max(MAX_DRIFT_MIN_PREDICTIONS, MIN_PREDICTIONS);

/** `device`, or `tag:KEY` (a tag key of letters, digits, ".", "_", "-"). */
export const GroupBy = z.string().regex(/^(device|tag:[A-Za-z0-9._-]{1,64})$/, 'expected "device" or "tag:KEY"');
export type GroupBy = z.infer<typeof GroupBy>;

export const MetricsQuery = z.object({
  /** Default: 24 hours before until. Rounded down to the hour. */
  since: IsoTime.optional(),
  /** Default: now. Rounded up to the hour. */
  until: IsoTime.optional(),
  by: GroupBy.optional(),
});
export type MetricsQuery = z.infer<typeof MetricsQuery>;

const Rate = z.number().min(0).nullable();
export const LatencyStats = z.object({
  count: Count,
  meanMs: z.number().nullable(),
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
});

export const OutputMetrics = z.object({
  name: z.string(),
  index: Count,
  edges: z.array(z.number()).nullable(),
  /** [under, bins..., over] on the reference edges; null without edges. */
  counts: z.array(z.number()).nullable(),
  moments: MomentsSketch,
});

/**
 * Ground truth and CBPE (docs/drift.md "Accuracy"): labels that arrived in the range, the observed
 * accuracy, the expected accuracy from the predicted classes' confidence (CBPE) beside it, the
 * confusion counts (rows = labels, columns = predicted), and errors for regressors.
 */
export const AccuracyMetrics = z.object({
  labelled: Count,
  correct: Count,
  observed: Rate,
  expected: Rate,
  confidenceRows: Count,
  classes: z.array(z.string()),
  confusion: z.array(z.array(Count)).nullable(),
  mae: z.number().min(0).nullable(),
  rmse: z.number().min(0).nullable(),
});
export type AccuracyMetrics = z.infer<typeof AccuracyMetrics>;

/**
 * A device left out of a group's figures: it held more than `maxShare` of the group's predictions or
 * binned output values (fleet metrics: or requests) in the range (hub/src/drift/device-share.ts); null
 * when none; absent in reports stored before it existed.
 */
export const DeviceLeftOut = z.object({
  deviceId: z.string(), predictions: Count, groupPredictions: Count, outputValues: z.number().nonnegative(), groupOutputValues: z.number().nonnegative(),
  maxShare: z.number(), note: z.string(),
}).nullable().optional();

export const MetricsGroup = z.object({
  /** "all", a tag value (`(none)` for devices without the tag), or a device id. */
  key: z.string(),
  devices: Count,
  windows: Count,
  predictions: Count,
  errors: z.object({ model: Count, input: Count, load: Count, byCode: z.record(z.string(), Count) }),
  modelErrorRate: Rate,
  invalidInputRate: Rate,
  shedLoadRate: Rate,
  /**
   * Requests per second over the part of the range that has passed, whether the version reported in
   * all of it or not (a version live for 15 minutes of 6 hours reads 1/24 of its rate): `activeThroughput` is the rate.
   */
  throughput: z.number(),
  /**
   * Seconds the group served in the range: its windows' summed length, at most the span from the first
   * window's start to the last one's end; a gap (a box offline or idle sends no window) is not counted.
   */
  activeSec: z.number().min(0),
  /** Requests (answered or failed) per second of `activeSec`; null without requests (a hub from before these two fields sends neither). */
  activeThroughput: z.number().min(0).nullable(),
  latency: LatencyStats,
  answeredLatency: LatencyStats,
  outputs: z.array(OutputMetrics),
  accuracy: AccuracyMetrics,
  /** The device left out of these figures (DeviceLeftOut); its m2, min and max of features and outputs stay in. */
  leftOut: DeviceLeftOut,
});
export type MetricsGroup = z.infer<typeof MetricsGroup>;

export const MetricsResponse = z.object({
  model: ModelName,
  version: SemVer,
  since: IsoTime,
  until: IsoTime,
  by: z.string().nullable(),
  groups: z.array(MetricsGroup),
});
export type MetricsResponse = z.infer<typeof MetricsResponse>;

/** `reference` (the manifest's, default) or an ISO range `START/END` (e.g. last week). */
export const Baseline = z.union([
  z.literal('reference'),
  z.string().regex(/^[^/]+\/[^/]+$/, 'expected "reference" or an ISO range START/END'),
]);

export const DriftQuery = MetricsQuery.extend({
  baseline: Baseline.optional(),
  /** Include the PSI of each feature over time (default true). */
  timeline: z.enum(['true', 'false']).optional(),
  /** Rank the worst devices of each group (default true; false answers the whole fleet from its fleet rows alone). */
  worst: z.enum(['true', 'false']).optional(),
});
export type DriftQuery = z.infer<typeof DriftQuery>;

export const DriftThresholds = z.object({
  psi: PsiThreshold.default(0.2),
  js: JsThreshold.default(0.1),
  /** Groups (and devices) with fewer predictions say so instead of a drift verdict. */
  minPredictions: MinPredictions.default(1000),
});
export type DriftThresholds = z.infer<typeof DriftThresholds>;
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { psi: 0.2, js: 0.1, minPredictions: 1000 };

export const FeatureDrift = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical', 'output']),
  /** Observations compared (nulls and NaNs excluded); for a numeric feature or output without bins (no reference edges), the values behind `mean`. */
  n: Count,
  psi: z.number().nullable(),
  js: z.number().nullable(),
  ks: z.number().nullable(),
  /** Chi-square p-value against the baseline (categorical features only). */
  chi2_p: z.number().nullable(),
  /** Mean now and in the baseline (numeric, when known). */
  mean: z.number().nullable(),
  baselineMean: z.number().nullable(),
  drifted: z.boolean(),
  /** The compared distributions as counts on the same bins (numeric: [under, bins..., over] of the reference edges; categorical: [vocabulary..., other]), for charts; absent in reports stored before it existed. */
  bins: z.object({ labels: z.array(z.string()), baseline: z.array(z.number()), current: z.array(z.number()) }).nullable().optional(),
  /** Why psi, js and ks are null (no bins, nothing to compare with, too few values), else null; absent in reports stored before it existed. */
  insufficient: z.string().nullable().optional(),
});
export type FeatureDrift = z.infer<typeof FeatureDrift>;

export const WorstDevice = z.object({ deviceId: z.string(), predictions: Count, psi: z.number(), feature: z.string() });

export const DriftGroup = z.object({
  key: z.string(),
  devices: Count,
  predictions: Count,
  /** Why there is no verdict (too few predictions, or no reference to compare with), else null. */
  insufficient: z.string().nullable(),
  drifted: z.boolean(),
  features: z.array(FeatureDrift),
  outputs: z.array(FeatureDrift),
  /** Devices of the group with the highest PSI on any feature (at most 5; devices with enough predictions). */
  worstDevices: z.array(WorstDevice),
  /**
   * A device left out of the group's statistics: it held more than `maxShare` of the group's predictions
   * or binned output values in the range (hub/src/drift/device-share.ts); null when none; absent in
   * reports stored before it existed.
   */
  leftOut: DeviceLeftOut,
});
export type DriftGroup = z.infer<typeof DriftGroup>;

export const DriftTimeline = z.object({
  /** Bucket starts (whole hours); each bucket is `bucketSec` long. */
  starts: z.array(IsoTime),
  bucketSec: z.number().int().positive(),
  /** Per feature (and output, as "output:NAME"): PSI of all devices in each bucket, null with too few predictions. */
  psi: z.record(z.string(), z.array(z.number().nullable())),
  /** Predictions in each bucket, so a null PSI of a bucket without any tells apart from one with too few; absent in reports stored before it. */
  predictions: z.array(Count).optional(),
});
export type DriftTimeline = z.infer<typeof DriftTimeline>;

export const DriftResponse = z.object({
  model: ModelName,
  version: SemVer,
  since: IsoTime,
  until: IsoTime,
  by: z.string().nullable(),
  baseline: z.union([z.object({ kind: z.literal('reference'), id: z.string().nullable() }), z.object({ kind: z.literal('range'), since: IsoTime, until: IsoTime })]),
  thresholds: DriftThresholds,
  groups: z.array(DriftGroup),
  timeline: DriftTimeline.nullable(),
  /**
   * A report of the alerts part by device keeps at most 200 devices, drifted ones first: how many devices
   * (and drifted ones) it left out. Absent when none was (docs/drift.md "Alerts").
   */
  leftOut: z.object({ devices: Count, drifted: Count }).optional(),
  /**
   * The version was deprecated (`edgefleet model deprecate`: no longer assignable) when this answer was
   * computed: when and why; null when not; absent in reports stored before it existed (docs/drift.md).
   */
  deprecated: z.object({ at: IsoTime, reason: z.string().nullable() }).nullable().optional(),
});
export type DriftResponse = z.infer<typeof DriftResponse>;

export const DriftReportCreate = z.object({
  model: ModelName,
  version: SemVer,
  since: IsoTime.optional(),
  until: IsoTime.optional(),
  by: GroupBy.optional(),
  baseline: Baseline.optional(),
  note: z.string().max(1000).optional(),
}).strict();
export type DriftReportCreate = z.infer<typeof DriftReportCreate>;

export const DriftReport = z.object({
  id: z.number().int().positive(),
  createdAt: IsoTime,
  createdBy: z.string(),
  note: z.string().nullable(),
  drifted: z.boolean(),
  report: DriftResponse,
});
export type DriftReport = z.infer<typeof DriftReport>;

export const DriftReportSummary = DriftReport.omit({ report: true }).extend({
  model: ModelName, version: SemVer, since: IsoTime, until: IsoTime, by: z.string().nullable(), driftedFeatures: z.array(z.string()),
  /** No group had enough predictions for a verdict (its `drifted: false` means no data, not in distribution); false for reports stored before hub.db migration 24. */
  insufficient: z.boolean(),
  /** As the report's `leftOut` (a report of the alerts part by device keeps at most 200 devices); absent when none was left out. */
  leftOut: DriftResponse.shape.leftOut,
});
export const DriftReportList = z.object({ reports: z.array(DriftReportSummary) });
export type DriftReportList = z.infer<typeof DriftReportList>;
export const DriftReportListQuery = z.object({
  model: ModelName.optional(),
  version: SemVer.optional(),
  limit: QueryCount('limit', 500).optional(),
});

/** Per-model drift thresholds (PUT /models/{name}/drift-settings). */
export const DriftSettings = z.object({ model: ModelName, thresholds: DriftThresholds, updatedAt: IsoTime.nullable(), updatedBy: z.string().nullable() });
export const DriftSettingsUpdate = z.object({ psi: PsiThreshold.optional(), js: JsThreshold.optional(), minPredictions: MinPredictions.optional(), reason: z.string().trim().min(1, 'expected a reason').max(1000) }).strict();
