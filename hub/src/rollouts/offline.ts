// Told boxes switched off during a rollout, model or configuration alike (docs/rollouts.md "Gates",
// docs/decisions/0093-offline-boxes-and-re-tagged-devices.md): a told device that has neither installed
// (applied) nor failed (refused) and has been offline since gates.deferTimeoutSec after it was told is
// left out of install_success (config_applied), as a device deferring past that time is (decision 0031),
// so one box switched off does not hold the wave until stuckSec after every resume, where the only other
// way on is an abort (which rolls every box back). Its document waits for it. Not when the wave would
// then be judged on fewer than its minDevices or on less than half of its told devices: those wait.
import type { RolloutDeviceRow, RolloutRecord } from '../store/rollouts-repo.js';
import type { Store } from '../store/index.js';
import { DEFER_TIMEOUT_DEFAULT_SEC } from './plan.js';

/** Up to three of `ids` by `text`, then how many in all. */
export const some = (ids: readonly string[], text: (id: string) => string = (id) => id): string => `${ids.slice(0, 3).map(text).join(', ')}${ids.length > 3 ? `, … (${ids.length} in all)` : ''}`;

const lastSeen = (store: Store, id: string): string => store.devices.get(id).lastSeen ?? 'never seen';

/** Whether a told device is offline and has been since `awayMs` (gates.deferTimeoutSec) after it was told. */
export function awaySince(store: Store, d: Pick<RolloutDeviceRow, 'deviceId' | 'notifiedAt'>, now: Date, awayMs: number): boolean {
  const before = now.getTime() - awayMs;
  // The told time first: a wave's devices are read from the store only once the time has passed.
  if (d.notifiedAt === null || Date.parse(d.notifiedAt) > before) return false;
  const dev = store.devices.get(d.deviceId);
  return !dev.online && (dev.lastSeen === null || Date.parse(dev.lastSeen) <= before);
}

export interface Offline {
  /** Left out of the gate: sent the version (document) when they reconnect. */
  away: string[];
  /** The others of `unsettled`: the gate waits for them. */
  waiting: string[];
  /** The gate's note about them, if any. */
  note: string | null;
}

/** What a device does with the rollout's subject: `installed` and `installs the version` for a model. */
export interface Subject { done: string; then: string }

/**
 * Which of `unsettled` (told devices that have neither installed nor failed) are left out as offline.
 * `told` counts the devices the gate judges before this (told, less those left out for deferring).
 */
export function leaveOutOffline(store: Store, r: RolloutRecord, unsettled: readonly RolloutDeviceRow[], told: number, now: Date, what: Subject): Offline {
  const sec = r.gates.deferTimeoutSec ?? DEFER_TIMEOUT_DEFAULT_SEC;
  let away = unsettled.filter((d) => awaySince(store, d, now, sec * 1000)).map((d) => d.deviceId);
  const notes: string[] = [];
  const named = (id: string) => (store.devices.get(id).online ? id : `${id} offline since ${lastSeen(store, id)}`);
  const since = (id: string) => `${id} since ${lastSeen(store, id)}`;
  // A wave judged on the few boxes left on would pass (or fail) on one box's result: its minDevices, and
  // most of its told devices, are the least it is judged on.
  const judged = told - away.length;
  const min = Math.max(1, r.waves[r.currentWave]?.minDevices ?? 0);
  if (away.length && (judged < min || 2 * judged < told)) {
    const why = judged < min ? `fewer than its minDevices ${min}` : `not most of the ${told} told`;
    notes.push(`${away.length} of the ${told} told offline for gates.deferTimeoutSec (${sec} s) since told (${some(away, since)}): not left out, as the wave would be judged on ${judged} device(s), ${why}; it waits for them`);
    away = [];
  }
  const out = new Set(away);
  const waiting = unsettled.map((d) => d.deviceId).filter((id) => !out.has(id));
  if (waiting.length) notes.unshift(`${waiting.length} not ${what.done} yet: ${some(waiting, named)}`);
  if (away.length) {
    notes.push(`${away.length} offline for gates.deferTimeoutSec (${sec} s) since told: left out, ${what.then} when ${away.length === 1 ? 'it reconnects' : 'they reconnect'} (${some(away, since)})`);
  } else if (notes.length === 1 && waiting.slice(0, 100).some((id) => !store.devices.get(id).online)) { // bounded: a step reads at most 100 devices for it
    notes.push(`an offline device is left out once offline for gates.deferTimeoutSec (${sec} s) since told`);
  }
  return { away, waiting, note: notes.length ? notes.join('; ') : null };
}

/**
 * The reporting gate, while pending, with words for its active devices that sent no window and are switched off
 * (at most 100 read, as above): without them a wave whose boxes are off read as a wave without traffic. Their
 * windows wait in the box's outbox and arrive when it reconnects. Model and configuration rollouts alike.
 */
export function noteSilentOffline<G extends { name: string; verdict: string; note?: string }>(store: Store, gates: G[], active: readonly string[], reporting: ReadonlySet<string>): G[] {
  const g = gates.find((x) => x.name === 'reporting');
  if (g?.verdict !== 'pending') return gates;
  const off = active.filter((id) => !reporting.has(id)).slice(0, 100).filter((id) => !store.devices.get(id).online);
  if (!off.length) return gates;
  const words = `${off.length} of them offline (${some(off, (id) => `${id} since ${lastSeen(store, id)}`)}): a box switched off sends its windows when it reconnects`;
  return gates.map((x) => (x === g ? { ...x, note: [...(x.note ? [x.note] : []), words].join('; ') } : x));
}
