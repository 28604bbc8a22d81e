// A configuration rollout's config_applied gate, beyond install_success's arithmetic (gates.ts): the told
// devices that stayed offline are left out, the last wave waits for devices of the scope another
// configuration rollout holds, and the note names the devices the gate waits on or failed for (docs/rollouts.md "Configuration rollouts", docs/decisions/0088-one-configuration-rollout-per-device.md).
import type { GateResult, ReportedState } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import { rivalRollouts } from '../deployments/target.js';
import { heldByOthers, targetDevices } from './plan.js';

const some = (ids: readonly string[], text: (id: string) => string): string => `${ids.slice(0, 3).map(text).join(', ')}${ids.length > 3 ? `, … (${ids.length} in all)` : ''}`;

/**
 * Whether a told device that has not applied (or refused) the configuration is offline and has been since
 * `awayMs` (gates.deferTimeoutSec) after it was told: it is left out of the gate, as a device deferring
 * past that time is left out of a model's install_success, and takes the document when it reconnects.
 * Without this one box switched off holds the wave until stuckSec and again after each resume, and the
 * only way on is an abort, which for a configuration rolls every box back.
 */
export function awaySince(store: Store, d: { deviceId: string; notifiedAt: string | null }, now: Date, awayMs: number): boolean {
  const dev = store.devices.get(d.deviceId);
  const before = now.getTime() - awayMs;
  return !dev.online && d.notifiedAt !== null && Date.parse(d.notifiedAt) <= before && (dev.lastSeen === null || Date.parse(dev.lastSeen) <= before);
}

const lastSeen = (store: Store, id: string): string => store.devices.get(id).lastSeen ?? 'never seen';

/**
 * config_applied's note: which told devices refused the configuration and why (the first one's own words:
 * once rolled back, the agent goes back to the previous document and no longer reports the refusal), which
 * have not applied it yet (offline ones with when they were last seen), and which were left out offline;
 * then the note install_success had (devices revoked).
 */
export function appliedNote(store: Store, d: { refused: readonly string[]; waiting: readonly string[]; away: readonly string[] }, awaySec: number, base: string | undefined): { note?: string } {
  const notes: string[] = [];
  if (d.refused.length) {
    const e = (store.devices.reportedState(d.refused[0]!)?.['config'] as ReportedState['config'] | undefined)?.error;
    notes.push(`${d.refused.length} refused the configuration: ${some(d.refused, (id) => id)}${e ? ` (${d.refused.length > 1 ? `${d.refused[0]}: ` : ''}${e.code} ${e.message.slice(0, 400)})` : ''}`);
  }
  if (d.waiting.length) {
    notes.push(`${d.waiting.length} not applied yet: ${some(d.waiting, (id) => (store.devices.get(id).online ? id : `${id} offline since ${lastSeen(store, id)}`))}`);
  }
  if (d.away.length) {
    notes.push(`${d.away.length} offline for gates.deferTimeoutSec (${awaySec} s) since told: left out, sent the configuration when they reconnect (${some(d.away, (id) => `${id} since ${lastSeen(store, id)}`)})`);
  } else if (d.waiting.some((id) => !store.devices.get(id).online)) {
    notes.push(`an offline device is left out once offline for gates.deferTimeoutSec (${awaySec} s) since told`);
  }
  if (base) notes.push(base);
  return notes.length ? { note: notes.join('; ') } : {};
}

/**
 * In the last wave, config_applied does not pass while devices of the scope wait for another configuration
 * rollout that holds them (engine.ts places them once it ended): completing would release the scope's hold,
 * sending them the new version outside both rollouts' judgement, under the other rollout's gates
 * (docs/decisions/0088-one-configuration-rollout-per-device.md). Pending, named in the note; stuckSec bounds it.
 */
export function waitForHeld(store: Store, r: RolloutRecord, g: GateResult): GateResult {
  if (r.currentWave !== r.waves.length - 1) return g;
  const placed = new Set(store.rollouts.devices(r.id).map((d) => d.deviceId));
  const out = targetDevices(store, r.target).filter((id) => !placed.has(id));
  const held = out.length ? heldByOthers(store, r) : new Set<string>();
  const waiting = out.filter((id) => held.has(id));
  if (!waiting.length) return g;
  const by = rivalRollouts(store, r).find((o) => o.id !== r.id && store.rollouts.devices(o.id).some((d) => d.deviceId === waiting[0]))?.id ?? '?';
  const note = `${waiting.length} of the scope wait for configuration rollout ${by} (${some(waiting, (id) => id)}): the last wave passes once they joined and applied it`;
  return { ...g, verdict: g.verdict === 'pass' ? 'pending' : g.verdict, note: g.note ? `${g.note}; ${note}` : note };
}
