// What a running rollout waits for that no state says (decision 0114, docs/rollouts.md "CLI"): a wave passed
// under manual advance waits for `promote` (the last one too, to complete), the rollout still `running`.
// Said the same by the CLI (`rollout show`, `ls`, `--watch`) and the console's rollout page. Pure, no zod:
// the console bundle imports it.
import type { Rollout } from './wire/rollout-state.js';
import type { Wave } from './wire/rollout.js';

/** `staging [env=staging]` or `canary 5%`: a wave as the CLI and logs name it. */
export function waveLabel(w: Pick<Wave, 'name' | 'percent' | 'tags'>): string {
  return w.tags ? `${w.name} [${Object.entries(w.tags).map(([k, v]) => `${k}=${v}`).join(',')}]` : `${w.name} ${w.percent ?? 0}%`;
}

/** The wave that passed and waits for promote, and the label of the wave promote opens (null: it completes the rollout). */
export interface PromoteWait { wave: string; opens: string | null }

/** What a manual rollout waits for promote on: running, advance manual, its current wave passed; else null. */
export function promoteWait(r: Pick<Rollout, 'state' | 'advance' | 'currentWave' | 'waves'>): PromoteWait | null {
  const w = r.waves[r.currentWave];
  if (r.state !== 'running' || r.advance !== 'manual' || w?.state !== 'passed') return null;
  const next = r.waves[r.currentWave + 1];
  return { wave: w.name, opens: next ? waveLabel(next) : null };
}

/** `waiting for promote: wave canary passed (advance manual); PROMOTE opens wave all 100%`, PROMOTE the way to promote where it is said. */
export function promoteWaitText(p: PromoteWait, promote: string): string {
  return `waiting for promote: wave ${p.wave} passed (advance manual); ${promote} ${p.opens !== null ? `opens wave ${p.opens}` : 'completes the rollout'}`;
}
