// Which devices a deployment (or rollout, or capture) target reaches: listed ids, matching tags, or all;
// and the refusal of a deployment over devices an active rollout holds.
import { AppError, notFound, type DeployTarget } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';

/** Whether a device with these tags matches a deployment target. */
export function targetMatches(target: DeployTarget, deviceId: string, tags: Record<string, string>): boolean {
  if (target.all) return true;
  if (target.devices) return target.devices.includes(deviceId);
  if (target.tags) return Object.entries(target.tags).every(([k, v]) => tags[k] === v);
  return false;
}

/**
 * The ids of the devices `target` reaches among `devices` (the devices not revoked, as
 * `store.devices.targetable()` lists them). A target listing ids must name only such devices: an
 * unknown id (a typo) or a revoked one is refused with NOT_FOUND rather than reaching fewer devices
 * than asked. Deployments, rollouts and captures all check their target here.
 */
export function targetDeviceIds(devices: ReadonlyArray<{ id: string; tags: Record<string, string> }>, target: DeployTarget): string[] {
  const ids = devices.filter((d) => targetMatches(target, d.id, d.tags)).map((d) => d.id);
  if (target.devices) {
    const known = new Set(ids);
    const missing = target.devices.filter((id) => !known.has(id));
    if (missing.length) {
      // Named as a field (the console shows it under Devices), at most 20 of them (a target may list thousands).
      const shown = missing.length > 20 ? `${missing.slice(0, 20).join(', ')} and ${missing.length - 20} more` : missing.join(', ');
      throw notFound('device', missing[0] ?? '', `target.devices: unknown or revoked devices in target: ${shown}; expected enrolled devices not revoked (edgefleet devices ls)`, { ids: missing.slice(0, 100) });
    }
  }
  return ids;
}

/** A rollout's subject: a model, or (config set) any configuration. */
export interface RolloutSubject { model: string; config?: unknown }

/**
 * The running or paused rollouts a device can be in only one of (docs/rollouts.md "Cohorts"): those of
 * `subject`'s model, or, for a configuration rollout, every configuration rollout whatever its scope (the
 * scopes' documents layer into one configuration per device, docs/rollouts.md "Configuration rollouts").
 */
export function rivalRollouts(store: Store, subject: RolloutSubject): RolloutRecord[] {
  return subject.config ? store.rollouts.active().filter((r) => r.config) : store.rollouts.active(subject.model);
}

/** How a rollout's subject reads in a refusal: `vibration-anomaly 2.0.0`, `config tag/site=north v1 -> v2`. */
export const rolloutSubject = (r: RolloutRecord): string => (r.config ? `config ${r.config.scope} v${r.config.fromVersion} -> v${r.config.version}` : `${r.model} ${r.version}`);

/**
 * CONFLICT when an active (running or paused) rollout of `subject` (rivalRollouts) holds one of `devices`:
 * a device is one rollout's at a time (docs/rollouts.md "Cohorts"), and a deploy (or a configuration
 * document) beside it would leave that rollout judging a change it did not make and its rollback moving
 * the box back under the operator. `what` names the request (`this deployment`), `instead` what else to do (null: nothing).
 */
export function refuseRolloutDevices(store: Store, subject: RolloutSubject, devices: readonly string[], what = 'this deployment', instead: string | null = 'leave those devices out of the target'): void {
  const wanted = new Set(devices);
  for (const r of rivalRollouts(store, subject)) {
    const held = store.rollouts.devices(r.id).map((d) => d.deviceId).filter((id) => wanted.has(id));
    if (held.length === 0) continue;
    const named = `${held.slice(0, 3).join(', ')}${held.length > 3 ? `, … (${held.length} in all)` : ''}`;
    throw new AppError('CONFLICT', `rollout ${r.id} (${rolloutSubject(r)}, ${r.state}) is active over devices of ${what} (${named}): `
      + `a device is one rollout's at a time; abort the rollout or wait for it to finish${instead ? `, or ${instead}` : ''}`, { details: { rollout: r.id, devices: held.slice(0, 20) } });
  }
}
