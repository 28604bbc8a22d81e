// REST bodies for alert rules, alerts and webhook deliveries (docs/drift.md "Alerts"). Webhook URLs
// are operator-supplied: http(s) only, bounded length; secrets are write-only (never returned).
import { z } from 'zod';
import { IsoTime, ModelName, SemVer } from './common.js';
import { parseCron } from '../cron.js';
import { QueryCount, QueryId } from './ids.js';
import { Reason } from './api.js';
import { PSI_THRESHOLD, PsiThreshold } from './drift.js';

/** A 5-field UTC cron expression (shared/src/cron.ts), e.g. "0 3 * * 1" (Mondays at 03:00). */
export const CronExpression = z.string().min(1).max(200).superRefine((s, ctx) => {
  try {
    parseCron(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const AlertMetric = z.enum(['drift.psi', 'model_error_rate', 'latency_p95', 'devices_offline', 'invalid_input_rate', 'rollout_failed', 'accuracy', 'schedule', 'disk_free']);
export type AlertMetric = z.infer<typeof AlertMetric>;
/** Metrics of a model: the rule must name one. */
export const MODEL_METRICS: readonly AlertMetric[] = ['drift.psi', 'model_error_rate', 'latency_p95', 'invalid_input_rate', 'accuracy', 'schedule'];
export { LOWER_IS_WORSE } from '../alert-text.js';
/**
 * `disk_free`: the share of its data dir's filesystem a device last reported free (0 to 1), one alert per
 * device under the threshold (docs/drift.md "Alerts"): 0.1 fires for a box with less than 10% free.
 */
/** Metrics whose value is a share (0 to 1) other than disk_free, with what a threshold of it means. */
const SHARE_METRICS: Partial<Record<AlertMetric, string>> = {
  model_error_rate: '0.05: fires at 5% of requests failing in the model',
  invalid_input_rate: '0.05: fires at 5% of requests refused as invalid input',
  accuracy: '0.9: fires below 90% correct',
};
/** Metrics about devices, not a model: a rule of them names no model or version. */
const DEVICE_METRICS: readonly AlertMetric[] = ['devices_offline', 'disk_free'];
export const DISK_FREE_THRESHOLD = 'expected a share of the disk from 0 to 1 for metric disk_free (0.1: less than 10% free)';
export { MIN_ACCURACY_LABELS } from '../accuracy-floor.js';

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

export const WebhookUrl = z.string().max(2048).regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL');
/** Secrets are at least 16 characters: they are HMAC keys. */
const Secret = z.string().min(16, 'expected a secret of at least 16 characters').max(256);

export const AlertAction = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), url: WebhookUrl, secret: Secret }).strict(),
  /** Posts the drift report (stored at firing) to a training pipeline's webhook. */
  z.object({ type: z.literal('retrain'), url: WebhookUrl, secret: Secret }).strict(),
]);
export type AlertAction = z.infer<typeof AlertAction>;

/** The longest hold of a rule's `forSec` and `keepFiringForSec`: 7 days. */
export const MAX_HOLD_SEC = 7 * 86_400;
/** A hold time in whole seconds, 0 to MAX_HOLD_SEC; a refusal names the field (parseWire) and the range. */
/** Alerts read hourly rollups, so a rule's range is whole hours: 1 h to 31 days (docs/drift.md "Alerts"). */
export const MAX_ALERT_WINDOW_SEC = 31 * 86_400;
const WINDOW_MSG = `expected whole hours in seconds (3600 = 1 h, 7200 = 2 h, ...) up to ${MAX_ALERT_WINDOW_SEC} (31 days): alerts read hourly rollups`;
const AlertWindowSec = z.number({ error: WINDOW_MSG }).refine((v) => Number.isInteger(v) && v >= 3600 && v <= MAX_ALERT_WINDOW_SEC && v % 3600 === 0, WINDOW_MSG);

const HoldSec = () => z.number({ error: `expected whole seconds from 0 to ${MAX_HOLD_SEC} (7 days)` }).int().min(0).max(MAX_HOLD_SEC);

export const TagScope = z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a tag key of letters, digits, ".", "_", "-"'), z.string().max(256));

/** The fields of a rule (AlertRule extends them; AlertRuleCreate adds the checks across fields). */
const AlertRuleFields = z.object({
  /** Trimmed; blank is refused (a rule listed as "   " cannot be told apart in `alerts rules` or the console). */
  name: z.string().trim().min(1, 'expected a rule name (not blank)').max(128),
  metric: AlertMetric,
  model: ModelName.optional(),
  /** Default: every version of the model that reported in the window (one alert per version). */
  version: SemVer.optional(),
  /** Only devices with all these tags. */
  scope: z.object({ tags: TagScope.optional() }).strict().optional(),
  /** The alert is breached while value >= threshold (value < threshold for `accuracy` and `disk_free`). */
  threshold: z.number().finite(),
  /**
   * Breached this long, at every evaluation, before it fires (0: at the first evaluation); a pass that
   * is not breached drops the pending alert (Prometheus `for:`).
   */
  forSec: HoldSec().default(0),
  /**
   * A firing alert resolves only once the breach has been over this long, at every evaluation (0: at
   * the first evaluation that is not breached); breached again meanwhile, it keeps firing as the same
   * alert (Prometheus `keep_firing_for:`). With `forSec`, a value hovering at the threshold does not flap.
   */
  keepFiringForSec: HoldSec().default(0),
  /** Range the metric is computed over, ending now: whole hours (docs/decisions/0023-rollups.md). */
  windowSec: AlertWindowSec.default(3600),
  severity: Severity.default('warning'),
  actions: z.array(AlertAction).max(5).default([]),
  /**
   * metric `schedule` only: a scheduled retraining trigger. At each matching minute (UTC) the rule's
   * retrain actions get the current drift report of each version, as a retrain request would send.
   */
  schedule: CronExpression.optional(),
}).strict();
const ruleChecks = (r: z.infer<typeof AlertRuleFields>, ctx: z.RefinementCtx) => {
  if (r.metric === 'disk_free' && !(r.threshold > 0 && r.threshold <= 1)) ctx.addIssue({ code: 'custom', path: ['threshold'], message: DISK_FREE_THRESHOLD });
  const share = SHARE_METRICS[r.metric];
  if (share && !(r.threshold > 0 && r.threshold <= 1)) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `expected a share from 0 to 1 for metric ${r.metric} (${share})` });
  if (DEVICE_METRICS.includes(r.metric)) {
    for (const k of ['model', 'version'] as const) {
      if (r[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `metric ${r.metric} is about devices, not a model: expected no ${k} (scope it by tags)` });
    }
  }
  if (r.metric === 'drift.psi' && !PsiThreshold.safeParse(r.threshold).success) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `${PSI_THRESHOLD} for metric drift.psi` });
};
/** A rule as the hub stores it. */
export const AlertRuleCreate = AlertRuleFields.superRefine(ruleChecks);
export type AlertRuleCreate = z.infer<typeof AlertRuleCreate>;
/** The body of POST /alert-rules: the rule, and why it is added (kept in the audit log, not in the rule). */
export const AlertRuleRequest = AlertRuleFields.extend({ reason: Reason.optional() }).superRefine(ruleChecks);
export type AlertRuleRequest = z.infer<typeof AlertRuleRequest>;

export const AlertActionView = z.object({ type: z.enum(['webhook', 'retrain']), url: z.string() });

export const AlertRule = AlertRuleFields.omit({ actions: true }).extend({
  id: z.number().int().positive(),
  /** As stored: rules made before hours were required (windows of 60 s up) or names trimmed are shown as they are. */
  windowSec: z.number().int().positive(),
  name: z.string(),
  actions: z.array(AlertActionView),
  createdAt: IsoTime,
  createdBy: z.string(),
});
export type AlertRule = z.infer<typeof AlertRule>;
export const AlertRuleList = z.object({ rules: z.array(AlertRule) });

export const AlertState = z.enum(['pending', 'firing', 'resolved']);
export const Alert = z.object({
  id: z.number().int().positive(),
  ruleId: z.number().int().positive(),
  rule: z.string(),
  metric: AlertMetric,
  severity: Severity,
  /** What the alert is about within the rule, e.g. "vib@1.0.0" or "fleet". */
  key: z.string(),
  state: AlertState,
  value: z.number().nullable(),
  threshold: z.number(),
  startedAt: IsoTime,
  firedAt: IsoTime.nullable(),
  resolvedAt: IsoTime.nullable(),
  lastEvaluatedAt: IsoTime,
  /**
   * A firing alert whose breach is over: since when (it resolves keepFiringForSec later unless breached
   * again); null otherwise. Absent from a hub before it (read as null).
   */
  clearSince: IsoTime.nullable().default(null),
  /** Drift report stored when a drift alert fired. */
  reportId: z.number().int().nullable(),
  /**
   * Who took this firing alert, when, and why (POST /alerts/{id}/ack); null until then. It stays on the
   * alert once it resolved; firing again later is a new alert, not acknowledged (docs/drift.md "Alerts").
   * Absent from a hub before it (read as null).
   */
  acknowledged: z.object({ by: z.string(), at: IsoTime, reason: z.string() }).nullable().default(null),
});
export type Alert = z.infer<typeof Alert>;
/** The body of POST /alerts/{id}/ack: why (kept on the alert and in the audit log). */
export const AlertAck = z.object({ reason: Reason }).strict();
export type AlertAck = z.infer<typeof AlertAck>;
export const AlertList = z.object({ alerts: z.array(Alert) });
export const AlertListQuery = z.object({
  state: AlertState.optional(),
  /** An alert rule id: plain positive decimal digits, as a path id (wire/ids.ts). */
  rule: QueryId('rule', 'alert rule').optional(),
  limit: QueryCount('limit', 1000).optional(),
});

export const Delivery = z.object({
  id: z.number().int().positive(),
  alertId: z.number().int().positive(),
  event: z.enum(['firing', 'resolved']),
  action: z.enum(['webhook', 'retrain']),
  url: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.array(z.object({ at: IsoTime, status: z.number().int().nullable(), error: z.string().nullable(), ms: z.number() })),
  nextAt: IsoTime.nullable(),
});
export type Delivery = z.infer<typeof Delivery>;
export const DeliveryList = z.object({ deliveries: z.array(Delivery) });

/** The JSON body of a webhook (signed: X-Edgefleet-Signature: t=UNIX_SECONDS,v1=HMAC-SHA256(secret, t + "." + body)). */
export const WebhookEvent = z.object({
  schema: z.literal('edgefleet.alert/v1'),
  type: z.enum(['alert.firing', 'alert.resolved', 'retrain.requested']),
  at: IsoTime,
  alert: Alert,
  /** For retrain (and drift alerts): the stored drift report and where to fetch it. */
  report: z.unknown().optional(),
  links: z.record(z.string(), z.string()).optional(),
  /** A retrain request (`edgefleet retrain-request` or a rule's schedule): why, by whom, over which range. */
  request: z.object({ kind: z.enum(['manual', 'schedule']), reason: z.string(), by: z.string(), since: IsoTime, until: IsoTime }).optional(),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** POST /retrain-requests: the current drift report of a version, to the retrain actions of alert rules. */
export const RetrainRequestCreate = z.object({
  model: ModelName,
  version: SemVer,
  reason: z.string().min(1, 'expected a reason').max(1000),
  /** Range of the drift report (default the last 24 hours). */
  since: IsoTime.optional(),
  until: IsoTime.optional(),
  /** The alert rule whose retrain actions get it (default: every rule of the model with a retrain action). */
  rule: z.string().min(1).max(128).optional(),
}).strict();
export type RetrainRequestCreate = z.infer<typeof RetrainRequestCreate>;

export const RetrainRequestResult = z.object({
  reportId: z.number().int().positive(),
  since: IsoTime,
  until: IsoTime,
  /** One alert (fired and resolved at once) per rule, with its queued deliveries. */
  requests: z.array(z.object({ rule: z.string(), ruleId: z.number().int().positive(), alertId: z.number().int().positive(), urls: z.array(z.string()) })),
});
export type RetrainRequestResult = z.infer<typeof RetrainRequestResult>;
