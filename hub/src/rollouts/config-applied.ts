// A configuration rollout's config_applied gate, beyond install_success's arithmetic (gates.ts) and the
// told devices that stayed offline (offline.ts, as for a model): the last wave waits for devices of the scope another
// configuration rollout holds, and the note names the devices the gate waits on or failed for (docs/rollouts.md "Configuration rollouts", docs/decisions/0088-one-configuration-rollout-per-device.md).
import type { GateResult, ReportedState } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import { rivalRollouts } from '../deployments/target.js';
import { heldByOthers, targetDevices } from './plan.js';
import { some } from './offline.js';

/**
 * config_applied's note: which told devices refused the configuration and why (the first one's own words:
 * once rolled back, the agent goes back to the previous document and no longer reports the refusal), then
 * what offline.ts says of those not applied yet and those left out offline, then the note install_success
 * had (devices revoked).
 */
export function appliedNote(store: Store, refused: readonly string[], offline: string | null, base: string | undefined): { note?: string } {
  const notes: string[] = [];
  if (refused.length) {
    const e = (store.devices.reportedState(refused[0]!)?.['config'] as ReportedState['config'] | undefined)?.error;
    notes.push(`${refused.length} refused the configuration: ${some(refused)}${e ? ` (${refused.length > 1 ? `${refused[0]}: ` : ''}${e.code} ${e.message.slice(0, 400)})` : ''}`);
  }
  if (offline) notes.push(offline);
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
  const note = `${waiting.length} of the scope wait for configuration rollout ${by} (${some(waiting)}): the last wave passes once they joined and applied it`;
  return { ...g, verdict: g.verdict === 'pass' ? 'pending' : g.verdict, note: g.note ? `${g.note}; ${note}` : note };
}
