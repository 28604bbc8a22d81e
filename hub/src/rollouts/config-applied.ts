// A configuration rollout's config_applied gate, beyond install_success's arithmetic (gates.ts): the told
// devices that stayed offline are left out, and the note names the devices the gate waits on or failed
// for (docs/rollouts.md "Configuration rollouts", docs/decisions/0084-one-configuration-rollout-per-device.md).
import type { ReportedState } from '@edgefleet/shared';
import type { Store } from '../store/index.js';

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
