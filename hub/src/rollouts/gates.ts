// The gates of a wave (docs/rollouts.md "Gates"): pure functions from the wave's and the control's merged
// numbers to one result per gate with value, threshold, sample sizes and verdict. A gate that has too few
// reports is `pending`, never `pass`; input_drift is shown and never blocks.
import { MAX_DEVICE_SHARE_DEFAULT, latencyCount, latencyQuantile, outputReferenceNames, psi, type GateConfig, type GateResult, type NotInstalled, type NotInstalledDevice, type Reference, type ShadowStage } from '@edgefleet/shared';
import type { GroupStats, ShadowStats } from './gate-data.js';
import { leftOutNote } from './device-share.js';

export interface InstallCounts {
  /** Devices of the wave told to switch. */
  notified: number;
  /** Of those, active on the new version. */
  active: number;
  /** Failed, refused or rolled back on the device. */
  failed: number;
  /** Deferring the switch (maintenance window, update lock) within gates.deferTimeoutSec: pending. */
  deferred?: number;
  /** Deferring past gates.deferTimeoutSec: left out of install_success (decision 0031). */
  leftOut?: number;
  /** Waiting for room on a full disk: pending, not failed (decision 0064); gates.stuckSec bounds the wait. */
  waitingForDisk?: number;
}

/** A wave's gates as judge.ts stores them, with its install counts and the told devices left out offline (offline.ts). */
export interface WaveGates {
  gates: GateResult[];
  install: Required<InstallCounts>;
  away: string[];
  /** What install_success (config_applied) says of unsettled and offline devices. */
  offlineNote: string | null;
  /** A model wave's told devices that did not install its version (not-installed.ts). */
  notInstalled?: NotInstalled;
  /** Every one of them (kept on their rollout rows when the wave fails). */
  notInstalledAll?: NotInstalledDevice[];
}

export interface GateInput {
  cfg: GateConfig;
  install: InstallCounts;
  wave: GroupStats;
  control: GroupStats;
  /** The new version's manifest reference (outputs and features with their bins). */
  reference: Reference | undefined;
  /** Preflight p95 (ms) each wave device reported for the new version. */
  preflightP95: number[];
  /**
   * Control devices are connected but have not yet reported `minPredictions` over the wave's span: the
   * comparative gates wait for them (pending) instead of judging against the reference.
   */
  awaitingControl?: boolean;
  /** Devices of the rollout revoked since they joined: they left it (not told, not counted), noted on install_success. */
  revoked?: number;
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** Counts of a reference column as [under, ...bins, over] (the layout windows use). */
function refBins(r: { counts: number[]; under?: number; over?: number }): number[] {
  return [r.under ?? 0, ...r.counts, r.over ?? 0];
}

/** The worst PSI over the named distributions both sides have with the same layout; null when none. */
function worstPsi(actual: Map<string, number[]>, expected: Map<string, number[]>): number | null {
  let worst: number | null = null;
  for (const [name, a] of actual) {
    const e = expected.get(name);
    if (!e || e.length !== a.length) continue;
    if (a.reduce((x, y) => x + y, 0) === 0 || e.reduce((x, y) => x + y, 0) === 0) continue;
    const v = psi(e, a);
    worst = worst === null ? v : Math.max(worst, v);
  }
  return worst;
}

/**
 * A wave answering more than this many times the control's requests a window is not judged slower than
 * the control on latency: queueing grows with the load (docs/decisions/0098-latency-judged-at-a-matched-load.md).
 */
export const LOAD_MATCH_RATIO = 1.25;

/** Requests answered or failed per window: the load a group's devices carried (windows are the agent's summary period). */
const perWindow = (s: GroupStats) => (s.windows ? s.requests / s.windows : 0);

/** Why the wave's latency is not compared with the control's (the wave carried a heavier load), or null when it is. */
function busierNote(wave: GroupStats, control: GroupStats): string | null {
  const w = perWindow(wave);
  const c = perWindow(control);
  if (!(c > 0) || w <= c * LOAD_MATCH_RATIO) return null;
  return `not compared at a matched load: the wave's devices answered ${round(w, 1)} requests a window against the control's ${round(c, 1)} (${round(w / c, 2)}x, `
    + `more than ${LOAD_MATCH_RATIO}x), which may be why, not the version: held, not failed`;
}

export function evaluateGates(g: GateInput): GateResult[] {
  const { cfg, install, wave, control } = g;
  const out: GateResult[] = [];
  const enough = wave.count >= cfg.minPredictions;
  // A control without predictions is no control, also under minPredictions 0 (its error rate would be 0/0).
  const hasControl = control.count > 0 && control.count >= cfg.minPredictions;
  const samples = { wave: wave.count, control: control.count };
  const waiting = g.awaitingControl === true && !hasControl;
  const waitNote = { note: `waiting for the control devices: ${control.count} of ${Math.max(1, cfg.minPredictions)} predictions` };

  // install_success: active / notified; fails as soon as the failures make the threshold unreachable.
  // Devices deferring past gates.deferTimeoutSec are left out of both (decision 0031); those deferring
  // within it are not settled, so the gate waits for them. A device waiting for room on its full disk
  // has not failed the version (decision 0064): not settled either, the wave's stuck timer bounds it.
  {
    const told = install.notified - (install.leftOut ?? 0);
    const settled = install.active + install.failed;
    const value = told ? install.active / told : null;
    const best = told ? (told - install.failed) / told : 1;
    const verdict = told === 0 ? 'pending' : best < cfg.installSuccess ? 'fail' : settled < told ? 'pending' : (value as number) >= cfg.installSuccess ? 'pass' : 'fail';
    const notes = [
      // A wave with nobody to judge (a target that reaches no device yet, or every device of it revoked, replaced or held back) says so.
      ...(told === 0 && install.notified === 0 ? ['no device of the wave to judge: a device that joins the target (enrolled, tagged into it) is placed and told; until then the wave waits, and gates.stuckSec pauses it'] : []),
      ...(install.deferred ? [`${install.deferred} deferred (maintenance window or update lock): waiting up to gates.deferTimeoutSec (${cfg.deferTimeoutSec ?? 3600} s) after each was told`] : []),
      ...(install.leftOut ? [`${install.leftOut} deferred past gates.deferTimeoutSec: left out`] : []),
      ...(install.waitingForDisk ? [`${install.waitingForDisk} waiting for disk space on the device (not failed): pending until installed; a wave pending for gates.stuckSec (${cfg.stuckSec} s) pauses`] : []),
      ...(g.revoked ? [`${g.revoked} device${g.revoked === 1 ? '' : 's'} revoked during the rollout: left out`] : []),
    ];
    out.push({ name: 'install_success', value: value === null ? null : round(value), threshold: cfg.installSuccess, verdict, blocking: true, samples: { wave: told, control: 0 }, against: 'absolute', ...(notes.length ? { note: notes.join('; ') } : {}) });
  }
  // reporting: the share of the wave's active devices that sent windows of the new version.
  {
    const value = install.active ? wave.reportingDevices.size / install.active : null;
    const verdict = value === null ? 'pending' : value >= cfg.reporting ? 'pass' : 'pending';
    // A box writes no window for a span without requests: a wave without traffic waits here, and says so.
    const silent = install.active - wave.reportingDevices.size;
    const note = verdict === 'pending' && silent > 0 ? { note: `${silent} of the ${install.active} active device(s) sent no window of the new version yet: a box sends one only for a span in which it was sent requests` } : {};
    out.push({ name: 'reporting', value: value === null ? null : round(value), threshold: cfg.reporting, verdict, blocking: true, samples: { wave: wave.reportingDevices.size, control: control.reportingDevices.size }, against: 'absolute', ...note });
  }
  // Requests refused as invalid input answer no rows: when they are most of the wave's, say so (a version
  // whose io changed refuses its callers' requests; they are not held against it, decision 0012).
  const refused = !enough && wave.inputErrors > 0 && 2 * wave.inputErrors >= wave.requests
    ? { note: `${wave.inputErrors} of the wave's ${wave.requests} requests were refused as invalid input, which answers no prediction: do its callers send what this version's manifest expects?` } : {};
  // A device left out of the wave's or the control's numbers for holding most of them (device-share.ts) is named here.
  const share = cfg.maxDeviceShare ?? MAX_DEVICE_SHARE_DEFAULT;
  const notes = [
    ...('note' in refused ? [refused.note] : []),
    ...(wave.leftOut ? [leftOutNote('wave', wave.leftOut, share)] : []),
    ...(control.leftOut ? [leftOutNote('control', control.leftOut, share)] : []),
  ];
  out.push({ name: 'predictions', value: wave.count, threshold: cfg.minPredictions, verdict: enough ? 'pass' : 'pending', blocking: true, samples, against: 'absolute', ...(notes.length ? { note: notes.join('; ') } : {}) });
  // model_error_rate in percent of requests (answered or failed): at most control's + errorRatePoints (no
  // control: errorRatePoints alone). Judged once the wave has minPredictions predictions or as many
  // requests, so a version that fails every request (no prediction ever) fails here instead of waiting.
  {
    const value = wave.requests ? (100 * wave.modelErrors) / wave.requests : null;
    const base = hasControl && control.requests ? (100 * control.modelErrors) / control.requests : 0;
    const threshold = round(base + cfg.errorRatePoints);
    const judged = enough || wave.requests >= Math.max(1, cfg.minPredictions);
    const verdict = waiting || !judged || value === null ? 'pending' : value <= threshold ? 'pass' : 'fail';
    out.push({ name: 'model_error_rate', value: value === null ? null : round(value), threshold, verdict, blocking: true, samples: { wave: wave.requests, control: control.requests }, against: hasControl || waiting ? 'control' : 'absolute', ...(waiting ? waitNote : {}) });
  }
  // latency_p95 of answered requests: at most latencyRatio x control's or control's + latencySlackMs,
  // whichever is larger (no control: shown, not judged).
  {
    const p = wave.answered && latencyCount(wave.answered) ? latencyQuantile(wave.answered, 0.95) : null;
    const sofar = control.answered && latencyCount(control.answered) ? latencyQuantile(control.answered, 0.95) : null;
    const c = hasControl ? sofar : null;
    const value = p === null || !Number.isFinite(p) ? p : round(p, 3);
    const limit = (base: number) => round(Math.max(base * cfg.latencyRatio, base + cfg.latencySlackMs), 3);
    if (waiting) {
      // The threshold from the control's answers so far (0 before any): what it would be judged against now.
      out.push({ name: 'latency_p95', value, threshold: sofar === null || !Number.isFinite(sofar) ? 0 : limit(sofar), verdict: 'pending', blocking: true, samples, against: 'control', ...waitNote });
    } else if (c === null) {
      // Not judged, so not blocking (as preflight_p95 without a threshold): the other gates wait for the same samples.
      out.push({ name: 'latency_p95', value, threshold: 0, verdict: enough ? 'pass' : 'pending', blocking: false, samples, against: 'absolute', note: 'no control devices: shown, not judged' });
    } else {
      const threshold = limit(c);
      const verdict = !enough || value === null ? 'pending' : value <= threshold ? 'pass' : 'fail';
      // Over the threshold while answering more requests a window than the control: that load may be
      // the cause, not the version; held, not failed (docs/decisions/0098-latency-judged-at-a-matched-load.md).
      const busier = verdict === 'fail' ? busierNote(wave, control) : null;
      out.push({ name: 'latency_p95', value, threshold, verdict: busier ? 'pending' : verdict, blocking: true, samples, against: 'control', ...(busier ? { note: busier } : {}) });
    }
  }
  // output_shift: worst PSI of the outputs against control, or against the manifest reference.
  {
    const refNames = outputReferenceNames(g.reference?.outputs ?? []);
    const refOutputs = new Map((g.reference?.outputs ?? []).map((o, i) => [refNames[i] as string, refBins(o)]));
    const against = waiting || (hasControl && control.outputs.size) ? 'control' : 'reference';
    const value = worstPsi(wave.outputs, against === 'control' ? control.outputs : refOutputs);
    const verdict = waiting || !enough ? 'pending' : value === null ? 'pass' : value <= cfg.outputPsi ? 'pass' : 'fail';
    out.push({
      name: 'output_shift', value: value === null ? null : round(value), threshold: cfg.outputPsi, verdict, blocking: true, samples, against,
      ...(waiting ? waitNote : value === null ? { note: 'no output histograms to compare' } : {}),
    });
  }
  // preflight_p95: the worst install preflight p95 of the wave's devices (0 = not judged).
  {
    const value = g.preflightP95.length ? Math.max(...g.preflightP95) : null;
    const judged = cfg.preflightP95Ms > 0;
    const verdict = !judged || value === null ? 'pass' : value <= cfg.preflightP95Ms ? 'pass' : 'fail';
    out.push({
      name: 'preflight_p95', value: value === null ? null : round(value, 3), threshold: cfg.preflightP95Ms, verdict, blocking: judged, samples: { wave: g.preflightP95.length, control: 0 }, against: 'absolute',
      ...(judged ? {} : { note: 'no threshold set (gates.preflightP95Ms)' }),
    });
  }
  // input_drift: the worst feature PSI against the reference; it explains, it does not blame the model.
  {
    const refFeatures = new Map((g.reference?.features ?? []).flatMap((f) => (f.kind === 'numeric' ? [[f.name, refBins(f)] as const] : [])));
    const value = worstPsi(wave.features, refFeatures);
    out.push({ name: 'input_drift', value: value === null ? null : round(value), threshold: cfg.inputPsi, verdict: value === null || !enough ? 'pending' : value <= cfg.inputPsi ? 'pass' : 'fail', blocking: false, samples, against: 'reference' });
  }
  return out;
}

/**
 * The shadow stage's gate (docs/rollouts.md "Shadow stage"): the share of the candidate's shadow runs whose
 * outputs agreed with the answer the current version gave; a run that failed counts as disagreeing. Pending
 * below `minSamples` runs; dropped samples (the shadow fell behind) and the candidate's p95 are in the note.
 */
/** The shadow stage gate note's words for devices whose candidate waits for disk space. */
export function diskWaitNote(n: number): string {
  return n ? `; ${n} waiting for disk space on the device to load the candidate (not failed: pending until it runs)` : '';
}

/** `waitingForDisk`: of `devices`, those whose candidate waits for disk space (pending, not failed: decision 0064). */
export function shadowGate(stage: ShadowStage, s: ShadowStats, devices: number, waitingForDisk = 0): GateResult {
  const n = s.runs + s.errors;
  const value = n ? s.agree / n : null;
  const verdict = n < stage.minSamples || value === null ? 'pending' : value >= stage.minAgreement ? 'pass' : 'fail';
  const p95 = s.latency && latencyCount(s.latency) ? latencyQuantile(s.latency, 0.95) : null;
  const note = `${s.runs} shadow runs (${s.errors} failed, ${s.dropped} samples dropped) from ${s.reportingDevices.size} of ${devices} devices`
    + `${p95 !== null && Number.isFinite(p95) ? `; candidate p95 ${round(p95, 3)} ms` : ''}${n < stage.minSamples ? `; needs ${stage.minSamples} runs` : ''}${diskWaitNote(waitingForDisk)}`;
  return { name: 'shadow_agreement', value: value === null ? null : round(value), threshold: stage.minAgreement, verdict, blocking: true, samples: { wave: n, control: 0 }, against: 'absolute', note };
}

/** The wave's verdict: fail if a blocking gate failed, pending while one is pending, else pass; a gate an operator accepted blocks nothing. */
export function waveVerdict(gates: readonly GateResult[]): 'pass' | 'fail' | 'pending' {
  const blocking = gates.filter((x) => x.blocking && !x.accepted);
  if (blocking.some((x) => x.verdict === 'fail')) return 'fail';
  if (blocking.some((x) => x.verdict === 'pending')) return 'pending';
  return 'pass';
}
