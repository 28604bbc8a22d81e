// What ingest stored from devices, over REST: windows and events per device, and merged totals per
// model. Read from the store's telemetry repository (store/telemetry-repo.ts), which ingest writes.
import { z } from 'zod';
import { AppError, DeviceEvent, ModelTotals, SummaryWindow, TotalsQuery, WindowsQuery, errorKindCounts, windowTotals } from '@edgefleet/shared';
import { param, queryOf, type RouteDef } from './http.js';

const StoredWindow = SummaryWindow.extend({ deviceId: z.string(), seq: z.number().int() });

export const telemetryRoutes: RouteDef[] = [
  {
    method: 'get', path: '/devices/:id/windows', access: 'viewer',
    summary: 'Summary windows the hub stored from a device (?model=&version=&since=&limit=)',
    query: WindowsQuery, response: z.object({ windows: z.array(StoredWindow) }),
    async handler(c, deps) {
      const id = param(c, 'id');
      deps.store.devices.get(id);
      const q = queryOf(c, WindowsQuery, 'windows query');
      return { windows: deps.store.telemetry.windows({ deviceId: id, ...q }) };
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
      return { events: deps.store.telemetry.events({ deviceId: id, ...(q.since ? { since: q.since } : {}) }) };
    },
  },
  {
    method: 'get', path: '/models/:name/totals', access: 'viewer',
    summary: 'Merged totals of every stored window of a model (?version=&since=): predictions, errors by code and by kind, per-feature and per-output bin counts',
    query: TotalsQuery, response: ModelTotals,
    async handler(c, deps) {
      const name = param(c, 'name');
      const q = queryOf(c, TotalsQuery, 'totals query');
      const ws = deps.store.telemetry.windows({ model: name, ...(q.version ? { version: q.version } : {}), ...(q.since ? { since: q.since } : {}) });
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
