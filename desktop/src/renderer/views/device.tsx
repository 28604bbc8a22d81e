// One device: facts (with the runtime backend and capabilities it reports), tags, versions and their status, clock, its configuration (applied, restarting or refused) and refusals, its metrics and drift
// (device-metrics.tsx), the events timeline, and
// (admin) tag / revoke / rotate-secret, each with a reason. Refetches when the stream says the device
// changed.
import { useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { DeviceEvent, DeviceInfo } from '@edgefleet/shared';
import { can, deviceTick, refetchTick, session } from '../store.js';
import { ActionForm } from '../ui/action.js';
import { Empty, ErrorBox, Loading, time } from '../ui/states.js';
import { Age } from '../ui/age.js';
import { LOW_DISK_SHARE, describeClockOffset, diskShare, diskText, formatCount } from '@edgefleet/shared/browser';
import { DeviceMetrics } from './device-metrics.js';
import { useRefetched } from '../ui/refetched.js';
import { MissingBox } from '../ui/missing.js';
import { formatTags, parseTags } from '../../common/tag-text.js';
import { inert } from '../ui/inert.js';
import { Head } from '../ui/table.js';

/** `fleet v3, tag/site=north v1`: the documents a configuration is layered from. */
const sourcesText = (sources: ReadonlyArray<{ scope: string; version: number }>): string => sources.map((x) => `${x.scope} v${x.version}`).join(', ') || 'no remote settings';

/**
 * The remote configuration as the box reported it (docs/hub.md "Agent configuration"): applied, waiting for
 * its restart, or refused with the box's own error and what it still runs (what a configuration rollout's
 * config_applied gate counts; `edgefleet devices show` prints the same).
 */
function ConfigFact({ c }: { c: NonNullable<DeviceInfo['reported']>['config'] }) {
  if (!c) return <dd data-testid="device-config">not reported</dd>;
  const runs = sourcesText(c.sources);
  if (c.status !== 'failed') return <dd data-testid="device-config">{c.status === 'applied' ? `applied: ${runs}` : `restarting to apply it (runs ${runs})`}</dd>;
  const e = c.error;
  return <dd class="error" data-testid="device-config">refused{e ? `: ${e.code}: ${inert(e.message)}${e.field ? ` (field ${inert(e.field)})` : ''}` : ''}; runs {runs}</dd>;
}

/**
 * The versions the hub holds back from the box (GET /devices/{id} `heldBack`, what `edgefleet devices show` lists under
 * `held back:`): its backend cannot load them, or the hub waits for its first state report to say its backend
 * (docs/decisions/0129-model-backends-checked.md); each with its deployment, since when and the hub's reason.
 */
function HeldBack({ held }: { held: DeviceInfo['heldBack'] }) {
  if (!held?.length) return null;
  return <div class="panel">
    <h2 id="held-h">Held back by the hub</h2>
    <table class="plain" aria-labelledby="held-h"><Head cols={['Version', 'Deployment', 'Since', 'Why']} />
      <tbody>{held.map((h) => (
        <tr key={h.model}><td class="mono"><a href={`#/models/${encodeURIComponent(h.model)}/${encodeURIComponent(h.version)}`}>{h.model}@{h.version}</a></td>
          <td><a href={`#/deployments/${h.deploymentId}`}>{h.deploymentId}</a></td><td>{time(h.since)} (<Age at={h.since} />)</td>
          <td class={h.reason.startsWith('BACKEND_UNSUPPORTED') ? 'error' : 'warn'}>{inert(h.reason)}</td></tr>
      ))}</tbody></table>
  </div>;
}

/** The timeline shows the device's latest events, this many. */
const EVENTS_SHOWN = 200;

export function DeviceView({ id }: { id: string }) {
  const [tagText, setTagText] = useState<string | null>(null);
  const api = session.value?.api;
  const tick = deviceTick.value.id === id ? deviceTick.value.n : 0;
  // A refetch that fails keeps the device shown, marked, with Retry (ui/refetched.ts).
  const data = useRefetched(async () => {
    const device = await api!.get<DeviceInfo>(`/devices/${encodeURIComponent(id)}`);
    // The latest EVENTS_SHOWN, newest first: one page whatever the device sent (docs/console.md "Device").
    // A read of them that fails is said in their panel, the hub's code and message with Retry; the device is shown.
    const events = await api!.get<{ events: DeviceEvent[] }>(`/devices/${encodeURIComponent(id)}/events?order=newest&limit=${EVENTS_SHOWN}`).then((r) => r.events, (e: unknown) => ({ error: errorText(e) }));
    return { device, events };
  }, [id, tick, refetchTick.value]);
  if (!data.value) return data.missing ? <MissingBox m={data.missing} /> : data.error ? <ErrorBox error={`device ${id}: ${data.error}`} retry={data.retry} /> : <Loading what={`device ${id}`} />;
  const { device: d, events } = data.value;
  const tags = formatTags(d.tags);
  const enc = encodeURIComponent(d.id);
  const gone = d.revoked ? `the device was revoked${d.revokedAt ? ` at ${time(d.revokedAt)}` : ''}` : undefined;
  return (
    <section aria-labelledby="dev-h">
      {data.error ? <ErrorBox error={`could not refresh the device (shown as of ${time(data.at)}): ${data.error}`} retry={data.retry} /> : null}
      <h1 id="dev-h"><span class="mono">{d.id}</span> {d.revoked ? <span class="pill revoked">revoked</span> : <span class={`pill ${d.online ? 'online' : 'offline'}`}>{d.online ? 'online' : 'offline'}</span>}</h1>
      <div class="grid2">
        <div class="panel">
          <h2>Facts</h2>
          <dl>
            <dt>Last seen</dt><dd data-testid="device-last-seen"><Age at={d.lastSeen} /></dd>
            {d.reported ? <><dt>Last report</dt><dd data-testid="device-last-report"><Age at={d.reported.at} /></dd></> : null}
            <dt>Enrolled</dt><dd>{time(d.created)}</dd>
            {d.facts ? <><dt>System</dt><dd>{d.facts.os} / {d.facts.arch}, {d.facts.cpus} CPUs, {d.facts.memoryMb} MB</dd></> : null}
            {d.reported || d.facts ? <><dt>Agent</dt><dd data-testid="device-agent">{d.reported?.agentVersion ?? d.facts?.agentVersion}{d.reported?.starts !== undefined ? `, started ${d.reported.starts === 1 ? 'once' : `${formatCount(d.reported.starts)} times`}` : ''}</dd></> : null}
            {d.reported ? <><dt>Runtime</dt><dd data-testid="device-runtime">{d.reported.backend ? `${d.reported.backend} backend` : 'not reported'}</dd>
              <dt>Capabilities</dt><dd class="mono" data-testid="device-capabilities">{inert(d.reported.capabilities.join(' ')) || '—'}</dd></> : null}
            <dt>Tags</dt><dd class="mono">{tags || '—'}</dd>
            {d.clock ? <><dt>Clock</dt><dd data-testid="device-clock">{describeClockOffset(d.clock.offsetMs)} the hub ({d.clock.offsetMs > 0 ? '+' : ''}{d.clock.offsetMs} ms, measured {time(d.clock.measuredAt)}){d.clock.shiftedWindows > 0 ? `; ${formatCount(d.clock.shiftedWindows)} windows placed by the hub's clock` : ''}</dd></> : null}
            {d.reported?.disk ? <><dt>Disk</dt><dd class={diskShare(d.reported.disk) < LOW_DISK_SHARE ? 'warn' : undefined}>{diskText(d.reported.disk)}</dd></> : null}
            {d.reported?.trust ? <><dt>Trust expires</dt><dd>{time(d.reported.trust.expires)}{d.reported.trust.expired ? ' (expired)' : ''}</dd></> : null}
            {d.reported ? <><dt>Configuration</dt><ConfigFact c={d.reported.config} /></> : null}
            {d.reported?.refusal ? <><dt>Last refusal</dt><dd class="error">{d.reported.refusal.code}: {inert(d.reported.refusal.message)}</dd></> : null}
            {d.revokedAt ? <><dt>Revoked</dt><dd>{time(d.revokedAt)}</dd></> : null}
          </dl>
        </div>
        <div class="panel">
          <h2>Models</h2>
          {d.models.length === 0 ? <Empty>{d.heldBack?.length ? 'No model reported; what the box is assigned the hub holds back (below).' : 'No model assigned or reported.'}</Empty> : (
            <table class="plain"><Head cols={['Model', 'Version', 'Status', 'Preflight']} />
              <tbody>{d.models.map((m) => (
                <tr key={m.name + m.version}><td class="mono">{m.name}</td><td class="mono">{m.version}</td><td>{m.status}</td>
                  <td>{m.preflight ? `p50 ${m.preflight.p50Ms.toFixed(2)} ms, p95 ${m.preflight.p95Ms.toFixed(2)} ms (${m.preflight.samples} samples)` : '—'}</td></tr>
              ))}</tbody></table>
          )}
          {can('admin') ? (
            // Drawn once revoked too (by another admin, the page told): an open form stays, saying why it sends nothing (ui/action.tsx `gone`).
            <div class="actions" aria-label="Device actions">
              {d.revoked ? null : <h2>Actions</h2>}
              <ActionForm label="Set tags" gone={gone} extra={<>
                <label for="tags-input">Tags (key=value …, quote a value with spaces: note="a b")</label>
                <input id="tags-input" value={tagText ?? tags} onInput={(e) => setTagText((e.currentTarget as HTMLInputElement).value)} />
              </>} run={async (reason) => {
                await api?.send('PUT', `/devices/${enc}/tags`, { tags: parseTags(tagText ?? tags), ...(reason ? { reason } : {}) });
                setTagText(null);
                return 'tags saved';
              }} />
              <ActionForm label="Rotate secret" gone={gone} run={async (reason) => {
                const r = await api?.send<{ secret: string }>('POST', `/devices/${enc}/rotate-secret`, { ...(reason ? { reason } : {}) });
                return `new secret (shown once; give it to the device): ${r?.secret ?? ''}`;
              }} />
              <ActionForm label="Revoke" danger reasonRequired gone={gone} run={async (reason) => {
                await api?.send('POST', `/devices/${enc}/revoke`, { reason });
                return 'revoked';
              }} />
            </div>
          ) : null}
        </div>
      </div>
      <HeldBack held={d.heldBack} />
      <DeviceMetrics id={d.id} models={d.models} />
      <div class="panel">
        <h2>Events</h2>
        {'error' in events ? <ErrorBox error={`could not load the events: ${events.error}`} retry={data.retry} />
          : events.length === 0 ? <Empty>No events reported yet.</Empty> : (
            <ol class="timeline" aria-label="Events timeline">
              {events.map((e) => (
                <li key={e.seq} class={/fail|refused|rolled|breach|error/.test(e.kind) ? 'bad' : ''}>
                  <time>{time(e.at)}</time> <b>{e.kind}</b> {e.model ? <span class="mono">{e.model}@{e.version}</span> : null} <span>{e.code ? `${e.code}: ` : ''}{inert(e.message)}</span>
                </li>
              ))}
            </ol>
          )}
      </div>
    </section>
  );
}
