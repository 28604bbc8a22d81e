// What an operator can do next with a rollout, named where they read why it stopped: a pause for a failed
// or stuck wave (its stateReason) and a refused action (409 CONFLICT), so neither is a dead end
// (docs/rollouts.md "Operator actions").
import type { RolloutRecord } from '../store/rollouts-repo.js';
import { acceptable } from './accept.js';

/** After a wave paused failed or stuck: the actions that take it on, as `rollout show` words them. */
export const PAUSED_WAYS_ON = 'resume judges it again, promote --accept GATE accepts a gate for the wave, abort or roll back ends it';

/** The blocking gates of the current wave an operator may accept now (pending, or failed while paused). */
function acceptableNow(r: RolloutRecord): string[] {
  const p = r.progress[r.currentWave];
  if (!p || (p.state !== 'evaluating' && p.state !== 'failed')) return [];
  return acceptable(p).map((g) => g.name);
}

/** The commands that do apply to the rollout in its state now, for a refusal's message. */
export function waysOn(r: RolloutRecord): string {
  const cmd = (action: string, extra = '') => `edgefleet rollout ${action} ${r.id}${extra} --reason "..."`;
  const accept = acceptableNow(r);
  const acceptIt = accept.length ? `; ${cmd('promote', ` --accept ${accept[0]}`)} accepts a gate it waits for (${accept.join(', ')})` : '';
  const p = r.progress[r.currentWave];
  const wave = r.waves[r.currentWave]?.name ?? '?';
  switch (r.state) {
    case 'paused':
      return `${cmd('resume')} runs it again${acceptIt}; abort or rollback ends it`;
    case 'running':
      if (p?.state === 'baking') return `${cmd('promote')} skips the rest of wave ${wave}'s bake; pause, abort or rollback stop it`;
      if (p?.state === 'passed') return `${cmd('promote')} moves it on from wave ${wave}; pause, abort or rollback stop it`;
      if (p?.state === 'evaluating') return `wave ${wave} waits for its gates${acceptIt}; pause, abort or rollback stop it`;
      return `wave ${wave} is ${p?.state ?? 'pending'}: its gates are judged after its bake; pause, abort or rollback stop it`;
    case 'completed':
    case 'aborted':
      return `it has ended: ${cmd('rollback')} sends its devices back, or create a new rollout`;
    case 'rolled_back':
      return 'it has ended and its devices were sent back: create a new rollout (edgefleet rollout create)';
  }
}
