// A model rollout's wave judged from the stored data (docs/rollouts.md "Gates"): the told devices'
// deployment status makes install_success (deferred devices pending until gates.deferTimeoutSec, then left
// out, decision 0031; waiting for disk pending, decision 0064; not installed and switched off past that time left out, as for
// a configuration, offline.ts), and their windows on the new version against control devices still on the
// previous one over the same range make the others. Configuration rollouts: config-rollout.ts computeConfigWave.
import { MAX_DEVICE_SHARE_DEFAULT } from '@edgefleet/shared';
import type { RolloutDeviceRow, RolloutRecord } from '../store/rollouts-repo.js';
import type { Store } from '../store/index.js';
import { emptyStats, type GateData } from './gate-data.js';
import { DEFER_TIMEOUT_DEFAULT_SEC } from './plan.js';
import { evaluateGates, type InstallCounts, type WaveGates } from './gates.js';
import { boundedStats } from './device-share.js';
import { leaveOutOffline, noteSilentOffline } from './offline.js';
import { replacedNote } from './replaced.js';
import { notInstalledNote, notInstalledRecord, notInstalledRows, notInstalling } from './not-installed.js';
import { heldNote, isHeld } from '../deployments/backends.js';
const HOUR_MS = 3_600_000;

export function computeWave(store: Store, gateData: GateData, r: RolloutRecord, now: Date): WaveGates {
  const p = r.progress[r.currentWave];
  const devices = store.rollouts.devices(r.id);
  const told = devices.filter((d) => d.notifiedAt !== null);
  const control = devices.filter((d) => d.notifiedAt === null && d.previous !== null && d.previous === r.fromVersion).map((d) => d.deviceId);
  const rows = new Map(r.deploymentId === null ? [] : store.deployments.get(r.deploymentId).devices.map((d) => [d.deviceId, d]));
  const install = { notified: told.length, active: 0, failed: 0, deferred: 0, leftOut: 0, waitingForDisk: 0 } satisfies InstallCounts;
  const deferMs = (r.gates.deferTimeoutSec ?? DEFER_TIMEOUT_DEFAULT_SEC) * 1000;
  const activeIds: string[] = [];
  const unsettled: RolloutDeviceRow[] = [];
  const failed: Parameters<typeof notInstalledRecord>[0][number][] = [];
  const held: string[] = []; // their backend cannot load it (decision 0129): left out, not failed
  for (const d of told) {
    const row = rows.get(d.deviceId);
    const s = row?.status;
    if (isHeld(s, row?.reason)) held.push(d.deviceId);
    else if (s === 'active') {
      install.active++;
      activeIds.push(d.deviceId);
    } else if (notInstalling(s)) {
      install.failed++;
      failed.push({ deviceId: d.deviceId, status: s, reason: row?.reason ?? null });
    }
    else if (s === 'deferred') {
      // Pending until deferTimeoutSec after it was told; then the wave goes on without it.
      if (now.getTime() - Date.parse(d.notifiedAt as string) < deferMs) install.deferred++;
      else install.leftOut++;
    } else if (s === 'waiting_for_disk') install.waitingForDisk++; // pending: the box's disk, not the model; stuckSec bounds it
    else unsettled.push(d); // not installed yet: left out once offline long enough
  }
  install.notified -= held.length;
  const offline = leaveOutOffline(store, r, unsettled, install.notified - install.leftOut, now, { done: 'installed', then: 'installs the version' });
  install.notified -= offline.away.length; // left out: the version waits for them
  const from = p?.startedAt ?? r.createdAt;
  // Everything stored up to the end of the current hour: the hour's rollup as it stands, never its raw
  // windows re-read on every step (a window can start a little after `now` only by clock skew within
  // the ingest tolerance, decision 0014).
  const to = new Date(Math.ceil((now.getTime() + 1) / HOUR_MS) * HOUR_MS).toISOString();
  // No one device carries the wave's or the control's numbers (device-share.ts).
  const share = r.gates.maxDeviceShare ?? MAX_DEVICE_SHARE_DEFAULT;
  const wave = boundedStats(gateData, { model: r.model, version: r.version, devices: new Set(told.map((d) => d.deviceId)), from, to }, share);
  let ctl = r.fromVersion ? boundedStats(gateData, { model: r.model, version: r.fromVersion, devices: new Set(control), from, to }, share) : emptyStats();
  // Control devices connected, or seen since the wave began (a restarted hub has not seen them reconnect
  // yet), but short of minPredictions: wait for them (a concurrent control is the fair comparison;
  // stuckSec bounds the wait). Otherwise, with none left (the last wave) or none around, the target's own
  // previous-version windows over a span as long as this wave's, just before it began.
  // At least one prediction, also under minPredictions 0: a control without any is no control.
  const short = ctl.count < Math.max(1, r.gates.minPredictions);
  const online = control.length && short ? store.devices.seenSince(from) : new Set<string>();
  const awaitingControl = control.some((id) => online.has(id));
  if (r.fromVersion && short && !awaitingControl) {
    const span = now.getTime() - Date.parse(from);
    const before = devices.filter((d) => d.previous === r.fromVersion).map((d) => d.deviceId);
    ctl = boundedStats(gateData, { model: r.model, version: r.fromVersion, devices: new Set(before), from: new Date(Date.parse(from) - span).toISOString(), to: from }, share);
  }
  const reference = store.models.get(r.model, r.version).manifest.reference;
  const preflightP95: number[] = [];
  for (const id of activeIds) {
    const pf = store.devices.get(id).models.find((m) => m.name === r.model && m.version === r.version)?.preflight;
    if (pf) preflightP95.push(pf.p95Ms);
  }
  // Revoked devices are not in `devices` (they left the rollout); the gates only note how many.
  const revoked = store.rollouts.revokedCount(r.id);
  // Which told devices did not install and why, named on install_success and kept on a failed wave (judge.ts).
  const notInstalled = notInstalledRecord(failed);
  const notes = [offline.note, replacedNote(store, r.id), heldNote(held), notInstalledNote(notInstalled)].filter((n) => n !== null);
  // Active devices that sent no window yet and are switched off: said on reporting, not taken for a wave without traffic.
  const gates = noteSilentOffline(store, evaluateGates({ cfg: r.gates, install, wave, control: ctl, reference, preflightP95, awaitingControl, revoked })
    .map((g) => (g.name === 'install_success' && notes.length ? { ...g, note: [...notes, ...(g.note ? [g.note] : [])].join('; ') } : g)), activeIds, wave.reportingDevices);
  return { gates, install, away: offline.away, offlineNote: offline.note, notInstalled, notInstalledAll: notInstalledRows(failed) };
}
