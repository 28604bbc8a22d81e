// The replay check's gate (docs/rollouts.md "Replay check", docs/decisions/0045-config-rollouts-and-replay-gate.md):
// a shadow stage with `replay` set has each staging-ring device replay its recently answered requests
// through the candidate on the box and report the agreement in its state (`models[].replay`); this gate
// sums what the stage's devices report since the stage began. Pending until every device running a
// version to compare with has finished and `minSamples` requests were replayed; a request that failed on
// the candidate counts as disagreeing.
import type { GateResult, ReportedModel, ShadowStage } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import { diskWaitNote } from './gates.js';
import { shadowHeldBack, withHeldNote } from './shadow-held.js';

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
/** The first three ids of a note's list, and `...` when there are more. */
const firstIds = (ids: readonly string[]) => `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', ...' : ''}`;
/** A report made this long before the stage began (by the box's clock) still counts: clocks differ a little. */
const SKEW_MS = 60_000;

/** The device's last reported `model` (from its reported state as stored): its replay check and shadow candidate's wait. */
function reportedModel(store: Store, deviceId: string, model: string): Pick<ReportedModel, 'replay' | 'shadow'> | undefined {
  const models = (store.devices.reportedState(deviceId)?.['models'] ?? []) as Array<Pick<ReportedModel, 'name' | 'replay' | 'shadow'>>;
  return models.find((m) => m.name === model);
}

/**
 * How many of `deviceIds` report `model`'s shadow candidate `version` waiting for disk space (decision
 * 0064): pending on the stage's gate, never failed; gates.stuckSec bounds the wait as for any pending gate.
 */
export function shadowWaitingForDisk(store: Store, deviceIds: readonly string[], model: string, version: string): number {
  return deviceIds.filter((id) => {
    const s = reportedModel(store, id, model)?.shadow;
    return s?.status === 'waiting_for_disk' && s.version === version;
  }).length;
}

export function replayGate(store: Store, r: RolloutRecord, stage: ShadowStage): GateResult {
  const startedAt = Date.parse(r.progress[r.currentWave]?.startedAt ?? r.createdAt) - SKEW_MS;
  const ring = store.rollouts.devices(r.id).filter((d) => d.notifiedAt !== null && d.previous !== null && d.previous !== r.version);
  // A box whose backend cannot load the candidate is sent no shadow to replay with: left out, named (shadow-held.ts).
  const { sent, held } = shadowHeldBack(store, ring.map((d) => d.deviceId), r);
  const eligible = ring.filter((d) => sent.includes(d.deviceId));
  let samples = 0;
  let agree = 0;
  let errors = 0;
  let done = 0;
  let maxAbsDiff: number | null = null;
  const waiting: string[] = [];
  const over: string[] = [];
  for (const d of eligible) {
    const rep = reportedModel(store, d.deviceId, r.model)?.replay;
    if (!rep || rep.version !== r.version || Date.parse(rep.at) < startedAt) {
      waiting.push(d.deviceId);
      continue;
    }
    // A box replays at most the `replay` requests it is asked to: one reporting more would weigh more than the
    // ring's other boxes (docs/decisions/0131-a-replay-report-weighs-what-was-asked.md); it is left out, named.
    if (stage.replay !== undefined && rep.samples > stage.replay) {
      over.push(d.deviceId);
      continue;
    }
    samples += rep.samples;
    agree += rep.agree;
    errors += rep.errors;
    if (rep.maxAbsDiff !== null) maxAbsDiff = Math.max(maxAbsDiff ?? 0, rep.maxAbsDiff);
    if (rep.done) done++;
    else waiting.push(d.deviceId);
  }
  const value = samples ? agree / samples : null;
  const min = stage.minSamples;
  const settled = eligible.length > over.length && waiting.length === 0;
  const verdict = value === null || !settled || samples < min ? 'pending' : value >= stage.minAgreement ? 'pass' : 'fail';
  const note = `${samples} requests replayed (${errors} failed on the candidate) on ${done} of ${eligible.length} ring devices`
    + `${maxAbsDiff !== null ? `; max abs diff ${round(maxAbsDiff, 6)}` : ''}${waiting.length ? `; waiting for ${firstIds(waiting)}` : ''}`
    + `${settled && samples < min ? `; needs ${min} replayed requests (send traffic to the ring, or lower minSamples)` : ''}`
    + `${over.length ? `; left out: ${firstIds(over)} reported more than the ${stage.replay} replayed requests asked` : ''}`
    + diskWaitNote(shadowWaitingForDisk(store, waiting, r.model, r.version));
  return withHeldNote({ name: 'replay_agreement', value: value === null ? null : round(value), threshold: stage.minAgreement, verdict, blocking: true, samples: { wave: samples, control: 0 }, against: 'absolute', note }, held);
}
