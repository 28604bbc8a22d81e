// A shadow stage's devices the hub holds back (docs/rollouts.md "Shadow stage", docs/decisions/0129-model-backends-checked.md,
// addendum): their backend is known not to load the candidate, so their documents name no shadow
// (deployments/desired.ts shadowOf) and they send no shadow runs. The stage's gate leaves them out, naming them,
// as a model wave leaves out a told device held back (model-wave.ts): they are not counted as disagreeing.
import type { GateResult } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import { heldNote, shadowHeldWhy } from '../deployments/backends.js';

/** `deviceIds` split into those rollout `r`'s candidate (its model and version) is sent to as a shadow and those held back. */
export function shadowHeldBack(store: Store, deviceIds: readonly string[], r: { id: string; model: string; version: string }): { sent: string[]; held: string[] } {
  const c = store.models.get(r.model, r.version);
  const held = Object.keys(c.backends?.refused ?? {}).length ? deviceIds.filter((id) => shadowHeldWhy(store, id, c, r.id) !== null) : [];
  const out = new Set(held);
  return { sent: deviceIds.filter((id) => !out.has(id)), held };
}

/** The gate with the held-back devices named on its note (heldNote), unchanged when none. */
export function withHeldNote(gate: GateResult, held: readonly string[]): GateResult {
  const note = heldNote(held);
  return note ? { ...gate, note: gate.note ? `${gate.note}; ${note}` : note } : gate;
}
