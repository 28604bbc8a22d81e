// A box enrolled again as a new device id (edgefleet-agent enroll --force keeps its device key) leaves its old
// id behind in the fleet, and in the rollouts that placed it, where a wave's gates would wait for a device
// that never reports again (docs/rollouts.md "Cohorts", docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md).
// The enrollment of the new id marks the old one replaced (store/device-replacements.ts) with an audit entry
// naming the rollouts it leaves; while offline it is out of every rollout, as a revoked device is, and the
// gates say so.
import type { RolloutDevice } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import { markReplaced } from '../store/device-replacements.js';
import { waveOf, type Placed } from './cohort.js';
import { ringTagsOf } from './plan.js';
import { auditLeft } from './left.js';

/** The one wording for devices replaced and offline: the gate's note, their rows in the rollout's device list, its audit trail. */
const leftOut = (whose: 'its box' | 'their boxes'): string => `replaced by a new enrollment of ${whose} (enroll --force) and offline: left out`;

/**
 * Marks the devices holding `keyId` other than `by` (just enrolled with it) replaced, each with a
 * `device.replaced` audit entry naming the active rollouts it was placed in. In the enrollment's transaction.
 */
export function recordReplaced(store: Store, by: string, keyId: string, actor: { name: string; id: string }, now: Date): void {
  for (const old of markReplaced(store.db, by, keyId, now)) {
    const left = store.rollouts.active().filter((r) => store.rollouts.device(r.id, old.deviceId) !== null).map((r) => r.id);
    const online = store.devices.get(old.deviceId).online;
    store.audit.append({
      actor: actor.name, actorId: actor.id, action: 'device.replaced', target: old.deviceId, at: now,
      reason: `its box enrolled again as ${by} with the same device key (${keyId.slice(0, 12)}…): ${old.deviceId} ${online ? 'is connected now; it leaves' : 'leaves'} the rollouts it is placed in ${online ? 'once offline' : 'while offline'}${left.length ? ` (${left.join(', ')})` : ''}; revoke it (edgefleet devices revoke ${old.deviceId}) once its history is not needed`,
      details: { by, keyId, ...(left.length ? { leftRollouts: left } : {}) },
    });
    // Each rollout's own trail (GET /audit?target=ROLLOUT, the console's rollout page) says the device left it.
    auditLeft(store, left, {
      action: 'rollout.device_replaced', actor: actor.name, actorId: actor.id, at: now,
      reason: () => `${old.deviceId} ${online ? 'replaced by a new enrollment of its box (enroll --force), connected now: left out once offline' : leftOut('its box')} (now ${by})`,
      details: { device: old.deviceId, by, keyId },
    });
  }
}

/** What a rollout's install_success (config_applied) says of its devices replaced and offline, or null. */
export function replacedNote(store: Store, rolloutId: string): string | null {
  const { first, count } = store.rollouts.replaced(rolloutId);
  if (!count) return null;
  const named = `${first.map((x) => `${x.deviceId} now ${x.by}`).join(', ')}${count > first.length ? `, … (${count} in all)` : ''}`;
  return `${count} ${leftOut(count === 1 ? 'its box' : 'their boxes')} (${named}); edgefleet devices revoke ID takes an old id off the fleet`;
}

/**
 * GET /rollouts/{id}: its devices replaced and offline, at most `limit` by place, listed after the others with
 * status `replaced` and why (they count in no wave; `members` are the rollout's devices, to name the wave each was in).
 */
export function replacedRows(store: Store, r: RolloutRecord, members: readonly Placed[], limit: number): RolloutDevice[] {
  const gone = limit > 0 ? store.rollouts.replacedRows(r.id, limit) : [];
  if (!gone.length) return [];
  const wave = waveOf([...members, ...gone], r.waves, ringTagsOf(store, r.waves));
  return gone.map((d) => ({
    deviceId: d.deviceId, place: Math.round(d.place * 1000) / 1000, wave: r.waves[wave.get(d.deviceId) ?? 0]?.name ?? '', previous: d.previous, notifiedAt: d.notifiedAt,
    status: 'replaced', reason: `${leftOut('its box')} (now ${d.by}); edgefleet devices revoke ${d.deviceId} takes it off the fleet`,
  }));
}
