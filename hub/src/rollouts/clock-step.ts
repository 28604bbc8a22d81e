// A hub clock stepped back (NTP correcting a clock that ran ahead) leaves a wave's times in the future:
// its bake would last days longer and its stuck timer (gates.stuckSec) would not run until the clock
// caught up (docs/rollouts.md "State and the rate cap"). Cut them to now: a bake ends at most bakeSec after the step,
// and the stuck timer counts from it. A clock stepped forward ends a bake early; the gates still need
// their reports from the wave's devices (gates.minPredictions), so that wave waits for them.
import type { WaveProgress } from '../store/rollouts-repo.js';

/** Brings `p`'s times that lie ahead of `now` back; whether any changed (the caller saves). */
export function cutTimesAhead(p: WaveProgress, bakeSec: number, now: Date): boolean {
  const t = now.getTime();
  const iso = now.toISOString();
  let changed = false;
  if (p.state === 'baking' && p.bakeUntil && Date.parse(p.bakeUntil) > t + bakeSec * 1000) {
    p.bakeUntil = new Date(t + bakeSec * 1000).toISOString();
    changed = true;
  }
  if (p.evaluatingSince && Date.parse(p.evaluatingSince) > t) {
    p.evaluatingSince = iso;
    changed = true;
  }
  if (p.deferredAt && Date.parse(p.deferredAt) > t) {
    p.deferredAt = iso;
    changed = true;
  }
  return changed;
}
