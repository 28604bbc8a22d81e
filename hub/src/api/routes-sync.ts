// Fleet sync over REST: deployments (assign a model version to devices, ids/tags/all) with their
// per-device status, and what the hub stored from devices (windows, events, merged totals).
import { z } from 'zod';
import {
  AppError, Deployment, DeploymentCreate, DeploymentList, DeviceEvent, ModelTotals, SummaryWindow, TotalsQuery, WindowsQuery, errorKindCounts, windowTotals,
} from '@edgefleet/shared';
import type { FleetSync } from '../sync/service.js';
import { actor, afterCommit, audit, jsonBody, param, queryOf, type ApiDeps, type RouteDef } from './http.js';

function sync(deps: ApiDeps): FleetSync {
  if (!deps.sync) throw new AppError('NOT_READY', 'fleet sync is not running on this hub');
  return deps.sync;
}

function deploymentId(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new AppError('BAD_REQUEST', `deployment id "${raw}": expected a positive integer`);
  return n;
}

const StoredWindow = SummaryWindow.extend({ deviceId: z.string(), seq: z.number().int() });

export const syncRoutes: RouteDef[] = [
  {
    method: 'post', path: '/deployments', access: 'operator', status: 201,
    summary: 'Assign a model version to devices (ids, tags or all) with a reason; each gets a signed desired-state document',
    body: DeploymentCreate, response: Deployment,
    async handler(c, deps) {
      const b = await jsonBody(c, DeploymentCreate, 'deployment request');
      const s = sync(deps);
      const target = `${b.model}@${b.version}`;
      // The deployment, every device's desired document and the audit entry commit together.
      const { id, docs } = s.createDeployment(b, actor(c).name, (d) => audit(c, deps, 'deployment.create', target, b.reason, { id: d.id, target: b.target, devices: d.devices }));
      // Documents stay stored when the publish fails; the failure is reported (audit, header, log).
      await afterCommit(c, deps, 'deployment.create', target, 'publish desired state', () => s.publishDesired(docs));
      return s.deployments.get(id);
    },
  },
  {
    method: 'get', path: '/deployments', access: 'viewer',
    summary: 'List deployments with per-status device counts', response: DeploymentList,
    async handler(_c, deps) {
      return { deployments: sync(deps).deployments.list() };
    },
  },
  {
    method: 'get', path: '/deployments/:id', access: 'viewer',
    summary: 'One deployment with every device\'s status (pending, downloading, activating, active, failed, refused, rolled_back, superseded)',
    response: Deployment,
    async handler(c, deps) {
      return sync(deps).deployments.get(deploymentId(param(c, 'id')));
    },
  },
  {
    method: 'get', path: '/devices/:id/windows', access: 'viewer',
    summary: 'Summary windows the hub stored from a device (?model=&version=&since=&limit=)',
    query: WindowsQuery, response: z.object({ windows: z.array(StoredWindow) }),
    async handler(c, deps) {
      const id = param(c, 'id');
      deps.store.devices.get(id);
      const q = queryOf(c, WindowsQuery, 'windows query');
      return { windows: sync(deps).telemetry.windows({ deviceId: id, ...q }) };
    },
  },
  {
    method: 'get', path: '/devices/:id/events', access: 'viewer',
    summary: 'Events the hub stored from a device (?since=)',
    query: z.object({ since: z.string().optional() }), response: z.object({ events: z.array(DeviceEvent.extend({ deviceId: z.string() })) }),
    async handler(c, deps) {
      const id = param(c, 'id');
      deps.store.devices.get(id);
      const q = queryOf(c, z.object({ since: z.string().optional() }), 'events query');
      return { events: sync(deps).telemetry.events({ deviceId: id, ...(q.since ? { since: q.since } : {}) }) };
    },
  },
  {
    method: 'get', path: '/models/:name/totals', access: 'viewer',
    summary: 'Merged totals of every stored window of a model (?version=&since=): predictions, errors by code and by kind, per-feature and per-output bin counts',
    query: TotalsQuery, response: ModelTotals,
    async handler(c, deps) {
      const name = param(c, 'name');
      const q = queryOf(c, TotalsQuery, 'totals query');
      const ws = sync(deps).telemetry.windows({ model: name, ...(q.version ? { version: q.version } : {}), ...(q.since ? { since: q.since } : {}) });
      if (ws.length === 0 && deps.store.models.list(name).length === 0) throw new AppError('NOT_FOUND', `no model "${name}"`);
      // Windows of different versions may carry different reference bins: totals need one version.
      const versions = new Set(ws.map((w) => w.version));
      if (!q.version && versions.size > 1) {
        throw new AppError('BAD_REQUEST', `model "${name}" has windows of versions ${[...versions].join(', ')}: add ?version=`);
      }
      const t = windowTotals(ws.map(({ deviceId: _d, seq: _s, ...w }) => w));
      return { model: name, version: q.version ?? ws[0]?.version ?? null, since: q.since ?? null, windows: ws.length, devices: new Set(ws.map((w) => w.deviceId)).size, ...t, errorKinds: errorKindCounts(t.errors) };
    },
  },
];
