// A device re-tagged out of the tags an active rollout targets (docs/rollouts.md "Cohorts",
// docs/decisions/0093-offline-boxes-and-re-tagged-devices.md). The device keeps its row in the rollout
// otherwise: a configuration rollout of a tag scope would count it applied while its document no longer
// layers the scope (re-tagged, it dropped the rollout's settings outside the rollout), and would tell it in
// its wave, as a model rollout would send the version to a box its target no longer names. So a device the
// rollout has told (switched, or running the candidate in shadow) is refused: what the rollout sent it is
// the rollout's to keep or take back. One not yet told leaves it: nothing the rollout sent is on it, and the
// rollout's own trail says so (left.ts, docs/decisions/0164-rollouts-trail-a-device-leaving.md).
import { AppError } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import { rolloutSubject, targetMatches } from '../deployments/target.js';
import { auditLeft } from './left.js';

const pairs = (t: Record<string, string>) => Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';

/** Who re-tags the device, when and why (the tags route's token and the request's reason). */
export interface Retag { actor: string; actorId: string | null; at: Date; reason: string | null }

/**
 * Run in the transaction that stores the device's new tags, before it: CONFLICT when a running or paused
 * rollout whose target is tags the device matches `before` and not `after` told the device; otherwise
 * the rollouts it leaves (their ids), its rows removed and a `rollout.device_left` entry in each one's trail.
 */
export function leaveOnRetag(store: Store, deviceId: string, before: Record<string, string>, after: Record<string, string>, by: Retag): string[] {
  const left: string[] = [];
  const targets = new Map<string, Record<string, string>>();
  for (const r of store.rollouts.active()) {
    const tags = r.target.tags;
    if (!tags || !targetMatches(r.target, deviceId, before) || targetMatches(r.target, deviceId, after)) continue;
    const row = store.rollouts.device(r.id, deviceId);
    if (!row) continue;
    if (row.notifiedAt !== null) {
      throw new AppError('CONFLICT', `rollout ${r.id} (${rolloutSubject(r)}, ${r.state}) told ${deviceId} already and its target is tags ${pairs(tags)}: re-tagging it out of them would leave it `
        + `on what the rollout sent it, outside the rollout; wait for the rollout to finish (edgefleet rollout show ${r.id}), or roll it back or abort it first`, { details: { rollout: r.id, devices: [deviceId] } });
    }
    store.rollouts.removeDevice(r.id, deviceId);
    left.push(r.id);
    targets.set(r.id, tags);
  }
  auditLeft(store, left, {
    action: 'rollout.device_left', actor: by.actor, actorId: by.actorId, at: by.at,
    reason: (id) => `${deviceId} re-tagged out of the target (tags ${pairs(targets.get(id) ?? {})}) before it was told: left it, now tags ${pairs(after)}${by.reason ? ` (${by.reason})` : ''}`,
    details: { device: deviceId, before, after },
  });
  return left;
}
