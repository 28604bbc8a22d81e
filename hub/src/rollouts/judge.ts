// Judging a wave and what follows (docs/rollouts.md "Gates"): the gates from the wave's devices on the new
// version against control devices still on the previous version over the same time range; pass → next wave
// (auto) or wait for promote (manual); fail → roll back or pause; pending past gates.stuckSec → pause.
// A device deferring its switch (maintenance window, update lock) is pending for install_success until
// gates.deferTimeoutSec after it was told, then left out (decision 0031); while one is pending the wave
// is waiting, not stuck.
import { gateCondition, gateValue, type AuditAction, type DesiredDocument, type GateResult } from '@edgefleet/shared';
import type { RolloutDeviceRow, RolloutRecord, WaveProgress } from '../store/rollouts-repo.js';
import type { Store } from '../store/index.js';
import type { DeploymentService } from '../deployments/service.js';
import { emptyStats, type GateData, type ShadowStats } from './gate-data.js';
import { shadowGate, waveVerdict, type WaveGates } from './gates.js';
import { computeWave } from './model-wave.js';
import type { Actor } from './engine.js';
import { computeConfigWave, restorePrevious } from './config-rollout.js';
import { replayGate, shadowWaitingForDisk } from './replay-gate.js';
import { shadowHeldBack, withHeldNote } from './shadow-held.js';
import { withAccepted } from './accept.js';
import { PAUSED_WAYS_ON } from './ways-on.js';
import { movesOn, skipToLast } from './full.js';

export interface Transitioner {
  transition(r: RolloutRecord, action: AuditAction, reason: string | null, details: object, now: Date, actor?: Actor): void;
}

interface JudgeDeps {
  store: Store;
  deployments: DeploymentService;
  gateData: GateData;
}

/**
 * The shadow stage's gate: the candidate's shadow runs reported in the windows of the versions its devices
 * answer with, since the stage began (docs/rollouts.md "Shadow stage").
 */
/** The version a device the rollout told ran before it (what a rollback sends it back to), or null: not told, or none other. */
export function ranBefore(r: RolloutRecord, d: Pick<RolloutDeviceRow, 'notifiedAt' | 'previous'>): string | null {
  return d.notifiedAt !== null && d.previous !== null && d.previous !== r.version ? d.previous : null;
}

/** Whether the rollout stands in a shadow stage it has not passed: no device switched, so a rollback moves none. */
export function inShadowStage(r: RolloutRecord): boolean {
  return r.waves[r.currentWave]?.shadow !== undefined && r.progress[r.currentWave]?.state !== 'passed';
}

function shadowGates(deps: JudgeDeps, r: RolloutRecord, now: Date) {
  const stage = r.waves[r.currentWave]!.shadow!;
  if (stage.replay !== undefined) return [replayGate(deps.store, r, stage)];
  const p = r.progress[r.currentWave];
  const byVersion = new Map<string, string[]>();
  const told = deps.store.rollouts.devices(r.id).flatMap((d) => { const v = ranBefore(r, d); return v === null ? [] : [{ id: d.deviceId, v }]; });
  // Devices whose backend cannot load the candidate run no shadow: left out, named (shadow-held.ts).
  const { sent, held } = shadowHeldBack(deps.store, told.map((d) => d.id), r);
  const kept = new Set(sent);
  for (const d of told) if (kept.has(d.id)) byVersion.set(d.v, [...(byVersion.get(d.v) ?? []), d.id]);
  const from = p?.startedAt ?? r.createdAt;
  const to = new Date(now.getTime() + 1).toISOString();
  const total: ShadowStats = emptyStats().shadow;
  let devices = 0;
  for (const [version, ids] of byVersion) {
    devices += ids.length;
    const s = deps.gateData.stats({ model: r.model, version, devices: new Set(ids), from, to, shadowOf: r.version }).shadow;
    for (const id of s.reportingDevices) total.reportingDevices.add(id);
    total.sampled += s.sampled;
    total.dropped += s.dropped;
    total.runs += s.runs;
    total.agree += s.agree;
    total.errors += s.errors;
    if (s.latency) total.latency = total.latency ? { counts: total.latency.counts.map((c, i) => c + (s.latency!.counts[i] ?? 0)), sumMs: total.latency.sumMs + s.latency.sumMs } : s.latency;
  }
  const ids = [...byVersion.values()].flat();
  return [withHeldNote(shadowGate(stage, total, devices, shadowWaitingForDisk(deps.store, ids, r.model, r.version)), held)];
}

/**
 * Ends a rollout's shadow stage (passed, failed, aborted): its devices' next documents name no shadow;
 * passed, its devices are told again, this time to switch. Stored, then published.
 */
export async function endShadow(deps: JudgeDeps, r: RolloutRecord, passed: boolean): Promise<void> {
  const docs = deps.store.db.transaction(() => {
    if (passed) deps.store.rollouts.resetNotified(r.id);
    return deps.deployments.clearShadows(r.id);
  })();
  await deps.deployments.publishDesired(docs);
}

/** Computes the current wave's gates from the stored data (devices told to switch vs control devices). */
export function computeGates(deps: JudgeDeps, r: RolloutRecord, now: Date): GateResult[] {
  if (r.waves[r.currentWave]?.shadow) return shadowGates(deps, r, now);
  return (r.config ? computeConfigWave : computeWave)(deps.store, deps.gateData, r, now).gates;
}

/** Where a judged wave's stuck clock runs from: it began judging, or a device last deferred (waiting, not stuck). */
export function stuckFrom(p: WaveProgress, now = new Date()): number {
  return Math.max(Date.parse(p.evaluatingSince ?? now.toISOString()), p.deferredAt ? Date.parse(p.deferredAt) : 0);
}

export async function judgeWave(t: Transitioner, deps: JudgeDeps, r: RolloutRecord, now: Date): Promise<void> {
  const p = r.progress[r.currentWave];
  const wave = r.waves[r.currentWave];
  if (!p || !wave) return;
  // A shadow stage is judged by its shadow_agreement gate alone; devices deferring a switch hold a wave.
  let deferred = 0;
  let leftOut: string | null = null;
  let notInstalled: WaveGates['notInstalled'];
  let notInstalledAll: WaveGates['notInstalledAll'];
  if (wave.shadow) p.gates = shadowGates(deps, r, now);
  else {
    const c = (r.config ? computeConfigWave : computeWave)(deps.store, deps.gateData, r, now);
    p.gates = c.gates;
    notInstalled = c.notInstalled;
    notInstalledAll = c.notInstalledAll;
    deferred = c.install.deferred;
    // A pass without told devices switched off says so where the operator reads it (the audit entry, the
    // state reason once completed): rollout show then lists their status (offline.ts).
    if (c.away.length) leftOut = c.offlineNote;
  }
  p.gates = withAccepted(p.gates, p);
  const verdict = waveVerdict(p.gates);
  const numbers = { gates: p.gates.map((g) => ({ name: g.name, value: g.value, threshold: g.threshold, verdict: g.verdict, samples: g.samples })) };
  if (verdict === 'pending') {
    // Waiting on deferred devices is not being stuck: the stuck clock runs from the last step that did.
    if (deferred) p.deferredAt = now.toISOString();
    if (now.getTime() - stuckFrom(p, now) >= r.gates.stuckSec * 1000) {
      // Each gate's condition as `rollouts show` and the console print it (a latency gate without control answers
      // has no number to reach yet), with its note (what it waits for), then what the operator can do.
      const waiting = p.gates.filter((g) => g.blocking && !g.accepted && g.verdict === 'pending').map((g) => `${g.name} ${g.value === null ? 'none' : gateValue(g)} (needs ${gateCondition(g)}${g.note ? `; ${g.note}` : ''})`);
      r.state = 'paused';
      r.stateReason = `wave ${wave.name} stuck for ${r.gates.stuckSec} s with gates pending: ${waiting.join(', ')}; ${PAUSED_WAYS_ON}`;
      t.transition(r, 'rollout.paused', r.stateReason, numbers, now);
    } else {
      deps.store.rollouts.save(r); // the latest numbers, for show --watch
    }
    return;
  }
  if (verdict === 'pass') {
    p.state = 'passed';
    delete p.notInstalled; // failed before and resumed: that record is over
    if (notInstalledAll) deps.store.rollouts.keepNotInstalled(r.id, []);
    if (leftOut) p.leftOut = leftOut;
    else delete p.leftOut;
    t.transition(r, 'rollout.wave_passed', leftOut, numbers, now);
    await afterPass(t, deps, r, now);
    return;
  }
  p.state = 'failed';
  // Which told devices did not install and why, kept on the wave: its rollback marks their rows superseded.
  if (notInstalled?.devices.length) p.notInstalled = notInstalled;
  else delete p.notInstalled;
  // Every one of them, on its row: the summary names the first ones only.
  if (notInstalledAll) deps.store.rollouts.keepNotInstalled(r.id, notInstalledAll);
  t.transition(r, 'rollout.wave_failed', failureOf(r), { ...numbers, ...(p.notInstalled ? { notInstalled: p.notInstalled } : {}) }, now);
  await afterFailure(t, deps, r, now);
}

/** Why the current wave failed, from its stored gates. */
function failureOf(r: RolloutRecord): string {
  const failed = (r.progress[r.currentWave]?.gates ?? []).filter((g) => g.blocking && !g.accepted && g.verdict === 'fail').map((g) => `${g.name} ${g.value} (threshold ${g.threshold})`);
  return `wave ${r.waves[r.currentWave]?.name ?? '?'} failed its gates: ${failed.join(', ')}`;
}

// The hub's own steps pass no actor: their writes check the lease (Transitioner.transition), as every
// step of the lease holder's does.
async function afterPass(t: Transitioner, deps: JudgeDeps, r: RolloutRecord, now: Date, reason: string | null = null): Promise<void> {
  if (r.waves[r.currentWave]?.shadow) await endShadow(deps, r, true);
  if (movesOn(r)) advance(t, r, now, undefined, reason);
}

async function afterFailure(t: Transitioner, deps: JudgeDeps, r: RolloutRecord, now: Date): Promise<void> {
  const why = failureOf(r);
  if (r.onFailure === 'rollback') await rollback(t, deps, r, now, why);
  else {
    // The failure and what takes the rollout on from here, as a stuck wave's pause says it.
    r.state = 'paused';
    r.stateReason = `${why}; ${PAUSED_WAYS_ON}`;
    t.transition(r, 'rollout.paused', r.stateReason, { gates: r.progress[r.currentWave]?.gates.map((g) => ({ name: g.name, value: g.value, threshold: g.threshold, verdict: g.verdict, samples: g.samples })) ?? [] }, now);
  }
}

/**
 * A verdict stored without what follows it: the verdict and the next wave, rollback or pause are
 * separate writes with awaits between (the shadow stage's end, publishing documents), and a hub that
 * stopped there left the rollout running on a passed (auto advance) or failed wave, with nothing to step
 * it on: a failed canary stayed on the bad version. The next step finishes it; returns whether it did.
 */
export async function finishVerdict(t: Transitioner, deps: JudgeDeps, r: RolloutRecord, now: Date): Promise<boolean> {
  const p = r.progress[r.currentWave];
  if (r.state !== 'running' || !p) return false;
  if (p.state === 'passed' && movesOn(r)) {
    await afterPass(t, deps, r, now, 'the wave passed before the hub stopped');
    return true;
  }
  if (p.state !== 'failed') return false;
  await afterFailure(t, deps, r, now);
  return true;
}

/**
 * The next wave, or completed after the last. The reason (the operator's on `promote`) is followed by the
 * passed wave's note of the devices it left out as offline, so a completion by hand names them as the
 * hub's own does (docs/rollouts.md "Gates").
 */
export function advance(t: Transitioner, r: RolloutRecord, now: Date, actor: Actor | undefined, reason: string | null = null): void {
  const leftOut = r.progress[r.currentWave]?.leftOut;
  const why = (text: string | null) => (leftOut ? (text ? `${text}; ${leftOut}` : leftOut) : text);
  if (r.currentWave + 1 >= r.waves.length) {
    r.state = 'completed';
    r.stateReason = why(reason ?? 'every wave passed');
    t.transition(r, 'rollout.completed', r.stateReason, { waves: r.waves.length }, now, actor);
    return;
  }
  // Promoted to the full fleet: the waves between are skipped, the last opens (full.ts).
  const full = skipToLast(r);
  r.currentWave++;
  t.transition(r, 'rollout.wave_next', why(reason ?? (full ? `promoted to the full fleet by ${full.full.by}: ${full.full.reason}` : null)), { next: r.waves[r.currentWave]?.name, ...(full ? { skipped: full.skipped, full: full.full } : {}) }, now, actor);
}

/**
 * Every device told to switch gets a desired document naming the version it ran before (grouped by that
 * version, one deployment each); devices that ran no version of the model keep the new one. Stored with
 * the transition, then published.
 */
export async function rollback(t: Transitioner, deps: JudgeDeps, r: RolloutRecord, now: Date, reason: string, actor?: Actor): Promise<void> {
  const by = actor?.name ?? 'hub';
  if (r.config) {
    // The previous document again, as the scope's next version; told devices get it now, the others
    // already had its settings (they were held at the previous version).
    const told = deps.store.rollouts.devices(r.id).filter((d) => d.notifiedAt !== null).map((d) => d.deviceId);
    const docs = deps.store.db.transaction(() => {
      const restored = restorePrevious(deps.store, r, by, reason, now);
      stopOpenWaves(r);
      r.state = 'rolled_back';
      r.stateReason = reason;
      t.transition(r, 'rollout.rolled_back', reason, { devices: told.length, restoredVersion: restored, toSettingsOf: r.config!.fromVersion }, now, actor);
      return deps.deployments.storeDesired(told);
    })();
    await deps.deployments.publishDesired(docs);
    return;
  }
  const byPrevious = new Map<string, string[]>();
  let kept = 0;
  // In the shadow stage no device switched: ending the stage removes the candidate from every device, in the
  // transaction that stores the rollback (a change saved meanwhile refuses both; nothing awaited before it).
  const inShadow = inShadowStage(r);
  for (const d of deps.store.rollouts.devices(r.id)) {
    if (d.notifiedAt === null || inShadow) continue;
    const before = ranBefore(r, d);
    if (before === null) kept++;
    else byPrevious.set(before, [...(byPrevious.get(before) ?? []), d.deviceId]);
  }
  const docs: DesiredDocument[] = [];
  deps.store.db.transaction(() => {
    if (inShadow) docs.push(...deps.deployments.clearShadows(r.id));
    for (const [version, ids] of byPrevious) {
      docs.push(...deps.deployments.assignDevices({ deploymentId: null, model: r.model, version, reason: `rollback of rollout ${r.id}: ${reason}`, actor: by, rollback: true }, ids).docs);
    }
    stopOpenWaves(r);
    r.state = 'rolled_back';
    // Devices with nothing to return to still run the version: say so, and what takes it off them.
    r.stateReason = kept === 0 ? reason : `${reason}; ${kept} device(s) that ran no version of ${r.model} before keep ${r.version}: `
      + `edgefleet undeploy ${r.deploymentId ?? '?'} --reason ... takes it off them`;
    t.transition(r, 'rollout.rolled_back', reason, { devices: docs.length, toVersions: Object.fromEntries([...byPrevious].map(([v, ids]) => [v, ids.length])), keptNoPrevious: kept }, now, actor);
  })();
  await deps.deployments.publishDesired(docs);
}

/** A wave under way when its rollout ends by hand or by a rollback is `stopped`: it bakes no longer. */
export function stopOpenWaves(r: RolloutRecord): void {
  for (const p of r.progress) {
    if (p.state === 'deploying' || p.state === 'baking' || p.state === 'evaluating') {
      p.state = 'stopped';
      p.bakeUntil = null;
    }
  }
}
