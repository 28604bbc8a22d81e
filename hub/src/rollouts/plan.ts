// Creating a rollout (docs/rollouts.md "The rollout resource"): the request with its defaults, checked
// against the registry, the devices and the active rollouts, then every device of the target placed.
import { randomBytes } from 'node:crypto';
import { AppError, DEFAULT_WAVES, DEFER_TIMEOUT_MAX_SEC, GateConfig, PREVIEW_DEVICES_PER_WAVE, SHADOW_WAVE, nextRunIn, parseCron, ringCovers, waveLabel, type MaintenanceWindow, type RingTags, type RolloutCreate, type RolloutPreview, type RolloutPreviewRequest, type Wave } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord, RolloutDeviceRow } from '../store/rollouts-repo.js';
import { rivalRollouts, targetDeviceIds, targetMatches } from '../deployments/target.js';
import { place, waveOf, type TagsOf } from './cohort.js';
import { overrideHint, refuseUnloadableBackends } from '../deployments/backends.js';
import { replacedOfflineIds } from '../store/device-replacements.js';

/**
 * Of `ids`, the devices a rollout counts: not those replaced by a new enrollment of their box while offline, which
 * leave every rollout (rollouts-repo.ts devices(), docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md).
 * Creation checks (rings, "given already", overlaps) judge the devices the waves will have.
 */
export function inRollouts(store: Store, ids: string[]): string[] {
  const out = replacedOfflineIds(store.db);
  return out.size ? ids.filter((d) => !out.has(d)) : ids;
}

/** Devices of a target a rollout counts (not revoked, not replaced and offline: inRollouts). */
export function targetDevices(store: Store, target: RolloutCreate['target']): string[] {
  return inRollouts(store, store.devices.targetable().filter((d) => targetMatches(target, d.id, d.tags)).map((d) => d.id));
}

/**
 * The devices other running or paused rollouts of `r`'s model (of a configuration rollout: every other
 * configuration rollout, rivalRollouts) hold in their rows: placed, told or not, also after they left
 * that rollout's target. A device is one active rollout's at a time (docs/rollouts.md "Cohorts"): one that
 * joins a second rollout's target waits until the first has ended.
 */
export function heldByOthers(store: Store, r: Pick<RolloutRecord, 'id' | 'model' | 'config'>): Set<string> {
  const held = new Set<string>();
  for (const other of rivalRollouts(store, r)) {
    if (other.id !== r.id) for (const d of store.rollouts.devices(other.id)) held.add(d.deviceId);
  }
  return held;
}

/** Which of `ids` another active rollout shares: placed in its rows (also after they left its target) or reached by its target now. */
export function sharedWith(store: Store, other: RolloutRecord, ids: readonly string[]): string[] {
  const theirs = new Set([...targetDevices(store, other.target), ...store.rollouts.devices(other.id).map((d) => d.deviceId)]);
  return ids.filter((d) => theirs.has(d));
}

/** The version of `model` a device runs now (its newest deployment), or null. */
export function currentVersion(store: Store, deviceId: string, model: string): string | null {
  return store.deployments.effectiveFor(deviceId).find((e) => e.model === model)?.version ?? null;
}

/** The devices' tags for the rings of `waves` (read only when a wave is a ring). */
export function ringTagsOf(store: Store, waves: readonly Wave[]): TagsOf {
  if (!waves.some((w) => w.tags)) return () => undefined;
  const tags = new Map(store.devices.targetable().map((d) => [d.id, d.tags]));
  return (id) => tags.get(id);
}

const pairs = (t: RingTags) => Object.entries(t).map(([k, v]) => `${k}=${v}`).join(', ');

/**
 * Under the hub's `rollouts.requireStagingRing`, refuses a rollout whose first wave is not a ring
 * selecting (at least) those tags; refuses a ring holding fewer devices than max(1, minDevices), and a
 * percent wave before the last that adds no device (5 % of 10 devices, no minDevices: its gates would
 * wait on no device until stuckSec paused the rollout, and only an abort ended it).
 */
export function checkRings(waves: readonly Wave[], members: Map<string, number>, required: RingTags | undefined): void {
  const first = waves[0];
  if (required && first && !ringCovers(first.tags, required)) {
    throw new AppError('BAD_REQUEST', `waves[0].tags: this hub requires every rollout to start with a staging ring selecting ${pairs(required)} (hub config rollouts.requireStagingRing); got wave ${waveLabel(first)}: add e.g. --wave staging:${Object.entries(required).map(([k, v]) => `tag=${k}=${v}`).join(':')}:bake=30m first`);
  }
  for (const [k, w] of waves.entries()) {
    if (!w.tags) continue;
    const n = [...members.values()].filter((x) => x === k).length;
    const min = Math.max(1, w.minDevices ?? 0);
    if (n < min) throw new AppError('BAD_REQUEST', `waves[${k}].tags: the ring ${waveLabel(w)} holds ${n} device(s) of the target: expected at least ${min} with ${pairs(w.tags)}`);
  }
  const total = members.size;
  for (const [k, w] of waves.entries()) {
    if (w.tags || k === waves.length - 1 || total === 0) continue;
    if (![...members.values()].includes(k)) {
      throw new AppError('BAD_REQUEST', `waves[${k}].percent: the wave ${waveLabel(w)} takes none of the ${total} device(s) of the target (each device's place is drawn from the rollout id): expected minDevices (e.g. --wave ${w.name}:${w.percent ?? 0}%:min=1) or a larger percent`);
    }
  }
}

export function placeDevice(store: Store, rolloutId: string, model: string, deviceId: string): RolloutDeviceRow {
  return { deviceId, place: place(rolloutId, deviceId), previous: currentVersion(store, deviceId, model), notifiedAt: null };
}

/** gates.deferTimeoutSec without a window, and the margin added to the longest wait with one. */
export const DEFER_TIMEOUT_DEFAULT_SEC = 3600;

/**
 * The longest a device told at the worst moment (just as a window closes) waits for the next one to
 * open, over the next 35 days from `from`, in seconds (DEFER_TIMEOUT_MAX_SEC when it opens less often).
 */
export function longestWaitSec(w: MaintenanceWindow, from: number): number {
  const c = parseCron(w.cron);
  const horizon = from + DEFER_TIMEOUT_MAX_SEC * 1000;
  let o = nextRunIn(c, from, w.timeZone);
  if (o === null) return DEFER_TIMEOUT_MAX_SEC;
  let worst = o - from;
  // Bounded: a window opening every minute needs no long scan (its gaps are a minute).
  for (let i = 0; i < 5000 && o < horizon; i++) {
    const n = nextRunIn(c, o, w.timeZone);
    if (n === null) return DEFER_TIMEOUT_MAX_SEC;
    worst = Math.max(worst, n - (o + w.durationSec * 1000));
    o = n;
  }
  if (o < horizon && worst < 0) worst = 0;
  return Math.min(DEFER_TIMEOUT_MAX_SEC, Math.ceil(Math.max(0, worst) / 1000));
}

/** gates.deferTimeoutSec when the request does not set it (decision 0031). */
export function defaultDeferTimeoutSec(w: MaintenanceWindow | undefined, now: number): number {
  return w ? Math.min(DEFER_TIMEOUT_MAX_SEC, longestWaitSec(w, now) + DEFER_TIMEOUT_DEFAULT_SEC) : DEFER_TIMEOUT_DEFAULT_SEC;
}

/**
 * Checks a rollout request and builds its record and device rows (nothing stored). Refuses an unknown or
 * deprecated version, unknown devices in the target, a second active rollout of the same model over
 * overlapping devices (CONFLICT naming it), a target whose every device is given the version already
 * (CONFLICT), and an id already used (one a preview proposed).
 */
export function planRollout(store: Store, req: RolloutCreate | RolloutPreviewRequest, actor: string, now: Date, requireRing?: RingTags): { record: RolloutRecord; devices: RolloutDeviceRow[] } {
  store.models.assignable(req.model, req.version);
  if (req.id && store.rollouts.has(req.id)) throw new AppError('CONFLICT', `id: rollout ${req.id} exists already: preview again for a new id`);
  // An id the target lists must exist and not be revoked (NOT_FOUND); one replaced and offline is left out as the waves leave it.
  const ids = inRollouts(store, targetDeviceIds(store.devices.targetable(), req.target));
  if (!req.allowBackendMismatch) refuseUnloadableBackends(store, req.model, req.version, ids, overrideHint('create the rollout'));
  for (const other of store.rollouts.active(req.model)) {
    const overlap = (other.target.all && req.target.all) ? ids : sharedWith(store, other, ids);
    if (overlap.length || (other.target.all && req.target.all)) {
      throw new AppError('CONFLICT', `rollout ${other.id} (${other.model} ${other.version}, ${other.state}) is active over the same devices${overlap.length ? ` (${overlap.slice(0, 3).join(', ')}${overlap.length > 3 ? ', ...' : ''})` : ''}: abort it or wait for it to finish`, { details: { rollout: other.id } });
    }
  }
  const id = req.id ?? `ro-${randomBytes(5).toString('hex')}`;
  const devices = ids.map((d) => placeDevice(store, id, req.model, d));
  // Nothing to roll out: waves of devices given the version already would bake with nothing to judge.
  if (devices.length > 0 && devices.every((d) => d.previous === req.version)) {
    throw new AppError('CONFLICT', `version: every device of the target (${devices.length}) is given ${req.model} ${req.version} already, so a rollout would change nothing: `
      + `expected a version they do not run, or a target with devices on another version (edgefleet deployments ls shows what each is given)`, { details: { model: req.model, version: req.version, devices: devices.length } });
  }
  // Control devices run the version most of the target runs now.
  const tally = new Map<string, number>();
  for (const d of devices) if (d.previous && d.previous !== req.version) tally.set(d.previous, (tally.get(d.previous) ?? 0) + 1);
  const fromVersion = [...tally.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
  const given = req.waves ?? [...DEFAULT_WAVES];
  checkRings(given, waveOf(devices, given, ringTagsOf(store, given)), requireRing);
  // The shadow stage is a first wave over the first wave's devices whose devices run the new version in
  // shadow (docs/decisions/0032-shadow-evaluation.md): it needs devices running a version to shadow.
  if (req.shadow && fromVersion === null) {
    throw new AppError('INVALID_INPUT', `shadow: no device of the target runs a version of ${req.model} other than ${req.version}; expected devices to run the candidate beside (start without a shadow stage)`);
  }
  const first = given[0]!;
  const waves: RolloutRecord['waves'] = req.shadow
    ? [{ name: SHADOW_WAVE, ...(first.tags ? { tags: first.tags } : { percent: first.percent }), ...(first.minDevices !== undefined ? { minDevices: first.minDevices } : {}), bakeSec: req.shadow.bakeSec, shadow: req.shadow }, ...given]
    : given;
  const at = now.toISOString();
  const gates = GateConfig.parse(req.gates ?? {});
  gates.deferTimeoutSec ??= defaultDeferTimeoutSec(req.window, now.getTime());
  const record: RolloutRecord = {
    id, model: req.model, version: req.version, fromVersion, target: req.target, waves, gates, window: req.window ?? null,
    advance: req.advance, onFailure: req.onFailure, state: 'running', currentWave: 0,
    progress: waves.map(() => ({ state: 'pending', startedAt: null, bakeUntil: null, evaluatingSince: null, gates: [] })),
    deploymentId: null, reason: req.reason ?? '', stateReason: null, createdBy: actor, createdAt: at, updatedAt: at,
    ...(req.allowBackendMismatch ? { allowBackendMismatch: true } : {}),
  };
  return { record, devices };
}

/**
 * What creating `req` would do, by the same code as create (nothing stored): each wave's devices, the
 * ones it adds listed lowest places first. Creating with the answered `id` gives exactly these waves
 * while the target's devices stay the same.
 */
export function previewRollout(store: Store, req: RolloutPreviewRequest, actor: string, now: Date, requireRing?: RingTags): RolloutPreview {
  const { record, devices } = planRollout(store, req, actor, now, requireRing);
  const index = waveOf(devices, record.waves, ringTagsOf(store, record.waves));
  const byPlace = [...devices].sort((a, b) => a.place - b.place || a.deviceId.localeCompare(b.deviceId));
  let total = 0;
  const waves = record.waves.map((w, k) => {
    const joining = byPlace.filter((d) => index.get(d.deviceId) === k);
    total += joining.length;
    return {
      ...w, devices: total, joiningCount: joining.length,
      joining: joining.slice(0, PREVIEW_DEVICES_PER_WAVE).map((d) => ({ deviceId: d.deviceId, previous: d.previous })),
    };
  });
  return { id: record.id, model: record.model, version: record.version, fromVersion: record.fromVersion, devices: devices.length, waves };
}
