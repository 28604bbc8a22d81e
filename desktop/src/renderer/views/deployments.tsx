// Deployments, newest first a page at a time ("Show older" for the next): each with its per-status counts; one deployment's devices with status, progress and
// reason, updated live from deployment.progress events; an operator may undeploy it (undeploy.tsx).
import { useEffect, useState } from 'preact/hooks';
import type { Deployment } from '@edgefleet/shared';
import { can, deploymentTick, deployments, deploymentsRead, loadDeployments, loadOlderDeployments, olderDeployments, refetchTick, session } from '../store.js';
import { UndeployAction } from './undeploy.js';
import { targetText } from './rollouts.js';
import { OlderNote } from '../ui/older.js';
import { Empty, ErrorBox, ListLoad, Loading, time } from '../ui/states.js';
import { Age } from '../ui/age.js';
import { background } from '../background.js';
import { useRefetched } from '../ui/refetched.js';
import { MissingBox } from '../ui/missing.js';
import { formatCount } from '@edgefleet/shared/browser';
import { inert } from '../ui/inert.js';
import { Head } from '../ui/table.js';

function Counts({ counts }: { counts: Record<string, number> }) {
  return <span class="counts">{Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => <span key={s} class={`pill st-${s}`}>{s} {formatCount(n)}</span>)}</span>;
}

export function DeploymentsView({ id }: { id?: string }) {
  const list = deployments.value;
  useEffect(() => { if (list === null) background(loadDeployments()); }, []);
  return (
    <section aria-labelledby="dep-h">
      <h1 id="dep-h">Deployments</h1>
      <ListLoad what="deployments" list={list} read={deploymentsRead.value} retry={() => background(loadDeployments())} />
      {!Array.isArray(list) ? null : list.length === 0
        ? <Empty>No deployment yet: <code>edgefleet deploy MODEL VERSION --all --reason "…"</code>.</Empty>
        : (
          <table class="plain selectable" aria-label="Deployments">
            <Head cols={['#', 'Model', 'Target', 'Reason', 'By', 'Created', 'Devices']} />
            <tbody>{list.map((d) => (
              <tr key={d.id} class={String(d.id) === id ? 'selected' : ''}>
                <td><a href={`#/deployments/${d.id}`}>{d.id}</a></td><td class="mono">{d.model}@{d.version}</td>
                <td class="mono">{d.rollout ? <a href={`#/rollouts/${encodeURIComponent(d.rollout)}`} title="a rollout grows its deployment wave by wave">rollout {d.rollout}</a> : <span title={d.target.devices ? d.target.devices.join(', ') : undefined}>{targetText(d.target)}</span>}</td><td>{d.reason}</td><td>{d.createdBy}</td><td>{time(d.created)}</td><td><Counts counts={d.counts} /></td>
              </tr>
            ))}</tbody>
          </table>
        )}
      {Array.isArray(list) ? <OlderNote what="deployments" next={olderDeployments.value} load={loadOlderDeployments} /> : null}
      {id ? <DeploymentDetail id={id} /> : null}
    </section>
  );
}

/** Devices the page lists (GET /deployments/{id}?devices=N: failed, refused, waiting … first; the counts cover them all). */
const DEVICES_SHOWN = 500;

function DeploymentDetail({ id }: { id: string }) {
  const api = session.value?.api;
  const [tick, setTick] = useState(0);
  // A refetch that fails (progress events refetch it) keeps the deployment shown, marked, with Retry (ui/refetched.ts).
  const r = useRefetched(() => api!.get<Deployment>(`/deployments/${encodeURIComponent(id)}?devices=${DEVICES_SHOWN}`), [id, deploymentTick.value, refetchTick.value, tick]);
  const d = r.value;
  if (!d) return r.missing ? <MissingBox m={r.missing} /> : r.error ? <ErrorBox error={`deployment ${id}: ${r.error}`} retry={r.retry} /> : <Loading what={`deployment ${id}`} />;
  return (
    <div class="panel" data-testid="deployment-detail">
      {r.error ? <ErrorBox error={`could not refresh the deployment (shown as of ${time(r.at)}): ${r.error}`} retry={r.retry} /> : null}
      <h2>Deployment {d.id}: <span class="mono">{d.model}@{d.version}</span> <Counts counts={d.counts} /></h2>
      {d.undeployed ? <p data-testid="undeployed">Undeployed by {d.undeployed.by} at {time(d.undeployed.at)}: {d.undeployed.reason}</p>
        : can('operator') ? <UndeployAction key={d.id} d={d} done={() => { setTick((n) => n + 1); background(loadDeployments()); }} /> : null}
      <table class="plain" aria-label="Deployment devices"><Head cols={['Device', 'Status', 'Progress', 'Reason', 'Updated']} />
        <tbody>{d.devices.map((x) => (
          <tr key={x.deviceId}><td><a class="mono" href={`#/devices/${encodeURIComponent(x.deviceId)}`}>{x.deviceId}</a></td><td><span class={`pill st-${x.status}`}>{x.status}</span></td>
            <td>{x.progress !== null ? <progress max={1} value={x.progress}>{Math.round(x.progress * 100)}%</progress> : '—'}</td><td>{inert(x.reason ?? '')}</td><td><Age at={x.updated} /></td></tr>
        ))}</tbody>
        {d.devicesTotal !== undefined && d.devicesTotal > d.devices.length ? <caption data-testid="deployment-devices-shown">first {d.devices.length} of {d.devicesTotal}, those needing attention first</caption> : null}
      </table>
    </div>
  );
}
