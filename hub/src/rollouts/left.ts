// A device leaving a rollout it was placed in, said in the rollout's own audit trail (GET /audit?target=ROLLOUT,
// `edgefleet audit --target ro-…`, the console's rollout page): one entry per rollout left, the rollout as
// target, in the transaction that made it leave. Its box enrolled again (replaced.ts) or re-tagged out of the
// target (retag.ts): docs/decisions/0164-rollouts-trail-a-device-leaving.md.
import type { Store } from '../store/index.js';

/** `rollout.device_replaced`: left while offline (connected, it counts); `rollout.device_left`: left for good. */
export type LeftAction = 'rollout.device_replaced' | 'rollout.device_left';

export interface LeftEntry {
  action: LeftAction;
  actor: string;
  actorId: string | null;
  at: Date;
  /** Why, in the words of that rollout's trail. */
  reason: (rolloutId: string) => string;
  details: Record<string, unknown>;
}

export function auditLeft(store: Store, rollouts: readonly string[], entry: LeftEntry): void {
  const { reason, ...rest } = entry;
  for (const id of rollouts) store.audit.append({ ...rest, target: id, reason: reason(id) });
}
