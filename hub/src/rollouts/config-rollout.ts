// Configuration rollouts (docs/rollouts.md "Configuration rollouts", docs/decisions/0045-config-rollouts-and-replay-gate.md):
// a new version of one scope's agent configuration document walks the same waves, bake, gates and
// rollback as a model version, driven by the same engine. What differs is here: the plan (the scope's
// devices; everyone ran the previous document), telling a wave (their desired documents now layer the
// new version; until then config/repo.ts holds them at the previous one), the gates (the configuration
// applied or refused, agent restarts, and error rate and latency over every model the devices run against
// control devices still on the previous document) and the rollback (the previous document written again
// as the scope's next version).
import { randomBytes } from 'node:crypto';
import { AppError, notFound, DEFAULT_WAVES, GateConfig, MAX_DEVICE_SHARE_DEFAULT, MAX_RESTARTS_DEFAULT, type ConfigRolloutCreate, type DeployTarget, type DesiredDocument, type ReportedState, type RingTags } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutDeviceRow, RolloutRecord } from '../store/rollouts-repo.js';
import { ConfigService, parseScope, scopeName, type ConfigScope } from '../config/service.js';
import { emptyStats, addStats, type GateData, type GroupStats } from './gate-data.js';
import { evaluateGates, type InstallCounts, type WaveGates } from './gates.js';
import { boundedStats } from './device-share.js';
import { place, waveOf } from './cohort.js';
import { checkRings, ringTagsOf, sharedWith, targetDevices } from './plan.js';
import { appliedNote, waitForHeld } from './config-applied.js';
import { leaveOutOffline, noteSilentOffline } from './offline.js';
import { replacedNote } from './replaced.js';
import { refuseRolloutDevices, rivalRollouts, rolloutSubject } from '../deployments/target.js';

const HOUR_MS = 3_600_000;
/** Gates of a model rollout that say nothing of a configuration (per-model histograms, install preflight). */
const MODEL_ONLY = new Set(['output_shift', 'preflight_p95', 'input_drift']);

/** The devices a scope's document reaches, as a rollout target. */
export function scopeTarget(s: ConfigScope): DeployTarget {
  return s.kind === 'fleet' ? { all: true } : s.kind === 'tag' ? { tags: { [s.key]: s.value } } : { devices: [s.deviceId] };
}

export const configModel = (scope: string): string => `config:${scope}`;

export function configDevice(rolloutId: string, deviceId: string, fromVersion: number): RolloutDeviceRow {
  return { deviceId, place: place(rolloutId, deviceId), previous: String(fromVersion), notifiedAt: null };
}

/**
 * Checks a configuration rollout request and builds its record and device rows (nothing stored): the
 * settings as PUT /config checks them, the scope's devices, no other active configuration rollout over
 * the same devices, the rings as for a model rollout.
 */
export function planConfigRollout(store: Store, config: ConfigService, req: ConfigRolloutCreate, actor: string, now: Date, requireRing?: RingTags): { record: RolloutRecord; devices: RolloutDeviceRow[]; scope: ConfigScope } {
  const scope = parseScope(req.scope);
  const name = scopeName(scope);
  if (scope.kind === 'device' && !store.devices.exists(scope.deviceId)) throw notFound('device', scope.deviceId, `scope: no device "${scope.deviceId}"`);
  if (req.id && store.rollouts.has(req.id)) throw new AppError('CONFLICT', `id: rollout ${req.id} exists already: preview again for a new id`);
  const target = scopeTarget(scope);
  const ids = targetDevices(store, target);
  if (!ids.length) throw new AppError('INVALID_INPUT', `scope ${name} reaches no device: expected at least one to roll it to (store it without a rollout: edgefleet config set without --rollout, or PUT /api/v1/config/${name})`);
  // Every other configuration rollout, whatever its scope: the devices it holds (also those that left its
  // scope since) and those its scope reaches now (docs/decisions/0076-one-active-rollout-per-device.md).
  for (const other of rivalRollouts(store, { model: configModel(name), config: true })) {
    const overlap = sharedWith(store, other, ids).slice(0, 3);
    if (overlap.length) throw new AppError('CONFLICT', `configuration rollout ${other.id} (${rolloutSubject(other)}, ${other.state}) is active over the same devices (${overlap.join(', ')}): wait for it to finish, or roll it back first`, { details: { rollout: other.id } });
  }
  const same = config.unchanged(scope, req.settings);
  if (same) throw new AppError('INVALID_INPUT', `${name} version ${same.version} holds these settings already: nothing to roll out`);
  const fromVersion = config.document(scope).version;
  const version = fromVersion + 1;
  const id = req.id ?? `ro-${randomBytes(5).toString('hex')}`;
  const devices = ids.map((d) => configDevice(id, d, fromVersion));
  const waves = req.waves ?? [...DEFAULT_WAVES];
  checkRings(waves, waveOf(devices, waves, ringTagsOf(store, waves)), requireRing);
  const at = now.toISOString();
  const record: RolloutRecord = {
    id, model: configModel(name), version: String(version), fromVersion: String(fromVersion), target, waves, gates: GateConfig.parse(req.gates ?? {}), window: null,
    advance: req.advance, onFailure: req.onFailure, state: 'running', currentWave: 0,
    progress: waves.map(() => ({ state: 'pending', startedAt: null, bakeUntil: null, evaluatingSince: null, gates: [] })),
    deploymentId: null, reason: req.reason, stateReason: null, createdBy: actor, createdAt: at, updatedAt: at,
    config: { scope: name, version, fromVersion },
  };
  return { record, devices, scope };
}

/** What a device reports of its agent (configuration, start count). */
function reported(store: Store, deviceId: string): Pick<ReportedState, 'config' | 'starts'> {
  const r = store.devices.reportedState(deviceId);
  const c = r?.['config'] as ReportedState['config'] | undefined;
  const s = r?.['starts'];
  return { ...(c ? { config: c } : {}), ...(typeof s === 'number' ? { starts: s } : {}) };
}

export type ConfigDeviceStatus = 'applied' | 'failed' | 'restarting' | 'pending';

/**
 * Whether a told device runs the configuration it is sent now, refused it, or has not said yet. A box
 * that refused another document reports `failed` with the one it still runs (agent/src/sync/config-apply.ts):
 * when that is the one it is sent (a rollback sent a refusing box back what it ran), it is applied.
 */
export function configStatus(store: Store, config: ConfigService, deviceId: string): ConfigDeviceStatus {
  const want = config.desiredFor(deviceId)?.sha256;
  const rc = reported(store, deviceId).config;
  if (!want || !rc) return 'pending';
  if (rc.status === 'failed' && rc.error?.sha256 === want) return 'failed';
  if (rc.sha256 === want) return rc.status === 'restarting' ? 'restarting' : 'applied';
  return 'pending';
}

/** Marks devices told and stores their desired documents (now layering the new version); publish them after commit. */
export function tellConfig(store: Store, r: RolloutRecord, ids: readonly string[], now: Date, storeDesired: (ids: readonly string[]) => DesiredDocument[]): DesiredDocument[] {
  return store.db.transaction(() => {
    store.rollouts.markNotified(r.id, ids, now);
    const starts = new Map<string, number>();
    for (const id of ids) {
      const n = reported(store, id).starts;
      if (n !== undefined) starts.set(id, n);
    }
    store.rollouts.setStarts(r.id, starts);
    return storeDesired(ids);
  })();
}

/** Merged numbers of every model version the devices run, over their windows in [from, to). */
function statsOver(store: Store, gateData: GateData, devices: readonly string[], from: string, to: string, share: number): GroupStats {
  const total = emptyStats();
  if (!devices.length) return total;
  const pairs = new Set<string>();
  for (const id of devices) for (const e of store.deployments.effectiveFor(id)) pairs.add(JSON.stringify([e.model, e.version]));
  const set = new Set(devices);
  for (const p of pairs) {
    const [model, version] = JSON.parse(p) as [string, string];
    // No one device carries a model's numbers (device-share.ts); the first left out is named.
    const s = boundedStats(gateData, { model, version, devices: set, from, to }, share);
    addStats(total, s);
    if (s.leftOut && !total.leftOut) total.leftOut = s.leftOut;
  }
  return total;
}

/**
 * The current wave's gates of a configuration rollout: config_applied (like install_success: a refusal
 * is a failure), reporting, predictions, model_error_rate and latency_p95 over every model the wave's
 * devices run against control devices still on the previous document (or, with none around, the same
 * devices over as long a span just before the wave), and restarts (agent starts since told).
 */
export function computeConfigWave(store: Store, gateData: GateData, r: RolloutRecord, now: Date): WaveGates {
  const config = new ConfigService(store);
  const p = r.progress[r.currentWave];
  const devices = store.rollouts.devices(r.id);
  const told = devices.filter((d) => d.notifiedAt !== null);
  const control = devices.filter((d) => d.notifiedAt === null).map((d) => d.deviceId);
  const install = { notified: told.length, active: 0, failed: 0, deferred: 0, leftOut: 0, waitingForDisk: 0 } satisfies InstallCounts;
  const active: string[] = [];
  const refused: string[] = [];
  const unsettled: RolloutDeviceRow[] = [];
  let worst: { id: string; n: number } | null = null;
  for (const d of told) {
    const s = configStatus(store, config, d.deviceId);
    if (s === 'applied') {
      install.active++;
      active.push(d.deviceId);
    } else if (s === 'failed') {
      install.failed++;
      refused.push(d.deviceId);
    } else unsettled.push(d);
    const now_ = reported(store, d.deviceId).starts;
    if (d.starts !== null && d.starts !== undefined && now_ !== undefined && (!worst || now_ - d.starts > worst.n)) worst = { id: d.deviceId, n: now_ - d.starts };
  }
  const from = p?.startedAt ?? r.createdAt;
  const to = new Date(Math.ceil((now.getTime() + 1) / HOUR_MS) * HOUR_MS).toISOString();
  const share = r.gates.maxDeviceShare ?? MAX_DEVICE_SHARE_DEFAULT;
  const wave = statsOver(store, gateData, active, from, to, share);
  let ctl = statsOver(store, gateData, control, from, to, share);
  const short = ctl.count < Math.max(1, r.gates.minPredictions); // none is no control, also under minPredictions 0
  const online = control.length && short ? store.devices.seenSince(from) : new Set<string>();
  const awaitingControl = control.some((id) => online.has(id));
  if (short && !awaitingControl) {
    const span = now.getTime() - Date.parse(from);
    ctl = statsOver(store, gateData, devices.map((d) => d.deviceId), new Date(Date.parse(from) - span).toISOString(), from, share);
  }
  const offline = leaveOutOffline(store, r, unsettled, told.length, now, { done: 'applied', then: 'sent the configuration' });
  install.notified -= offline.away.length; // left out: sent the document when they reconnect
  // Active devices that sent no window yet and are switched off: said on reporting, as for a model (offline.ts).
  const gates = noteSilentOffline(store, evaluateGates({ cfg: r.gates, install, wave, control: ctl, reference: undefined, preflightP95: [], awaitingControl })
    .filter((g) => !MODEL_ONLY.has(g.name))
    .map((g) => (g.name === 'install_success' ? waitForHeld(store, r, { ...g, name: 'config_applied' as const, ...appliedNote(store, refused, [offline.note, replacedNote(store, r.id)].filter((n) => n !== null).join('; ') || null, g.note) }) : g)), active, wave.reportingDevices);
  const max = r.gates.maxRestarts ?? MAX_RESTARTS_DEFAULT;
  gates.push({
    name: 'restarts', value: worst?.n ?? null, threshold: max, verdict: worst && worst.n > max ? 'fail' : 'pass', blocking: true,
    samples: { wave: told.filter((d) => d.starts !== null && d.starts !== undefined).length, control: 0 }, against: 'absolute',
    note: worst ? `most agent starts since told: ${worst.n} (${worst.id}); a setting applied by restart costs one` : 'no device reports its start count',
  });
  return { gates, install, away: offline.away, offlineNote: offline.note };
}

/**
 * Rolls a configuration rollout back: the previous document (none: an empty one) is written again as the
 * scope's next version, so every device of the scope, told or not, is sent what it ran before. Run it in
 * the caller's transaction before the rollout leaves the active states; returns the version written.
 *
 * Only while the scope's newest version is the one the rollout wrote (docs/rollouts.md "Operator actions"):
 * a completed rollout releases the scope, and a document written since (a PUT, another rollout) is newer
 * than the rollout's; writing the previous settings over it would discard it, so that is refused with
 * CONFLICT. Checked here, inside the transaction that writes, so no write can come between.
 */
export function restorePrevious(store: Store, r: RolloutRecord, actor: string, reason: string, now: Date): number {
  const c = r.config!;
  const config = new ConfigService(store);
  const scope = parseScope(c.scope);
  const current = config.document(scope);
  if (current.version !== c.version) {
    throw new AppError('CONFLICT', `rollout ${r.id} is ${r.state}: ${c.scope} is at configuration version ${current.version} now (written by ${current.by ?? 'nobody'} at ${current.at ?? '-'}), not version ${c.version} this rollout wrote; a rollback would write ${c.fromVersion ? `version ${c.fromVersion}'s settings` : 'empty settings'} over it: change ${c.scope} with config set instead`, {
      details: { rollout: r.id, state: r.state, scope: c.scope, currentVersion: current.version, rolloutVersion: c.version },
    });
  }
  // A completed rollout holds no device: the scope's devices may be another configuration rollout's now,
  // and writing this scope would change what that one judges (docs/decisions/0088-one-configuration-rollout-per-device.md).
  if (r.state === 'completed') refuseRolloutDevices(store, r, config.reach(scope), `${c.scope}, which rolling back ${r.id} would write`, null);
  const prev = c.fromVersion ? config.document(scope, c.fromVersion).settings : {};
  return config.repo.put(c.scope, prev, actor, `rollback of rollout ${r.id}: ${reason}`, now);
}
