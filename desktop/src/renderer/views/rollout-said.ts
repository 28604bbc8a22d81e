// A rollout's changes in words, as its page says them to a screen reader (ui/announce.tsx) and as an action's answer
// gives them: its state (who changed it and why, where the hub says), the wave it moved on to, a wave passed that
// waits for Promote (docs/console.md "Keyboard and screen readers").
import type { Rollout } from '@edgefleet/shared';
import { promoteWait, promoteWaitText } from '@edgefleet/shared/browser';

/** `rolled_back` as a label: `Rolled back`. */
export function stateLabel(state: string): string {
  const s = state.replace('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `Wave 2 of 3 (mid) started`, when `now` moved on to another wave and runs it; else null. */
export function waveStarted(was: Rollout, now: Rollout): string | null {
  const w = now.waves[now.currentWave];
  return now.currentWave !== was.currentWave && w && now.state === 'running' ? `Wave ${now.currentWave + 1} of ${now.waves.length} (${w.name}) started` : null;
}

/**
 * What changed from `was` to `now` (the same rollout): `Paused by alice: REASON`, `Resumed by alice: REASON`,
 * `Rolled back: wave canary failed its gates: …` (the hub's own change names no one), `Completed: every wave passed`,
 * `Wave 2 of 3 (mid) started`, `waiting for promote: wave canary passed …`; null when none of that changed.
 */
export function rolloutChange(was: Rollout, now: Rollout, promote: string): string | null {
  if (was.id !== now.id) return null;
  const said: string[] = [];
  if (now.state !== was.state) {
    const by = now.stateBy && now.stateBy !== 'hub' ? ` by ${now.stateBy}` : '';
    said.push(`${now.state === 'running' ? 'Resumed' : stateLabel(now.state)}${by}${now.stateReason ? `: ${now.stateReason}` : ''}`);
  }
  const started = waveStarted(was, now);
  if (started) said.push(started);
  const wait = promoteWait(now);
  if (wait && promoteWait(was)?.wave !== wait.wave) said.push(promoteWaitText(wait, promote));
  return said.length ? said.join('. ') : null;
}
