// Operator actions on a rollout, each with a reason and an audit entry (docs/rollouts.md "Operator
// actions"), and the rollout as the API shows it.
import { AppError, type GateName, type Rollout, type WaveState } from '@edgefleet/shared';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import type { Store } from '../store/index.js';
import { waveOf } from './cohort.js';
import { currentVersion, ringTagsOf } from './plan.js';
import { advance, endShadow, inShadowStage, ranBefore, rollback, computeGates, stopOpenWaves, stuckFrom } from './judge.js';
import type { Actor, RolloutEngine, RolloutEngineDeps } from './engine.js';
import { ConfigService } from '../config/service.js';
import { configStatus } from './config-rollout.js';
import { acceptGates, unacceptGates } from './accept.js';
import { promoteFull } from './full.js';
import { waysOn } from './ways-on.js';
import { stillRollingBack } from './rollback-status.js';
import { cut, withHad } from './not-installed.js';
import { replacedRows } from './replaced.js';

export type RolloutActionName = 'promote' | 'pause' | 'resume' | 'abort' | 'rollback' | 'unaccept';

/** What an action may carry besides its reason: promote's gates to accept and `full`, unaccept's gates. */
export interface ActOptions {
  acceptGates?: readonly GateName[] | undefined;
  full?: boolean | undefined;
  gates?: readonly GateName[] | undefined;
}

function refuse(r: RolloutRecord, action: string, expected: string): never {
  throw new AppError('CONFLICT', `rollout ${r.id} is ${r.state}${r.state === 'running' ? ` (wave ${r.waves[r.currentWave]?.name} ${r.progress[r.currentWave]?.state})` : ''}: ${action} expects ${expected}; ${waysOn(r)}`, {
    details: { rollout: r.id, state: r.state, wave: r.waves[r.currentWave]?.name ?? null, waveState: r.progress[r.currentWave]?.state ?? null },
  });
}

/**
 * Rolling back a model rollout that ended (completed or aborted) sends its told devices the versions they
 * ran before. Once one of them was given another version since (a deployment, a later rollout), that would
 * undo it, so the rollback is refused naming them (docs/rollouts.md "Operator actions"). While running or
 * paused the rollout still owns its devices, and its gates roll it back without this check.
 */
function refuseIfMovedOn(store: Store, r: RolloutRecord): void {
  // In a shadow stage not passed no device switched: the rollback moves none (judge.ts rollback).
  if (inShadowStage(r)) return;
  const moved = store.rollouts.devices(r.id)
    .filter((d) => ranBefore(r, d) !== null)
    .map((d) => ({ id: d.deviceId, runs: currentVersion(store, d.deviceId, r.model) }))
    .filter((d) => d.runs !== r.version);
  if (!moved.length) return;
  const named = moved.slice(0, 3).map((d) => `${d.id} ${d.runs ?? 'no version'}`).join(', ');
  throw new AppError('CONFLICT', `rollout ${r.id} is ${r.state}: ${moved.length} device(s) it would roll back run another version of ${r.model} than its ${r.version} now (${named}${moved.length > 3 ? ', ...' : ''}); a rollback would undo that: deploy the version you want instead`, {
    details: { rollout: r.id, state: r.state, devices: moved.slice(0, 20) },
  });
}

/** Deployment statuses of a told device that has not switched to the version yet, and still will (its desired document names it). */
const ON_ITS_WAY: ReadonlySet<string> = new Set(['pending', 'downloading', 'activating', 'deferred', 'waiting_for_disk']);

/** The told devices of model rollout `r` not switched yet (offline, deferred to a window, waiting for disk), by place, with their status. */
function stillToSwitch(store: Store, r: RolloutRecord): Array<{ id: string; status: string }> {
  if (r.deploymentId === null) return [];
  const status = new Map(store.deployments.get(r.deploymentId).devices.map((d) => [d.deviceId, d.status]));
  return store.rollouts.devices(r.id).filter((d) => d.notifiedAt !== null)
    .map((d) => ({ id: d.deviceId, status: status.get(d.deviceId) ?? 'pending' })).filter((d) => ON_ITS_WAY.has(d.status));
}

/** An abort's words for the told devices that still switch after it (docs/rollouts.md "Operator actions"). */
function switchesLater(r: RolloutRecord, later: ReadonlyArray<{ id: string; status: string }>): string {
  const named = later.slice(0, 3).map((d) => `${d.id} ${d.status}`).join(', ');
  return `${later.length} device(s) told have not switched yet and still switch to ${r.version} when they can (${named}${later.length > 3 ? ', ...' : ''}): `
    + `edgefleet rollout rollback ${r.id} --reason ... sends every told device back`;
}

export async function act(engine: RolloutEngine, deps: RolloutEngineDeps, id: string, action: RolloutActionName, reason: string, actor: Actor, opts: ActOptions = {}): Promise<RolloutRecord> {
  await engine.settle();
  const now = deps.clock.now();
  const r = deps.store.rollouts.get(id);
  const p = r.progress[r.currentWave];
  const w = r.waves[r.currentWave];
  switch (action) {
    case 'promote': {
      // With gates to accept: they no longer block the current wave, judged again now (accept.ts).
      if (opts.acceptGates?.length) acceptGates(engine, r, opts.acceptGates, reason, now, actor);
      // The rest of the fleet at once once this wave passes (full.ts).
      if (opts.full) {
        promoteFull(engine, r, reason, now, actor);
        break;
      }
      if (opts.acceptGates?.length) break;
      // Skips the rest of the bake (the gates still judge), or moves a passed wave on under manual advance.
      if (r.state !== 'running' || !p || !w) refuse(r, action, 'a running rollout');
      if (p.state === 'baking') {
        const left = p.bakeUntil ? Math.max(0, Date.parse(p.bakeUntil) - now.getTime()) / 1000 : 0;
        p.bakeUntil = now.toISOString();
        engine.transition(r, 'rollout.promote', reason, { skippedBakeSec: Math.round(left) }, now, actor);
      } else if (p.state === 'passed') {
        advance(engine, r, now, actor, reason);
      } else refuse(r, action, 'its wave baking, or passed under manual advance');
      break;
    }
    case 'unaccept':
      unacceptGates(engine, r, opts.gates ?? [], reason, now, actor);
      break;
    case 'pause':
      if (r.state !== 'running') refuse(r, action, 'a running rollout');
      r.state = 'paused';
      r.stateReason = reason;
      engine.transition(r, 'rollout.paused', reason, {}, now, actor);
      break;
    case 'resume':
      if (r.state !== 'paused' || !p) refuse(r, action, 'a paused rollout');
      r.state = 'running';
      // The operator's reason, shown with who resumed it (as a pause's is), until the next state change.
      r.stateReason = reason;
      // A failed or stuck wave is judged again from now on.
      if (p.state === 'failed' || p.state === 'evaluating') {
        p.state = 'evaluating';
        p.evaluatingSince = now.toISOString();
      }
      engine.transition(r, 'rollout.resumed', reason, {}, now, actor);
      break;
    case 'abort':
      if (r.state !== 'running' && r.state !== 'paused') refuse(r, action, 'a running or paused rollout');
      // A configuration rollout cannot leave some devices on each document without holding them forever:
      // stopping it restores the previous document everywhere (decision 0045).
      if (r.config) {
        await rollback(engine, deps, r, now, `aborted: ${reason}`, actor);
        break;
      }
      stopOpenWaves(r);
      r.state = 'aborted';
      {
        // Told devices keep what they were told: one not switched yet still switches when it can. Say so.
        const later = inShadowStage(r) ? [] : stillToSwitch(deps.store, r);
        r.stateReason = later.length ? `${reason}; ${switchesLater(r, later)}` : reason;
        engine.transition(r, 'rollout.aborted', reason, { notified: deps.store.rollouts.devices(r.id).filter((d) => d.notifiedAt !== null).length, stillToSwitch: later.length }, now, actor);
      }
      // Candidates run in shadow stop with the rollout (no device switched in the stage).
      if (w?.shadow && p?.state !== 'passed') await endShadow(deps, r, false);
      break;
    case 'rollback':
      if (r.state === 'rolled_back') refuse(r, action, 'a rollout not rolled back yet');
      // A configuration rollout's rule is checked where it writes (restorePrevious in config-rollout.ts).
      if (!r.config && (r.state === 'completed' || r.state === 'aborted')) refuseIfMovedOn(deps.store, r);
      await rollback(engine, deps, r, now, reason, actor);
      break;
  }
  if (r.state === 'running') await engine.tick();
  return deps.store.rollouts.get(id);
}

const STATUS_OF_PENDING = 'not started';

/**
 * A told device's status: its deployment's; in a rolled back rollout, the deployment the rollback sent
 * took its place, so `superseded` there reads `rolled_back` (what happened to it, not the bookkeeping),
 * and so does `removed` for a device the rollback sent back (`sentBack`): undeploying the rollout's
 * deployment afterwards marks such replaced rows removed (deployments/undeploy.ts) and removes nothing.
 */
function deviceStatus(r: RolloutRecord, status: string | undefined, sentBack: boolean): string {
  if (status === undefined) return 'pending';
  if (r.state !== 'rolled_back') return status;
  return status === 'superseded' || (sentBack && status === 'removed') ? 'rolled_back' : status;
}

/**
 * A device's status and, when it is its deployment row's own, the row's reason cut as notInstalled's (a hold of the
 * hub, `BACKEND_UNSUPPORTED: …` or waiting for the box's first state report; a refusal; until when it defers): why
 * it reads `refused` or `pending`. The device's page (GET /devices/{id} `heldBack`) has a hold's reason in full.
 */
function told(status: string, row: { status: string; reason: string | null } | undefined): { status: string; reason?: string } {
  const reason = row && row.status === status ? cut(row.reason) : null;
  return reason ? { status, reason } : { status };
}

/** When the current wave, judged while running, pauses if a gate stays pending (judge.ts, docs/rollouts.md "Gates"). */
function pausesAt(r: RolloutRecord, k: number): { pausesAt?: string } {
  const p = r.progress[k];
  if (r.state !== 'running' || k !== r.currentWave || p?.state !== 'evaluating' || !p.evaluatingSince) return {};
  return { pausesAt: new Date(stuckFrom(p) + r.gates.stuckSec * 1000).toISOString() };
}

/**
 * A wave's state as shown: one that had not started when its rollout was aborted or rolled back reads
 * `skipped`, not `pending` as if it would still run (stored, it stays `pending`; decision 0118).
 */
function waveState(r: RolloutRecord, p: RolloutRecord['progress'][number] | undefined): WaveState {
  const state = p?.state ?? 'pending';
  return state === 'pending' && (r.state === 'aborted' || r.state === 'rolled_back') ? 'skipped' : state;
}

/** The rollout as GET /rollouts/{id} shows it (with devices) or the list (without). */
export function view(store: Store, r: RolloutRecord, withDevices: boolean, deviceLimit?: number): Rollout {
  const devices = store.rollouts.devices(r.id);
  const waveIndex = waveOf(devices, r.waves, ringTagsOf(store, r.waves));
  const rows = new Map(r.deploymentId === null ? [] : store.deployments.get(r.deploymentId).devices.map((d) => [d.deviceId, d]));
  const status = new Map<string, string>([...rows].map(([id, d]) => [id, d.status]));
  if (r.config) {
    // A configuration rollout's device status: its reported configuration against the one it is sent.
    const config = new ConfigService(store);
    for (const d of devices) {
      if (d.notifiedAt === null) continue;
      const s = configStatus(store, config, d.deviceId);
      // Rolled back, the settings it applied are the previous document's again (config-rollout.ts restorePrevious).
      status.set(d.deviceId, s !== 'applied' ? s : r.state === 'rolled_back' ? 'rolled_back' : 'active');
    }
  }
  const shadowed = inShadowStage(r);
  const listed = devices.slice(0, deviceLimit);
  // Its devices replaced and offline count nowhere, but are listed last, saying so (replaced.ts).
  const gone = withDevices ? store.rollouts.replaced(r.id, 1).count : 0;
  const left = gone ? replacedRows(store, r, devices, (deviceLimit ?? devices.length + gone) - listed.length) : [];
  const back = withDevices ? stillRollingBack(store, r, listed) : new Map<string, string>();
  const waves = r.waves.map((w, k) => {
    const members = devices.filter((d) => (waveIndex.get(d.deviceId) ?? Infinity) <= k);
    const p = r.progress[k];
    return {
      ...w, state: waveState(r, p), devices: members.length, notified: members.filter((d) => d.notifiedAt !== null).length,
      active: members.filter((d) => d.notifiedAt !== null && status.get(d.deviceId) === 'active').length,
      startedAt: p?.startedAt ?? null, bakeUntil: p?.bakeUntil ?? null, ...pausesAt(r, k), gates: p?.gates ?? [],
      ...(p?.full ? { full: p.full } : {}), ...(p?.notInstalled ? { notInstalled: p.notInstalled } : {}),
    };
  });
  return {
    id: r.id, model: r.model, version: r.version, fromVersion: r.fromVersion, ...(r.config ? { config: r.config } : {}), target: r.target, advance: r.advance, onFailure: r.onFailure,
    gates: r.gates, ...(r.window ? { window: r.window } : {}), ...(r.allowBackendMismatch ? { allowBackendMismatch: true as const } : {}), state: r.state, currentWave: r.currentWave, reason: r.reason, stateReason: r.stateReason, stateBy: r.stateBy ?? null, stateAt: r.stateAt ?? null, createdBy: r.createdBy,
    created: r.createdAt, updated: r.updatedAt, waves,
    ...(withDevices ? {
      ...(deviceLimit !== undefined && devices.length + gone > deviceLimit ? { devicesTotal: devices.length + gone } : {}),
      devices: listed.map((d) => ({
        deviceId: d.deviceId, place: Math.round(d.place * 1000) / 1000, wave: r.waves[waveIndex.get(d.deviceId) ?? 0]?.name ?? '', previous: d.previous,
        notifiedAt: d.notifiedAt,
        ...told(d.notifiedAt ? withHad(back.get(d.deviceId) ?? deviceStatus(r, status.get(d.deviceId), !shadowed && ranBefore(r, d) !== null), d.notInstalled ?? undefined) : STATUS_OF_PENDING, d.notifiedAt && !r.config ? rows.get(d.deviceId) : undefined),
      })).concat(left),
    } : {}),
  };
}

export { computeGates };
