// Deployment status from what devices report (docs/hub.md "REST API"): install events move a
// device's row (downloading, activating, active, failed, rolled_back, waiting_for_disk), a refused
// desired document marks every model it named `refused`, and a reported state's active versions are
// `active`, a switch the device defers (maintenance window, update lock: decision 0031) is `deferred`
// with why and until when, and a version its full disk refused is `waiting_for_disk` (decision 0064).
// A removal (decision 0066) is `removed` once a report that applied the document carrying it shows the
// model removed or no longer lists it.
import { describeClockOffset, type DeploymentDeviceStatus, type DeviceEvent, type ReportedState } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import { deploymentProgress } from '../store/deployments-repo.js';

const STATUS_BY_EVENT: Partial<Record<DeviceEvent['kind'], 'downloading' | 'activating' | 'active' | 'failed' | 'rolled_back' | 'waiting_for_disk'>> = {
  download_started: 'downloading',
  download_progress: 'downloading',
  verifying: 'activating',
  activating: 'activating',
  activated: 'active',
  install_failed: 'failed',
  waiting_for_disk: 'waiting_for_disk',
  rolled_back: 'rolled_back',
  policy_breach: 'rolled_back',
};

/** Statuses a download, verify or waiting-for-disk event of the same deployment does not go over. */
const OLDER_NEWS: readonly DeploymentDeviceStatus[] = ['deferred', 'active'];
/** Statuses whose row keeps the event's reason. */
const WITH_REASON: ReadonlySet<DeploymentDeviceStatus> = new Set(['failed', 'rolled_back', 'waiting_for_disk']);

/** Applies a device's stored events to its deployment rows. */

export function statusFromEvents(store: Store, deviceId: string, events: readonly DeviceEvent[], now: Date): void {
  for (const e of events) {
    if (e.kind === 'desired_refused') {
      refused(store, deviceId, e, now);
      continue;
    }
    if (e.kind === 'removal_kept_local') {
      keptLocal(store, deviceId, e, now);
      continue;
    }
    const status = STATUS_BY_EVENT[e.kind];
    // A shadow candidate's wait for disk space is no install of a deployment (decision 0064): its
    // device's row keeps the version it runs.
    if (!status || !e.model || !e.version || e.data?.['shadow'] === true) continue;
    // A progress outside 0..1 is ignored like a missing one (docs/hub.md "What the hub accepts from devices").
    const progress = deploymentProgress(e.data?.['progress']) ?? (status === 'active' ? 1 : null);
    const reason = WITH_REASON.has(status) ? `${e.code ?? e.kind}: ${e.message}` : null;
    // Events come through the outbox, the state directly: a download or verify event arriving after
    // the state said `deferred` or `active` is older news (an event resent after the hub that stored it
    // first died, or one that waited in the outbox) and does not hide the deferral or the activation
    // (`activated` does end a deferral).
    const older = status === 'downloading' || status === 'activating' || status === 'waiting_for_disk';
    store.deployments.setStatus(deviceId, e.model, e.version, status, now, { progress, reason, ...(older ? { notOver: OLDER_NEWS } : {}) });
  }
}

/**
 * The box did not act on a removal because the model's active version was installed there by its operator
 * (decision 0066: only a hub's model goes). The removal is over as far as the hub can take it: the row goes
 * `removed`, its reason saying the box keeps serving its own install, and later documents omit the entry.
 */
function keptLocal(store: Store, deviceId: string, e: DeviceEvent, now: Date): void {
  for (const r of store.removals.pendingFor(deviceId)) {
    if (r.name !== e.model || r.seq === null) continue;
    const reason = `${r.reason}; the box keeps serving ${r.name}, installed there by its operator (removal_kept_local: ${e.message})`;
    store.removals.keptLocal(r.deploymentId, deviceId, reason, now);
    store.deployments.emitStatus({ deploymentId: r.deploymentId, deviceId, model: r.name, version: r.version, status: 'removed', progress: null, reason, at: now.toISOString() });
  }
}

/** Past this, a deferred device's reason says how far its clock is off (the agent's skew allowance, 5 min). */
const CLOCK_NOTE_MS = 5 * 60_000;

/**
 * A reported state: each model's active version is `active` on its deployment row, a version whose
 * switch the device defers is `deferred`, the reason saying why and until when (the agent's message names both), and a
 * version the device's full disk refused is `waiting_for_disk` (its message names the room needed and free). The device evaluates its
 * window on its own clock: when that is off, the reason says by how much (docs/rollouts.md).
 */
export function statusFromState(store: Store, deviceId: string, m: ReportedState, now: Date): void {
  for (const model of m.models) {
    if (model.active) store.deployments.setStatus(deviceId, model.name, model.active, 'active', now, { progress: 1 });
    if (model.status === 'deferred' && model.target && model.target !== model.active) {
      const offset = Date.parse(m.at) - now.getTime();
      const clock = Math.abs(offset) > CLOCK_NOTE_MS ? ` (the box's clock is ${describeClockOffset(offset)} the hub's)` : '';
      store.deployments.setStatus(deviceId, model.name, model.target, 'deferred', now, { progress: 1, reason: `${model.reason?.code ?? 'DEFERRED'}: ${model.reason?.message ?? 'switch deferred'}${clock}` });
    }
    if (model.status === 'waiting_for_disk' && model.target && model.target !== model.active) {
      store.deployments.setStatus(deviceId, model.name, model.target, 'waiting_for_disk', now, { progress: null, reason: `${model.reason?.code ?? 'DISK_FULL'}: ${model.reason?.message ?? 'waiting for disk space'}` });
    }
  }
  removalsDone(store, deviceId, m, now);
}

/**
 * Each removal the device's documents carry is done when this report applied the first document that
 * carried it (lastAppliedSeq at or above its seq: an older report cannot clear it) and shows the model
 * `removed` or does not list it at all.
 */
function removalsDone(store: Store, deviceId: string, m: ReportedState, now: Date): void {
  const removals = store.removals;
  const pending = removals.pendingFor(deviceId);
  if (!pending.length) return;
  const reported = new Map(m.models.map((x) => [x.name, x.status]));
  for (const r of pending) {
    if (r.seq === null || m.lastAppliedSeq < r.seq) continue;
    const status = reported.get(r.name);
    if ((status === undefined || status === 'removed') && removals.done(deviceId, r.name, m.lastAppliedSeq, now) > 0) {
      store.deployments.emitStatus({ deploymentId: r.deploymentId, deviceId, model: r.name, version: r.version, status: 'removed', progress: null, reason: r.reason, at: now.toISOString() });
    }
  }
}

/**
 * A refused desired document names no model: its seq finds the document the hub issued, and each
 * model in it is `refused` with the reason on the device's row (docs/hub.md "REST API"). A seq
 * the hub never issued (a stolen key's document) changes no deployment.
 */
function refused(store: Store, deviceId: string, e: DeviceEvent, now: Date): void {
  const seq = e.data?.['seq'];
  if (typeof seq !== 'number') return;
  const doc = store.desired.bySeq(deviceId, seq);
  if (!doc) return;
  for (const m of doc.signed.models) {
    store.deployments.setStatus(deviceId, m.name, m.version, 'refused', now, { progress: null, reason: `${e.code ?? e.kind}: ${e.message}` });
  }
}
