// What ingest stored from devices, over REST: windows and events per device, and merged totals per
// model. Read from the store's telemetry repository (store/telemetry-repo.ts), which ingest writes.
import { AppError, notFound, EventPage, EventsQuery, ModelTotals, TELEMETRY_PAGE, TotalsAccumulator, TotalsQuery, WindowPage, WindowsQuery, errorKindCounts, telemetryCursor, type TelemetryCursor } from '@edgefleet/shared';
import { PAGE_CHARS, type RowKey } from '../store/telemetry-pages.js';
import { param, queryOf, type RouteDef } from './http.js';

/** Windows read (and parsed) at once by GET /models/{name}/totals. */
const TOTALS_PAGE_WINDOWS = 2000;

/** The route's device and its `?after=` as the store's key; the public cursor leaves out the device it is of. */
const after = (deviceId: string, c: TelemetryCursor | undefined): RowKey | undefined => (c ? { time: c.time, deviceId, seq: c.seq } : undefined);
const next = (k: RowKey | null): string | null => (k ? telemetryCursor(k.time, k.seq) : null);

export const telemetryRoutes: RouteDef[] = [
  {
    method: 'get', path: '/devices/:id/windows', access: 'viewer',
    summary: `Summary windows the hub stored from a device, oldest first by default, a page at a time (?model=&version=&since=&limit=&after=next&order=oldest|newest; limit ${TELEMETRY_PAGE.defaultLimit} by default, at most ${TELEMETRY_PAGE.maxLimit}, and ${PAGE_CHARS / 1048576} MiB of windows)`,
    query: WindowsQuery, response: WindowPage,
    async handler(c, deps) {
      const id = param(c, 'id');
      deps.store.devices.get(id);
      const q = queryOf(c, WindowsQuery, 'windows query');
      const page = deps.store.telemetry.windowPage({ deviceId: id, model: q.model, version: q.version, since: q.since, after: after(id, q.after), limit: q.limit ?? TELEMETRY_PAGE.defaultLimit, newest: q.order === 'newest' });
      return { windows: page.windows, next: next(page.next) };
    },
  },
  {
    method: 'get', path: '/devices/:id/events', access: 'viewer',
    summary: `Events the hub stored from a device, oldest first by default, a page at a time (?since=&limit=&after=next&order=oldest|newest; limit ${TELEMETRY_PAGE.defaultLimit} by default, at most ${TELEMETRY_PAGE.maxLimit}, and ${PAGE_CHARS / 1048576} MiB of events)`,
    query: EventsQuery, response: EventPage,
    async handler(c, deps) {
      const id = param(c, 'id');
      deps.store.devices.get(id);
      const q = queryOf(c, EventsQuery, 'events query');
      const page = deps.store.telemetry.eventPage({ deviceId: id, since: q.since, after: after(id, q.after), limit: q.limit ?? TELEMETRY_PAGE.defaultLimit, newest: q.order === 'newest' });
      return { events: page.events, next: next(page.next) };
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
      if (windows === 0 && deps.store.models.list(name).length === 0) throw notFound('model', name, `no model "${name}"`);
      const t = acc.totals();
      return { model: name, version: version ?? null, since: q.since ?? null, windows, devices: devices.size, ...t, errorKinds: errorKindCounts(t.errors) };
    },
  },
];
