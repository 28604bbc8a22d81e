// Fleet: online/offline/revoked counts and the versions in use (GET /fleet), a search (id, tag or version), a
// tag and a status filter, all applied by the hub (fleet-list.ts, docs/decisions/0089-fleet-view-filtered-by-the-hub.md),
// "N of M devices" and "Load more", and the device table (virtualized) with each device's outbox backlog and
// free disk. Updates live from the stream.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { DeviceInfo } from '@edgefleet/shared';
import { formatCount, modelVersions as versions } from '@edgefleet/shared/browser';
import { loadDevices, session } from '../store.js';
import { FLEET_PAGE, devices, devicesNext, devicesStatus, devicesTotal, devicesTotalExact, devicesTotalText, devicesVersion, fleetQuery, fleetSummary, heldSearch, loadMoreDevices, tagProblem, type FleetStatus } from '../fleet-list.js';
import { errorText } from '../api.js';
import { VirtualTable, type Column } from '../ui/table.js';
import { ErrorBox, Empty, Loading } from '../ui/states.js';
import { Age } from '../ui/age.js';
import { go } from '../nav.js';
import { DiskCell } from '../ui/disk.js';
import { background } from '../background.js';
import { formatTags } from '../../common/tag-text.js';

const listed = (xs: string[]): string => xs.length ? xs.join(', ') : '—';
const active = (d: DeviceInfo): string => listed(versions(d).active.map((m) => `${m.name}@${m.version}`));
const installed = (d: DeviceInfo): string => listed(versions(d).installed);
const states = (d: DeviceInfo): string => listed([...new Set(versions(d).active.map((m) => m.status))]);

/** The versions in use (on devices not revoked) the card lists, most devices first; it says how many more there are. */
const VERSIONS_SHOWN = 6;

const columns: Column<DeviceInfo>[] = [
  // A cell cut short (a long id, many versions or tags) says all of it in its title.
  { title: 'Device', width: 'minmax(10rem, 1.4fr)', cell: (d) => <span class="mono" title={d.id}>{d.id}</span> },
  // An old id of a box enrolled again (docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md) reads "replaced", its presence in the title.
  { title: 'Status', width: '6.5rem', cell: (d) => d.revoked ? <span class="pill revoked">revoked</span> : <span class={`pill ${d.online ? 'online' : 'offline'}`} title={d.replaced ? `replaced by ${d.replaced.by} (enroll --force); ${d.online ? 'online' : 'offline'}` : undefined}>{d.replaced ? 'replaced' : d.online ? 'online' : 'offline'}</span> },
  { title: 'Last seen', width: '7rem', cell: (d) => <Age at={d.lastSeen} /> },
  { title: 'Active version', width: 'minmax(10rem, 1.3fr)', cell: (d) => <span class="mono" title={active(d)}>{active(d)}</span> },
  { title: 'Deployment', width: '8rem', cell: states },
  { title: 'Installed', width: 'minmax(8rem, 1fr)', cell: (d) => <span class="mono muted" title={installed(d)}>{installed(d)}</span> },
  // The outbox backlog as the device last reported it (it reports when its order of magnitude changes).
  { title: 'Outbox', width: '5rem', cell: (d) => d.reported?.outbox ? <span class={d.reported.outbox.items ? 'warn' : 'muted'}>{formatCount(d.reported.outbox.items)}</span> : <span class="muted">—</span> },
  // The free share of the box's data dir disk as last reported (again at 10%, 5% and 1% free).
  { title: 'Disk free', width: '5.5rem', cell: (d) => <DiskCell disk={d.reported?.disk} /> },
  { title: 'Tags', width: 'minmax(8rem, 1fr)', cell: (d) => <span class="muted" title={formatTags(d.tags)}>{formatTags(d.tags)}</span> },
];

/** The search is sent to the hub once typing pauses this long. */
const TYPING_MS = 300;

function Cards() {
  const s = fleetSummary.value;
  if (s === null) return <div class="cards"><div class="card muted">counting…</div></div>;
  if ('error' in s) return <div class="cards"><p class="error" role="alert">could not count the fleet: {s.error}</p></div>;
  const more = s.versionsTotal - Math.min(VERSIONS_SHOWN, s.versions.length);
  return (
    <div class="cards">
      <div class="card"><div class="big" data-testid="online-count">{formatCount(s.online)}</div><div>online</div></div>
      <div class="card"><div class="big" data-testid="offline-count">{formatCount(s.offline)}</div><div>offline</div></div>
      <div class="card"><div class="big" data-testid="revoked-count">{formatCount(s.revoked)}</div><div>revoked</div></div>
      <div class="card wide"><div class="label">Versions in use</div>
        {s.versions.length ? <ul class="versions" aria-label="Versions in use">{s.versions.slice(0, VERSIONS_SHOWN).map((v) => <li key={`${v.model}@${v.version}`}><span class="mono">{v.model}@{v.version}</span> <b title={`${formatCount(v.devices)} device${v.devices === 1 ? '' : 's'}`}>{formatCount(v.devices)}</b></li>)}
          {more > 0 ? <li class="muted" data-testid="versions-more">+{formatCount(more)} more (search a version)</li> : null}</ul> : <span class="muted">none reported yet</span>}
      </div>
    </div>
  );
}

export function FleetView() {
  const version = devicesVersion.value; // re-render on any device change
  const query = fleetQuery.value;
  const [q, setQ] = useState(query.q);
  const [tag, setTag] = useState(query.tag);
  const [more, setMore] = useState<'idle' | 'loading' | { error: string }>('idle');
  const tagWrong = tagProblem(tag);
  const held = heldSearch(q);
  // Typed filters go to the hub once typing pauses (a tag only once it reads key=value, a search unless held); each change loads the first page.
  useEffect(() => {
    const t = setTimeout(() => {
      const next = { ...fleetQuery.value, q: held ? fleetQuery.value.q : q.trim(), tag: tagWrong ? fleetQuery.value.tag : tag.trim() };
      if (next.q !== fleetQuery.value.q || next.tag !== fleetQuery.value.tag) fleetQuery.value = next;
    }, TYPING_MS);
    return () => clearTimeout(t);
  }, [q, tag]);
  // Each change of the filters loads the first page again (the sign-in's load covers the view's first showing).
  const shown = useRef(query);
  useEffect(() => {
    if (shown.current === query) return;
    shown.current = query;
    if (session.peek()) background(loadDevices());
  }, [query]);
  // By id, as the hub pages them (a device placed live lands in its place).
  const rows = useMemo(() => [...devices.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), [version]);
  const st = devicesStatus.value;
  // "Console ready" for the benchmark (test/bench/console.bench.ts): the first paint of device rows.
  useEffect(() => {
    if (rows.length > 0 && performance.getEntriesByName('edgefleet:devices-rendered').length === 0) performance.mark('edgefleet:devices-rendered');
  }, [rows.length > 0]);
  const filtered = query.q !== '' || query.tag !== '' || query.status !== '';
  const loadMore = () => {
    setMore('loading');
    loadMoreDevices(session.value!.api).then(() => setMore('idle'), (e: unknown) => setMore({ error: errorText(e) }));
  };
  return (
    <section aria-labelledby="fleet-h">
      <h1 id="fleet-h">Fleet</h1>
      <Cards />
      <div class="toolbar">
        <label for="fleet-search">Search</label>
        <input id="fleet-search" type="search" placeholder="device id, tag or version  ( / )" value={q} aria-describedby={held ? 'fleet-search-held' : undefined} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        <label for="fleet-tag">Tag</label>
        <input id="fleet-tag" placeholder="key=value" value={tag} aria-invalid={tagWrong ? 'true' : undefined} aria-describedby={tagWrong ? 'fleet-tag-problem' : undefined}
          onInput={(e) => setTag((e.currentTarget as HTMLInputElement).value)} />
        <label for="fleet-status">Status</label>
        <select id="fleet-status" value={query.status} onChange={(e) => { fleetQuery.value = { ...fleetQuery.value, status: (e.currentTarget as HTMLSelectElement).value as FleetStatus }; }}>
          <option value="">any status</option><option value="online">online</option><option value="offline">offline</option><option value="revoked">revoked</option>
        </select>
        {st === 'ready' ? <span class="muted" data-testid="device-count">{formatCount(rows.length)} of {devicesTotalText(rows.length)} devices{filtered ? ' matching' : ''}</span> : null}
      </div>
      {held ? <p class="muted" id="fleet-search-held" role="status">{held}</p> : null}
      {tagWrong ? <p class="error" id="fleet-tag-problem" role="alert">{tagWrong}</p> : null}
      {st === 'loading' ? <Loading what="devices" />
        : typeof st === 'object' ? <ErrorBox error={`could not load devices: ${st.error}`} retry={() => background(loadDevices())} />
          : rows.length === 0
            ? filtered ? <Empty>No device matches the search.</Empty>
              : <Empty>No devices yet. Enroll one: <code>edgefleet enroll-token create</code>, then <code>edgefleet-agent enroll</code> on the box (docs/operations.md).</Empty>
            : <VirtualTable label="Devices" rows={rows} columns={columns} rowKey={(d) => d.id} onOpen={(d) => go(`#/devices/${encodeURIComponent(d.id)}`)} heightPx={420} />}
      {st === 'ready' && devicesNext.value !== null ? (
        <p class="older">
          <button type="button" data-testid="fleet-more" disabled={more === 'loading'} onClick={loadMore}>{more === 'loading' ? 'Loading…' : devicesTotalExact.value ? `Load ${formatCount(Math.min(FLEET_PAGE, devicesTotal.value - rows.length))} more` : `Load up to ${formatCount(FLEET_PAGE)} more`}</button>
          {typeof more === 'object' ? <span class="error" role="alert"> could not load more devices: {more.error}</span> : null}
        </p>
      ) : null}
    </section>
  );
}
