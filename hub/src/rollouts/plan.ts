// Creating a rollout (docs/rollouts.md "The rollout resource"): the request with its defaults, checked
// against the registry, the devices and the active rollouts, then every device of the target placed.
import { randomBytes } from 'node:crypto';
import { AppError, DEFAULT_WAVES, GateConfig, SHADOW_WAVE, type RolloutCreate } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord, RolloutDeviceRow } from '../store/rollouts-repo.js';
import { targetMatches } from '../deployments/target.js';
import { place } from './cohort.js';

/** Devices of a target (not revoked), with their tags. */
export function targetDevices(store: Store, target: RolloutCreate['target']): string[] {
  return store.devices.targetable().filter((d) => targetMatches(target, d.id, d.tags)).map((d) => d.id);
}

/** The version of `model` a device runs now (its newest deployment), or null. */
export function currentVersion(store: Store, deviceId: string, model: string): string | null {
  return store.deployments.effectiveFor(deviceId).find((e) => e.model === model)?.version ?? null;
}

export function placeDevice(store: Store, rolloutId: string, model: string, deviceId: string): RolloutDeviceRow {
  return { deviceId, place: place(rolloutId, deviceId), previous: currentVersion(store, deviceId, model), notifiedAt: null };
}

/**
 * Checks a rollout request and builds its record and device rows (nothing stored). Refuses an unknown or
 * deprecated version, unknown devices in the target, and a second active rollout of the same model over
 * overlapping devices (CONFLICT naming it).
 */
export function planRollout(store: Store, req: RolloutCreate, actor: string, now: Date): { record: RolloutRecord; devices: RolloutDeviceRow[] } {
  store.models.assignable(req.model, req.version);
  const ids = targetDevices(store, req.target);
  if (req.target.devices) {
    const known = new Set(ids);
    const missing = req.target.devices.filter((id) => !known.has(id));
    if (missing.length) throw new AppError('NOT_FOUND', `target.devices: unknown or revoked devices ${missing.join(', ')}`);
  }
  const mine = new Set(ids);
  for (const other of store.rollouts.active(req.model)) {
    const overlap = (other.target.all && req.target.all) ? ids.slice(0, 3) : targetDevices(store, other.target).filter((d) => mine.has(d)).slice(0, 3);
    if (overlap.length || (other.target.all && req.target.all)) {
      throw new AppError('CONFLICT', `rollout ${other.id} (${other.model} ${other.version}, ${other.state}) is active over the same devices${overlap.length ? ` (${overlap.join(', ')}${overlap.length === 3 ? ', ...' : ''})` : ''}: abort it or wait for it to finish`, { details: { rollout: other.id } });
    }
  }
  const id = `ro-${randomBytes(5).toString('hex')}`;
  const devices = ids.map((d) => placeDevice(store, id, req.model, d));
  // Control devices run the version most of the target runs now.
  const tally = new Map<string, number>();
  for (const d of devices) if (d.previous && d.previous !== req.version) tally.set(d.previous, (tally.get(d.previous) ?? 0) + 1);
  const fromVersion = [...tally.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
  const given = req.waves ?? [...DEFAULT_WAVES];
  // The shadow stage is a first wave over the first wave's devices whose devices run the new version in
  // shadow (docs/decisions/0032-shadow-evaluation.md): it needs devices running a version to shadow.
  if (req.shadow && fromVersion === null) {
    throw new AppError('INVALID_INPUT', `shadow: no device of the target runs a version of ${req.model} other than ${req.version}; expected devices to run the candidate beside (start without a shadow stage)`);
  }
  const first = given[0]!;
  const waves: RolloutRecord['waves'] = req.shadow
    ? [{ name: SHADOW_WAVE, percent: first.percent, ...(first.minDevices !== undefined ? { minDevices: first.minDevices } : {}), bakeSec: req.shadow.bakeSec, shadow: req.shadow }, ...given]
    : given;
  const at = now.toISOString();
  const record: RolloutRecord = {
    id, model: req.model, version: req.version, fromVersion, target: req.target, waves, gates: GateConfig.parse(req.gates ?? {}),
    advance: req.advance, onFailure: req.onFailure, state: 'running', currentWave: 0,
    progress: waves.map(() => ({ state: 'pending', startedAt: null, bakeUntil: null, evaluatingSince: null, gates: [] })),
    deploymentId: null, reason: req.reason, stateReason: null, createdBy: actor, createdAt: at, updatedAt: at,
  };
  return { record, devices };
}
