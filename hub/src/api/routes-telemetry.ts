// What ingest stored from devices, over REST: windows and events per device, and merged totals per
// model. Read from the store's telemetry repository (store/telemetry-repo.ts), which ingest writes.
import { z } from 'zod';
import { AppError, DeviceEvent, IsoTime, ModelTotals, SummaryWindow, TotalsAccumulator, TotalsQuery, WindowsQuery, errorKindCounts } from '@edgefleet/shared';
import { param, queryOf, type RouteDef } from './http.js';

/** `since` is a time like every other `since`: any other string was compared as text with the stored times. */
const EventsQuery = z.object({ since: IsoTime.optional() });

const StoredWindow = SummaryWindow.extend({ deviceId: z.string(), seq: z.number().int() });

/** Windows read (and parsed) at once by GET /models/{name}/totals. */
const TOTALS_PAGE_WINDOWS = 2000;

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
    query: EventsQuery, response: z.object({ events: z.array(DeviceEvent.extend({ deviceId: z.string() })) }),
    async handler(c, deps) {
      const id = param(c, 'id');
      deps.store.devices.get(id);
      const q = queryOf(c, EventsQuery, 'events query');
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
      // Windows of different versions may carry different reference bins: totals need one version.
      const versions = q.version ? [q.version] : deps.store.telemetry.windowVersions(name, q.since);
      if (versions.length > 1) throw new AppError('BAD_REQUEST', `model "${name}" has windows of versions ${versions.join(', ')}: add ?version=`);
      const version = versions[0];
      const acc = new TotalsAccumulator();
      const devices = new Set<string>();
      let windows = 0;
      // Every stored window, a page at a time (docs/hub.md "REST API"): memory holds one page and the sums,
      // and the event loop runs between pages, so a long history neither truncates the answer nor stalls the hub.
      if (version) {
        for (const page of deps.store.telemetry.windowPages({ model: name, version, since: q.since }, TOTALS_PAGE_WINDOWS)) {
          for (const w of page) {
            acc.add(w);
            devices.add(w.deviceId);
          }
          windows += page.length;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      if (windows === 0 && deps.store.models.list(name).length === 0) throw new AppError('NOT_FOUND', `no model "${name}"`);
      const t = acc.totals();
      return { model: name, version: version ?? null, since: q.since ?? null, windows, devices: devices.size, ...t, errorKinds: errorKindCounts(t.errors) };
    },
  },
];
