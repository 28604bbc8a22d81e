// Retraining triggers (docs/drift.md "Retraining"): a retrain request posts the current drift report
// of a model version to the training pipelines named by the `retrain` actions of alert rules, through
// the alerts' delivery queue (signed, retried, every attempt logged, as a firing rule's retrain action).
// Manual requests come from POST /retrain-requests (`edgefleet retrain-request`); scheduled ones from
// rules of metric `schedule` (a UTC cron expression, shared/src/cron.ts) evaluated by the evaluator.
// Each request stores its drift report and records, per rule, an alert that fired and resolved at once.
import { AppError, notFound, type DriftResponse, type RetrainRequestResult, type WebhookEvent } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import { FleetAnalytics } from '../drift/service.js';
import { boundDevices } from '../drift/report-devices.js';
import type { StoredRule } from './rules.js';

export interface RetrainRequest {
  model: string;
  version: string;
  kind: 'manual' | 'schedule';
  reason: string;
  /** Who asked: a token's name, or "alerts" for a schedule. */
  by: string;
  since: Date;
  until: Date;
  at: Date;
}

/** The live rules whose retrain actions get requests for `model` (named, or all with a retrain action). */
export function retrainRules(store: Store, model: string, ruleName?: string): StoredRule[] {
  const rules = store.alerts.rules();
  if (ruleName !== undefined) {
    const r = rules.find((x) => x.name === ruleName);
    if (!r) throw notFound('alert_rule', ruleName, `no alert rule named "${ruleName}"`);
    if (!r.actions.some((a) => a.type === 'retrain')) throw new AppError('BAD_REQUEST', `alert rule "${ruleName}" has no retrain action: expected one with {"type": "retrain", "url", "secret"}`);
    if (r.model !== undefined && r.model !== model) throw new AppError('BAD_REQUEST', `alert rule "${ruleName}" is for model "${r.model}", not "${model}"`);
    return [r];
  }
  const found = rules.filter((r) => (r.model === undefined || r.model === model) && r.actions.some((a) => a.type === 'retrain'));
  if (found.length === 0) {
    throw new AppError('BAD_REQUEST', `no alert rule with a retrain action for model "${model}": add one (edgefleet alerts rules add --retrain URL ...) and name it with --rule`);
  }
  return found;
}

/**
 * The drift report of a request, by device over its range (at most MAX_REPORT_DEVICES devices,
 * report-devices.ts): a computation that only reads. Call it
 * before the write transaction and pass it to requestRetrain, so the write lock is not held meanwhile.
 */
export function retrainReport(store: Store, q: RetrainRequest): DriftResponse {
  const analytics = new FleetAnalytics(store.db, store.rollups);
  const t = store.drift.thresholds(q.model);
  return boundDevices(analytics.drift(q.model, q.version, { since: q.since.toISOString(), until: q.until.toISOString(), by: 'device', timeline: true }, q.at, { psi: t.psi, js: t.js, minPredictions: t.minPredictions }));
}

/**
 * Stores the drift report of the request (retrainReport's, computed before) and queues, for each rule,
 * a `retrain.requested` delivery per retrain action. Call inside a transaction (with the audit entry).
 * Returns what was queued.
 */
export function requestRetrain(store: Store, rules: readonly StoredRule[], q: RetrainRequest, report: DriftResponse): RetrainRequestResult {
  const reportId = store.drift.addReport(report, { actor: q.by, note: `retrain request (${q.kind}): ${q.reason}`, at: q.at });
  const stored = store.drift.report(reportId).report;
  const requests = rules.map((rule) => {
    const alert = store.alerts.recordRequest(rule.id, `${q.model}@${q.version}`, q.at, reportId);
    const urls: string[] = [];
    rule.actions.forEach((action, i) => {
      if (action.type !== 'retrain') return;
      const body: WebhookEvent = {
        schema: 'edgefleet.alert/v1', type: 'retrain.requested', at: q.at.toISOString(), alert,
        links: { alert: `/api/v1/alerts?rule=${rule.id}`, report: `/api/v1/drift-reports/${reportId}` },
        report: stored,
        request: { kind: q.kind, reason: q.reason, by: q.by, since: report.since, until: report.until },
      };
      const { dropped } = store.alerts.queueOne({ alertId: alert.id, ruleId: rule.id, actionIndex: i, action: 'retrain', url: action.url, event: 'firing', body: JSON.stringify(body), at: q.at });
      // A request by hand is refused whole (the transaction rolls back); a scheduled one is recorded as dropped.
      if (dropped && q.kind === 'manual') throw new AppError('OVERLOADED', `alert rule "${rule.name}": retrain action ${i + 1} was not queued: ${dropped}; try again once its receiver took them (GET /api/v1/alerts?rule=${rule.id})`, { details: { rule: rule.id, action: i + 1 } });
      urls.push(action.url);
    });
    return { rule: rule.name, ruleId: rule.id, alertId: alert.id, urls };
  });
  return { reportId, since: report.since, until: report.until, requests };
}
