// Taking a model off devices (docs/hub.md "Undeploy", docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md):
// an operator's undeploy of a deployment, or a re-tag that takes a device out of a tag target. The device
// rows whose assignment of the model is the device's effective one go `removing`: the device's next
// documents carry a `removed` entry (desired.ts) until it reports the model removed (status.ts).
import { AppError, type DesiredDocument, type DeployTarget, type UndeployResult } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { StatusChange } from '../store/deployments-repo.js';
import { targetMatches } from './target.js';
import type { SignedAhead } from './desired.js';
import type { AheadJob } from './signed-ahead.js';

/** Above this many devices an undeploy needs `confirmDevices` equal to the count (decision 0066). */
export const UNDEPLOY_CONFIRM_ABOVE = 10;

export interface UndeployRequest {
  reason: string;
  actor: string;
  /** The number of devices the operator confirms (a dry run's `devices`). */
  confirmDevices?: number | undefined;
  /** Answers what would change and changes nothing. */
  dryRun?: boolean | undefined;
}

export interface UndeployDeps {
  store: Store;
  now: Date;
  /** Builds, signs and stores the devices' next documents (DeploymentService.storeDesired); `ahead`: desired.ts SignedAhead. */
  storeDesired: (deviceIds: readonly string[], ahead?: SignedAhead) => DesiredDocument[];
}

/**
 * What an undeploy changes, after the checks that refuse it: NOT_FOUND for an unknown id; CONFLICT for one a running
 * or paused rollout owns or one undeployed already; CONFIRMATION_REQUIRED above UNDEPLOY_CONFIRM_ABOVE devices without
 * the count confirmed (not for a dry run). `rows`: the deployment's rows not removed yet; `live`: the devices to issue documents to.
 */
function planUndeploy(store: Store, id: number, req: UndeployRequest) {
  const d = store.deployments.get(id); // NOT_FOUND names the id
  const owner = store.rollouts.active(d.model).find((r) => r.deploymentId === id);
  if (owner) {
    throw new AppError('CONFLICT', `deployment ${id} belongs to rollout ${owner.id} (${owner.state}): a rollout owns its deployment; abort or roll back the rollout instead (edgefleet rollout abort ${owner.id})`);
  }
  if (d.undeployed) throw new AppError('CONFLICT', `deployment ${id} was undeployed already (${d.undeployed.at} by ${d.undeployed.by}: ${d.undeployed.reason}): nothing left to remove`);
  const rows = store.removals.rowsOf(id).filter((r) => r.status !== 'removing' && r.status !== 'removed');
  const effective = rows.filter((r) => r.effective);
  const result: UndeployResult = { deploymentId: id, dryRun: req.dryRun === true, devices: effective.length, deviceIds: effective.map((r) => r.deviceId), superseded: rows.length - effective.length };
  if (!req.dryRun && effective.length > UNDEPLOY_CONFIRM_ABOVE && req.confirmDevices !== effective.length) {
    const given = req.confirmDevices === undefined ? 'no confirmDevices was given' : `confirmDevices was ${req.confirmDevices}`;
    throw new AppError('CONFIRMATION_REQUIRED', `undeploying deployment ${id} removes ${d.model} from ${effective.length} devices and ${given}: send confirmDevices=${effective.length} to confirm (edgefleet undeploy ${id} --reason ... --yes)`);
  }
  const targetable = new Set(store.devices.targetable().map((x) => x.id));
  return { d, rows, result, live: result.deviceIds.filter((x) => targetable.has(x)) };
}

/**
 * Undeploys deployment `id` inside one transaction, with `record` (the API's audit entry) in it; returns
 * the result and the documents to publish after commit (planUndeploy says what refuses it). A dry run
 * changes nothing. `ahead`: documents signed before (undeployJob), stored where the one built now is the same.
 */
export function undeploy(deps: UndeployDeps, id: number, req: UndeployRequest, record?: (r: UndeployResult) => void, ahead?: SignedAhead): { result: UndeployResult; docs: DesiredDocument[] } {
  const { store } = deps;
  const now = ahead?.now ?? deps.now;
  const removals = store.removals;
  const changes: StatusChange[] = [];
  const out = store.db.transaction(() => {
    const { d, rows, result, live } = planUndeploy(store, id, req);
    if (req.dryRun) return { result, docs: [] };
    const at = now.toISOString();
    for (const r of rows.filter((x) => x.effective)) {
      removals.mark(id, r.deviceId, 'removing', req.reason, now);
      changes.push({ deploymentId: id, deviceId: r.deviceId, model: d.model, version: d.version, status: 'removing', progress: null, reason: req.reason, at });
    }
    // Rows a newer deployment of the model replaced change no document; marked, they never come back.
    for (const r of rows.filter((x) => !x.effective)) {
      const reason = `undeployed after a newer deployment replaced it: ${req.reason}`;
      removals.mark(id, r.deviceId, 'removed', reason, now);
      changes.push({ deploymentId: id, deviceId: r.deviceId, model: d.model, version: d.version, status: 'removed', progress: null, reason, at });
    }
    removals.undeploy(id, req.actor, req.reason, now);
    record?.(result);
    return { result, docs: deps.storeDesired(live, ahead) };
  })();
  // After the commit, so the live stream never shows a change a failed transaction rolled back.
  for (const c of changes) store.deployments.emitStatus(c);
  return out;
}

/**
 * undeploy() for AheadSigner (signed-ahead.ts): checked now (planUndeploy); a chunk's trial marks its devices' rows
 * `removing` at the signing's time and builds their documents; the commit is undeploy() at that time, every document
 * built again (docs/decisions/0170-deployments-signed-ahead-in-chunks.md, addendum).
 */
export function undeployJob(deps: UndeployDeps, id: number, req: UndeployRequest, record?: (r: UndeployResult) => void): AheadJob<{ result: UndeployResult; docs: DesiredDocument[] }> {
  const { store } = deps;
  const { d, live } = store.db.transaction(() => planUndeploy(store, id, req))();
  return {
    kind: 'undeploy', what: `deployment ${id}, ${d.model} ${d.version}`, details: { deploymentId: id, model: d.model, version: d.version },
    devices: req.dryRun ? [] : live,
    trial: (ids, at) => {
      for (const x of ids) store.removals.mark(id, x, 'removing', req.reason, at.now);
      return deps.storeDesired(ids, at);
    },
    commit: (ahead) => undeploy(deps, id, req, record, ahead),
    logged: () => ({ deployment: id }),
  };
}

/** How a re-tag's removal reads in the document and on the row. */
export function retagReason(deploymentId: number, target: DeployTarget): string {
  return `re-tagged out of deployment ${deploymentId} (target ${JSON.stringify(target.tags ?? target)})`;
}

/**
 * A device's tags changed (run inside the caller's transaction): each tag deployment it no longer matches
 * whose row is the device's effective assignment of the model goes `removing`, unless another open
 * deployment of the model it now matches takes it over (a device moved from ring=canary to ring=stable
 * runs stable's version, even when stable's deployment is the older one; not one in `untrusted`, which it
 * does not join): then it leaves the deployment (its row deleted) and the model is not removed. Returns how many rows changed.
 */
export function leaveTagTargets(store: Store, deviceId: string, tags: Record<string, string>, now: Date, untrusted: ReadonlySet<number> = new Set()): number {
  const removals = store.removals;
  const open = store.deployments.openTargets();
  let n = 0;
  for (const d of open) {
    if (!d.target.tags || targetMatches(d.target, deviceId, tags)) continue;
    const [row] = removals.rowsOf(d.id, deviceId);
    if (!row || !row.effective || row.status === 'removing' || row.status === 'removed') continue;
    const takenOver = open.some((o) => o.id !== d.id && o.model === d.model && !untrusted.has(o.id) && targetMatches(o.target, deviceId, tags));
    if (takenOver) removals.leave(d.id, deviceId);
    else removals.mark(d.id, deviceId, 'removing', retagReason(d.id, d.target), now);
    n++;
  }
  return n;
}
