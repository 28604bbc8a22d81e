// Fleet: online/offline counts, the versions in use, search (id, tag or version) and a tag filter,
// and the device table (virtualized) with each device's outbox backlog and free disk. Updates live from the stream.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { DeviceInfo } from '@edgefleet/shared';
import { devices, devicesStatus, devicesVersion, loadDevices } from '../store.js';
import { VirtualTable, type Column } from '../ui/table.js';
import { ErrorBox, Empty, Loading, ago, time, useClock } from '../ui/states.js';
import { go } from '../nav.js';
import { DiskCell } from '../ui/disk.js';
import { background } from '../background.js';
import { formatTags, searchText } from '../../common/tag-text.js';

function active(d: DeviceInfo): string {
  return d.models.length ? d.models.map((m) => `${m.name}@${m.version}`).join(', ') : '—';
}
function states(d: DeviceInfo): string {
  return d.models.length ? [...new Set(d.models.map((m) => m.status))].join(', ') : '—';
}

/** The versions in use (on devices not revoked) the card lists, most devices first; it says how many more there are. */
const VERSIONS_SHOWN = 6;

const columns: Column<DeviceInfo>[] = [
  // A cell cut short (a long id, many versions or tags) says all of it in its title.
  { title: 'Device', width: 'minmax(10rem, 1.4fr)', cell: (d) => <span class="mono" title={d.id}>{d.id}</span> },
  { title: 'Status', width: '6.5rem', cell: (d) => d.revoked ? <span class="pill revoked">revoked</span> : <span class={`pill ${d.online ? 'online' : 'offline'}`}>{d.online ? 'online' : 'offline'}</span> },
  { title: 'Last seen', width: '7rem', cell: (d) => <span title={time(d.lastSeen)}>{ago(d.lastSeen)}</span> },
  { title: 'Active version', width: 'minmax(10rem, 1.3fr)', cell: (d) => <span class="mono" title={active(d)}>{active(d)}</span> },
  { title: 'Deployment', width: '8rem', cell: states },
  // The outbox backlog as the device last reported it (it reports when its order of magnitude changes).
  { title: 'Outbox', width: '5rem', cell: (d) => d.reported?.outbox ? <span class={d.reported.outbox.items ? 'warn' : 'muted'}>{d.reported.outbox.items}</span> : <span class="muted">—</span> },
  // The free share of the box's data dir disk as last reported (again at 10%, 5% and 1% free).
  { title: 'Disk free', width: '5.5rem', cell: (d) => <DiskCell disk={d.reported?.disk} /> },
  { title: 'Tags', width: 'minmax(8rem, 1fr)', cell: (d) => <span class="muted" title={formatTags(d.tags)}>{formatTags(d.tags)}</span> },
];

export function FleetView() {
  const version = devicesVersion.value; // re-render on any device change
  useClock(); // and every few seconds: "Last seen 5s ago" does not stay 5s
  const [q, setQ] = useState('');
  const [tag, setTag] = useState('');
  // Sorted once per change (online first, then id); filtering keeps the order.
  const all = useMemo(() => [...devices.values()].sort((a, b) => Number(b.online) - Number(a.online) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), [version]);
  const hay = useMemo(() => new Map(all.map((d) => [d.id, { text: searchText(d.id, d.tags, active(d)), tags: Object.entries(d.tags).map(([k, v]) => `${k}=${v}`) }])), [all]);
  const tags = useMemo(() => [...new Set(all.flatMap((d) => Object.entries(d.tags).map(([k, v]) => `${k}=${v}`)))].sort(), [all]);
  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    if (!needle && !tag) return all;
    return all.filter((d) => {
      const h = hay.get(d.id);
      return !!h && (!tag || h.tags.includes(tag)) && (!needle || h.text.includes(needle));
    });
  }, [all, hay, q, tag]);
  const versions = useMemo(() => {
    const m = new Map<string, number>();
    for (const d of all) if (!d.revoked) for (const r of d.models) m.set(`${r.name}@${r.version}`, (m.get(`${r.name}@${r.version}`) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  }, [all]);
  const st = devicesStatus.value;
  // "Console ready" for the benchmark (test/bench/console.bench.ts): the first paint of device rows.
  useEffect(() => {
    if (rows.length > 0 && performance.getEntriesByName('edgefleet:devices-rendered').length === 0) performance.mark('edgefleet:devices-rendered');
  }, [rows.length > 0]);
  if (st === 'loading') return <Loading what="devices" />;
  if (typeof st === 'object') return <ErrorBox error={`could not load devices: ${st.error}`} retry={() => background(loadDevices())} />;
  const live = all.filter((d) => !d.revoked);
  const online = live.filter((d) => d.online).length;
  return (
    <section aria-labelledby="fleet-h">
      <h1 id="fleet-h">Fleet</h1>
      <div class="cards">
        <div class="card"><div class="big" data-testid="online-count">{online}</div><div>online</div></div>
        <div class="card"><div class="big" data-testid="offline-count">{live.length - online}</div><div>offline</div></div>
        <div class="card"><div class="big">{all.length - live.length}</div><div>revoked</div></div>
        <div class="card wide"><div class="label">Versions in use</div>
          {versions.length ? <ul class="versions" aria-label="Versions in use">{versions.slice(0, VERSIONS_SHOWN).map(([v, n]) => <li key={v}><span class="mono">{v}</span> <b title={`${n} device${n === 1 ? '' : 's'}`}>{n}</b></li>)}
            {versions.length > VERSIONS_SHOWN ? <li class="muted" data-testid="versions-more">+{versions.length - VERSIONS_SHOWN} more (search a version)</li> : null}</ul> : <span class="muted">none reported yet</span>}
        </div>
      </div>
      <div class="toolbar">
        <label for="fleet-search">Search</label>
        <input id="fleet-search" type="search" placeholder="device id, tag or version  ( / )" value={q} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        <label for="fleet-tag">Tag</label>
        <select id="fleet-tag" value={tag} onChange={(e) => setTag((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">all tags</option>
          {tags.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <span class="muted" data-testid="device-count">{rows.length} of {all.length} devices</span>
      </div>
      {all.length === 0
        ? <Empty>No devices yet. Enroll one: <code>edgefleet enroll-token create</code>, then <code>edgefleet-agent enroll</code> on the box (docs/operations.md).</Empty>
        : rows.length === 0
          ? <Empty>No device matches the search.</Empty>
          : <VirtualTable label="Devices" rows={rows} columns={columns} rowKey={(d) => d.id} onOpen={(d) => go(`#/devices/${encodeURIComponent(d.id)}`)} heightPx={420} />}
    </section>
  );
}
