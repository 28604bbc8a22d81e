// Alert rules, alerts and their webhook deliveries over REST (docs/drift.md "Alerts"). Secrets are
// write-only: rules come back with each action's type and URL only.
import { z } from 'zod';
import { Alert, AlertAck, AlertList, AlertListQuery, AlertRule, AlertRuleList, AlertRuleRequest, AppError, notFound, DeliveryList, MODEL_METRICS, RetrainRequestCreate, RetrainRequestResult } from '@edgefleet/shared';
import { viewRule } from '../alerts/rules.js';
import { requestRetrain, retrainReport, retrainRules } from '../alerts/retrain.js';
import { referenceProblem } from '../drift/service.js';
import { actor, audit, idParam, jsonBody, queryOf, transact, type ApiDeps, type RouteDef } from './http.js';

/**
 * A drift.psi rule compares with the manifest's reference: one on a version without a reference (or
 * on a model none of whose versions has one) would never have a value and never fire, silently.
 */
function readableDrift(deps: ApiDeps, name: string, model: string, version: string | undefined): void {
  const why = `alert rule "${name}": metric drift.psi compares with the reference in the manifest, and`;
  if (version) {
    const problem = referenceProblem(deps.store.models.get(model, version).manifest);
    if (problem) throw new AppError('BAD_REQUEST', `${why} ${model} ${version} ${problem}: the rule would never have a value (push a version whose manifest has a reference, or name one that has)`);
    return;
  }
  const versions = deps.store.models.list(model).map((v) => v.version);
  if (versions.every((v) => referenceProblem(deps.store.models.get(model, v).manifest) !== null)) {
    const shown = versions.length > 5 ? `${versions.slice(0, 5).join(', ')}, …` : versions.join(', ');
    throw new AppError('BAD_REQUEST', `${why} no version of model "${model}" has one (${shown}): the rule would never have a value (push a version whose manifest has a reference first)`);
  }
}

const RemoveQuery = z.object({ reason: z.string().min(1).max(1000).optional() });

export const alertRoutes: RouteDef[] = [
  {
    method: 'post', path: '/alert-rules', access: 'operator', status: 201,
    summary: 'Add an alert rule (metric drift.psi, model_error_rate, latency_p95, devices_offline, invalid_input_rate, rollout_failed, accuracy, disk_free, or schedule with a cron schedule; threshold, forSec, severity, webhook/retrain actions)',
    body: AlertRuleRequest, response: AlertRule,
    async handler(c, deps) {
      const { reason, ...b } = await jsonBody(c, AlertRuleRequest, 'alert rule');
      if (MODEL_METRICS.includes(b.metric) && !b.model) throw new AppError('BAD_REQUEST', `alert rule "${b.name}": metric ${b.metric} needs a model: add "model"`);
      if (b.model && deps.store.models.list(b.model).length === 0) throw notFound('model', b.model, `alert rule "${b.name}": no model "${b.model}" in the registry`);
      if (b.model && b.version) deps.store.models.get(b.model, b.version);
      if (b.metric === 'drift.psi' && b.model) readableDrift(deps, b.name, b.model, b.version);
      if ((b.metric === 'schedule') !== (b.schedule !== undefined)) {
        throw new AppError('BAD_REQUEST', `alert rule "${b.name}": ${b.metric === 'schedule' ? 'metric schedule needs "schedule" (a cron expression such as "0 3 * * 1")' : '"schedule" is only for metric schedule'}`);
      }
      if (b.metric === 'schedule' && !b.actions.some((a) => a.type === 'retrain')) throw new AppError('BAD_REQUEST', `alert rule "${b.name}": a schedule needs a retrain action to send to`);
      return viewRule(transact(deps, () => {
        const r = deps.store.alerts.addRule(b, { actor: actor(c).name, at: deps.clock.now() });
        audit(c, deps, 'alert_rule.create', r.name, reason ?? null, viewRule(r));
        return r;
      }));
    },
  },
  {
    method: 'get', path: '/alert-rules', access: 'viewer', summary: 'List alert rules (actions without their secrets)', response: AlertRuleList,
    async handler(_c, deps) {
      return { rules: deps.store.alerts.rules().map(viewRule) };
    },
  },
  {
    method: 'delete', path: '/alert-rules/:id', access: 'operator', summary: 'Remove an alert rule (?reason=); its open alerts resolve', query: RemoveQuery, response: AlertRule,
    async handler(c, deps) {
      const n = idParam(c, 'id', 'alert rule');
      const q = queryOf(c, RemoveQuery, 'remove query');
      return viewRule(transact(deps, () => {
        const r = deps.store.alerts.removeRule(n, deps.clock.now());
        audit(c, deps, 'alert_rule.delete', r.name, q.reason ?? null, { id: r.id });
        return r;
      }));
    },
  },
  {
    method: 'get', path: '/alerts', access: 'viewer', summary: 'Alerts, newest first (?state=pending|firing|resolved&rule=&limit=)', query: AlertListQuery, response: AlertList,
    async handler(c, deps) {
      const q = queryOf(c, AlertListQuery, 'alerts query');
      // A rule that never existed is a 404, not an empty list (a removed rule keeps its alerts' history).
      if (q.rule !== undefined) deps.store.alerts.rule(q.rule, { deleted: true });
      return { alerts: deps.store.alerts.alerts(q) };
    },
  },
  {
    method: 'post', path: '/alerts/:id/ack', access: 'operator', summary: 'Acknowledge a firing alert {reason}: who took it, when and why (shown on the alert, audited); ack suppresses nothing', body: AlertAck, response: Alert,
    async handler(c, deps) {
      const n = idParam(c, 'id', 'alert');
      const { reason } = await jsonBody(c, AlertAck, 'alert acknowledgement');
      return transact(deps, () => {
        const a = deps.store.alerts.ack(n, { actor: actor(c).name, at: deps.clock.now(), reason });
        audit(c, deps, 'alert.ack', `alert ${n}`, reason, { rule: a.rule, key: a.key });
        return a;
      });
    },
  },
  {
    method: 'post', path: '/alerts/:id/unack', access: 'operator', summary: 'Take back the acknowledgement of a firing alert {reason} (acknowledged by mistake, or handed on): it reads not taken again (audited with who had taken it); 409 NOTHING_TO_UNDO for an alert not acknowledged or no longer firing', body: AlertAck, response: Alert,
    async handler(c, deps) {
      const n = idParam(c, 'id', 'alert');
      const { reason } = await jsonBody(c, AlertAck, 'taking back an alert acknowledgement');
      return transact(deps, () => {
        const { alert, was } = deps.store.alerts.unack(n);
        audit(c, deps, 'alert.unack', `alert ${n}`, reason, { rule: alert.rule, key: alert.key, was });
        return alert;
      });
    },
  },
  {
    method: 'get', path: '/alerts/:id/deliveries', access: 'viewer', summary: 'The webhook deliveries of an alert with every attempt (status, error, time)', response: DeliveryList,
    async handler(c, deps) {
      const n = idParam(c, 'id', 'alert');
      deps.store.alerts.alert(n);
      return { deliveries: deps.store.alerts.deliveries(n) };
    },
  },
  {
    method: 'post', path: '/retrain-requests', access: 'operator', status: 201,
    summary: 'Post the current drift report of a version (since, default 24 h) to the retrain actions of alert rules (rule, default every rule of the model with one); audited',
    body: RetrainRequestCreate, response: RetrainRequestResult,
    async handler(c, deps) {
      const b = await jsonBody(c, RetrainRequestCreate, 'retrain request');
      deps.store.models.get(b.model, b.version);
      const at = deps.clock.now();
      const until = b.until ? new Date(b.until) : at;
      const since = b.since ? new Date(b.since) : new Date(until.getTime() - 86_400_000);
      const q = { model: b.model, version: b.version, kind: 'manual' as const, reason: b.reason, by: actor(c).name, since, until, at };
      retrainRules(deps.store, b.model, b.rule); // a 400 before the report is computed
      const report = retrainReport(deps.store, q); // outside the write transaction
      return transact(deps, () => {
        const r = requestRetrain(deps.store, retrainRules(deps.store, b.model, b.rule), q, report);
        audit(c, deps, 'retrain.request', `${b.model}@${b.version}`, b.reason, r);
        return r;
      });
    },
  },
];
