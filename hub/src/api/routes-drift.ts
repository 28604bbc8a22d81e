// Fleet metrics and drift over REST (docs/drift.md): merged rollups of a model version per group,
// drift against the reference or a baseline period, stored drift reports, per-model thresholds.
import {
  notFound, DriftQuery, DriftReport, DriftReportCreate, DriftReportList, DriftReportListQuery, DriftResponse, DriftSettings, DriftSettingsUpdate,
  MetricsQuery, MetricsResponse, type DriftThresholds,
} from '@edgefleet/shared';
import { closest } from '@edgefleet/shared/cli';
import { FleetAnalytics, checkBaseline } from '../drift/service.js';
import { actor, audit, idParam, jsonBody, param, queryOf, transact, type ApiDeps, type RouteDef } from './http.js';

function analytics(deps: ApiDeps): FleetAnalytics {
  return new FleetAnalytics(deps.store.db, deps.store.rollups);
}

function thresholds(deps: ApiDeps, model: string): DriftThresholds {
  const t = deps.store.drift.thresholds(model);
  return { psi: t.psi, js: t.js, minPredictions: t.minPredictions };
}

export const driftRoutes: RouteDef[] = [
  {
    method: 'get', path: '/models/:name/versions/:version/metrics', access: 'viewer',
    summary: 'Merged fleet metrics of a model version (?since=&until=&by=tag:KEY|device): predictions, errors by kind, latency p50/p95/p99, throughput and the rate over the time the version reported (activeThroughput), output distribution, per group',
    query: MetricsQuery, response: MetricsResponse,
    async handler(c, deps) {
      const q = queryOf(c, MetricsQuery, 'metrics query');
      return analytics(deps).metrics(param(c, 'name'), param(c, 'version'), q, deps.clock.now());
    },
  },
  {
    method: 'get', path: '/models/:name/versions/:version/drift', access: 'viewer',
    summary: 'Drift of each feature and output (PSI, JS, KS, chi-square p) per group against the reference or a baseline period (?since=&until=&by=&baseline=reference|START/END)',
    query: DriftQuery, response: DriftResponse,
    async handler(c, deps) {
      const q = queryOf(c, DriftQuery, 'drift query');
      checkBaseline(q.baseline);
      const name = param(c, 'name');
      return analytics(deps).drift(name, param(c, 'version'), { ...q, timeline: q.timeline !== 'false', worst: q.worst !== 'false' }, deps.clock.now(), thresholds(deps, name));
    },
  },
  {
    method: 'post', path: '/drift-reports', access: 'operator', status: 201,
    summary: 'Compute drift now and store it as a report (range, scope, values, worst devices, sample sizes)',
    body: DriftReportCreate, response: DriftReport,
    async handler(c, deps) {
      const b = await jsonBody(c, DriftReportCreate, 'drift report request');
      checkBaseline(b.baseline);
      const r = analytics(deps).drift(b.model, b.version, { since: b.since, until: b.until, by: b.by, baseline: b.baseline, timeline: true }, deps.clock.now(), thresholds(deps, b.model));
      const id = transact(deps, () => {
        const n = deps.store.drift.addReport(r, { actor: actor(c).name, note: b.note ?? null, at: deps.clock.now() });
        audit(c, deps, 'drift_report.create', `${b.model}@${b.version}`, b.note ?? null, { id: n, since: r.since, until: r.until, by: r.by });
        return n;
      });
      return deps.store.drift.report(id);
    },
  },
  {
    method: 'get', path: '/drift-reports', access: 'viewer',
    summary: 'Stored drift reports, newest first (?model=&version=&limit=)', query: DriftReportListQuery, response: DriftReportList,
    async handler(c, deps) {
      const q = queryOf(c, DriftReportListQuery, 'drift reports query');
      // A model the registry lacks (a typo) is a 404 saying what it has, not an empty list that reads as "no
      // reports": a version with reports is never deleted (store/model-delete.ts).
      if (q.model && q.version) deps.store.models.get(q.model, q.version);
      else if (q.model && deps.store.models.list(q.model).length === 0) {
        const guess = closest(q.model, [...new Set(deps.store.models.list().map((v) => v.name))]);
        throw notFound('model', q.model, `no model ${q.model} in the registry${guess ? `; did you mean ${guess}?` : ''} (edgefleet model ls lists the models)`);
      }
      return { reports: deps.store.drift.reports(q) };
    },
  },
  {
    method: 'get', path: '/drift-reports/:id', access: 'viewer', summary: 'One stored drift report', response: DriftReport,
    async handler(c, deps) {
      return deps.store.drift.report(idParam(c, 'id', 'drift report'));
    },
  },
  {
    method: 'get', path: '/models/:name/drift-settings', access: 'viewer', summary: 'Drift thresholds of a model (PSI, JS, minimum predictions)', response: DriftSettings,
    async handler(c, deps) {
      const model = param(c, 'name');
      // As PUT: thresholds belong to a model in the registry (any other name was answered with the defaults).
      if (deps.store.models.list(model).length === 0) throw notFound('model', model, `no model "${model}"`);
      const t = deps.store.drift.thresholds(model);
      return { model, thresholds: { psi: t.psi, js: t.js, minPredictions: t.minPredictions }, updatedAt: t.updatedAt, updatedBy: t.updatedBy };
    },
  },
  {
    method: 'put', path: '/models/:name/drift-settings', access: 'operator', summary: 'Override the drift thresholds of a model, with a reason', body: DriftSettingsUpdate, response: DriftSettings,
    async handler(c, deps) {
      const model = param(c, 'name');
      const b = await jsonBody(c, DriftSettingsUpdate, 'drift settings');
      if (deps.store.models.list(model).length === 0) throw notFound('model', model, `no model "${model}"`);
      const old = thresholds(deps, model);
      const t: DriftThresholds = { psi: b.psi ?? old.psi, js: b.js ?? old.js, minPredictions: b.minPredictions ?? old.minPredictions };
      transact(deps, () => {
        deps.store.drift.setThresholds(model, t, { actor: actor(c).name, at: deps.clock.now() });
        audit(c, deps, 'drift_settings.update', model, b.reason, { from: old, to: t });
      });
      const now = deps.store.drift.thresholds(model);
      return { model, thresholds: t, updatedAt: now.updatedAt, updatedBy: now.updatedBy };
    },
  },
];
