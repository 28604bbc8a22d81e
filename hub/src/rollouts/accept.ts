// Accepting gates of the current wave (docs/rollouts.md "Accepting a gate",
// docs/decisions/0107-accepting-a-gate-for-a-wave.md): `promote` with `acceptGates` names blocking gates an
// operator looked at; each stays shown with its numbers, no longer blocks the wave, and the wave is judged
// again at once (a paused rollout runs again): it passes if its other blocking gates pass. `unaccept` takes
// an acceptance back while the wave is still judged.
import { AppError, type GateName, type GateResult } from '@edgefleet/shared';
import type { RolloutRecord, WaveProgress } from '../store/rollouts-repo.js';
import type { Actor, RolloutEngine } from './engine.js';

/** The gates an operator may accept now: blocking, pending, or failed while its rollout is paused (not rolled back). */
export function acceptable(p: WaveProgress): GateResult[] {
  return p.gates.filter((g) => g.blocking && !g.accepted && (g.verdict === 'pending' || g.verdict === 'fail'));
}

/** `message` follows the id: `: wave all is pending: …`, or ` is completed: …` for the rollout itself. */
function refuse(r: RolloutRecord, message: string, details: object): never {
  const p = r.progress[r.currentWave];
  throw new AppError('GATE_NOT_ACCEPTABLE', `rollout ${r.id}${message}`, {
    details: { rollout: r.id, state: r.state, wave: r.waves[r.currentWave]?.name ?? null, waveState: p?.state ?? null, acceptable: p ? acceptable(p).map((g) => g.name) : [], ...details },
  });
}

/** Stores each named gate as accepted (refusing the whole list if one may not be) and puts the wave back to judging. */
export function acceptGates(engine: RolloutEngine, r: RolloutRecord, names: readonly GateName[], reason: string, now: Date, actor: Actor): void {
  const p = r.progress[r.currentWave];
  const w = r.waves[r.currentWave];
  if ((r.state !== 'running' && r.state !== 'paused') || !p || !w) refuse(r, ` is ${r.state}: accepting a gate expects a running or paused rollout`, {});
  // A wave's gates are judged once its bake ends: before that there are no numbers to accept.
  if (p.state !== 'evaluating' && p.state !== 'failed') {
    refuse(r, `: wave ${w.name} is ${p.state}: accepting a gate expects its gates judged (wave evaluating, or failed on a paused rollout)${p.state === 'baking' ? '; promote without acceptGates skips the bake' : ''}`, {});
  }
  const open = new Set(acceptable(p).map((g) => g.name));
  const wanted = [...new Set(names)];
  for (const name of wanted) {
    if (open.has(name)) continue;
    const g = p.gates.find((x) => x.name === name);
    const what = !g ? 'is not a gate of it' : !g.blocking ? 'is shown only, it blocks nothing' : g.accepted ? `was accepted already by ${g.accepted.by}` : `is ${g.verdict}`;
    refuse(r, `: gate ${name} ${what} on wave ${w.name}: expected a blocking gate pending or failed there (${[...open].join(', ') || 'none now'})`, { gate: name });
  }
  const accepted = { by: actor.name, reason, at: now.toISOString() };
  p.accepted = [...(p.accepted ?? []), ...wanted.map((name) => ({ name, ...accepted }))];
  p.gates = withAccepted(p.gates, p);
  const numbers = p.gates.filter((g) => g.accepted).map((g) => ({ name: g.name, value: g.value, threshold: g.threshold, verdict: g.verdict, samples: g.samples, note: g.note }));
  // A paused rollout runs again by this operator's hand: the state says who and when, not the pause's.
  if (r.state === 'paused') {
    r.state = 'running';
    r.stateReason = `accepted ${wanted.join(', ')}: ${reason}`;
    r.stateBy = actor.name;
    r.stateAt = now.toISOString();
  }
  // Judged again from now: the stuck clock starts over (as on resume).
  p.state = 'evaluating';
  p.evaluatingSince = now.toISOString();
  engine.transition(r, 'rollout.promote', reason, { acceptedGates: wanted, gates: numbers }, now, actor);
}

/** As refuse: `message` follows the id. */
function nothingToUndo(r: RolloutRecord, message: string, details: object = {}): never {
  const p = r.progress[r.currentWave];
  throw new AppError('NOTHING_TO_UNDO', `rollout ${r.id}${message}`, {
    details: { rollout: r.id, state: r.state, wave: r.waves[r.currentWave]?.name ?? null, waveState: p?.state ?? null, accepted: (p?.accepted ?? []).map((a) => a.name), ...details },
  });
}

/** Where a named gate was accepted on a wave that has passed since: its acceptance has done its work. */
function earlier(r: RolloutRecord, names: readonly GateName[]): string {
  const k = r.progress.findIndex((q, i) => i < r.currentWave && q.accepted?.some((a) => names.includes(a.name)));
  return k < 0 ? '' : ` (${names.join(', ')} was accepted on wave ${r.waves[k]?.name}, which passed: that acceptance has done its work; pause, abort or roll back the rollout instead)`;
}

/**
 * Takes back acceptances of the current wave's gates while the wave is still judged (evaluating, or failed on
 * a paused rollout): each named gate blocks the wave again and the wave is judged at once (act() ticks), so a
 * failing one fails it. After the wave passed the acceptance has done its work: nothing to undo there.
 */
export function unacceptGates(engine: RolloutEngine, r: RolloutRecord, names: readonly GateName[], reason: string, now: Date, actor: Actor): void {
  const p = r.progress[r.currentWave];
  const w = r.waves[r.currentWave];
  const expected = 'expected a running or paused rollout whose current wave is still judged (evaluating, or failed on a paused rollout)';
  if ((r.state !== 'running' && r.state !== 'paused') || !p || !w) nothingToUndo(r, ` is ${r.state}: un-accepting a gate ${expected}`);
  if (p.state !== 'evaluating' && p.state !== 'failed') nothingToUndo(r, `: wave ${w.name} is ${p.state}: un-accepting a gate ${expected}${earlier(r, names)}`);
  const accepted = p.accepted ?? [];
  const wanted = [...new Set(names)];
  for (const name of wanted) {
    if (accepted.some((a) => a.name === name)) continue;
    nothingToUndo(r, `: gate ${name} is not accepted on wave ${w.name}: expected a gate accepted there (${accepted.map((a) => a.name).join(', ') || 'none is'})`, { gate: name });
  }
  const was = accepted.filter((a) => wanted.includes(a.name));
  p.accepted = accepted.filter((a) => !wanted.includes(a.name));
  if (!p.accepted.length) delete p.accepted;
  p.gates = withAccepted(p.gates.map(({ accepted: _, ...g }) => g), p);
  const numbers = p.gates.filter((g) => wanted.includes(g.name)).map((g) => ({ name: g.name, value: g.value, threshold: g.threshold, verdict: g.verdict, samples: g.samples, note: g.note }));
  engine.transition(r, 'rollout.unaccept', reason, { unacceptedGates: wanted, was, gates: numbers }, now, actor);
}

/** The gates with the wave's acceptances on them (each recomputation of the gates keeps them). */
export function withAccepted(gates: GateResult[], p: WaveProgress): GateResult[] {
  if (!p.accepted?.length) return gates;
  return gates.map((g) => {
    const a = p.accepted?.find((x) => x.name === g.name);
    return a && g.blocking ? { ...g, accepted: { by: a.by, reason: a.reason, at: a.at } } : g;
  });
}
