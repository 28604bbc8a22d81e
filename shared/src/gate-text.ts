// What a rollout gate's value must do to pass, as the CLI (`rollouts show`) and the console's rollout page
// both say it (docs/rollouts.md#gates). Pure, no zod: the console bundle imports it.
import type { GateResult } from './wire/rollout-state.js';

/** Gates whose value must reach their threshold; every other gate's value must stay at or under it. */
export const GATES_AT_LEAST: ReadonlySet<GateResult['name']> = new Set<GateResult['name']>(
  ['install_success', 'config_applied', 'reporting', 'predictions', 'shadow_agreement', 'replay_agreement']);

/** The unit of a gate's value and threshold, where it has one (milliseconds for the latency gates). */
export function gateUnit(name: GateResult['name']): string {
  return name === 'latency_p95' || name === 'preflight_p95' ? ' ms' : '';
}

/** A gate's value as shown: `-` for none, else the number with its unit (`1.522 ms`). */
export function gateValue(g: GateResult, fmt: (v: number) => string = String): string {
  return g.value === null ? '-' : `${fmt(g.value)}${gateUnit(g.name)}`;
}

/**
 * The gate's condition: `>= 0.95` or `<= 12.5` (with the given symbols); `not judged` for a gate shown for
 * information only (its note says why); `<= control p95, none yet` for a latency gate waiting for the control
 * devices' first answers, whose threshold (0 on the wire) is not known yet.
 */
export function gateCondition(g: GateResult, fmt: (v: number) => string = String, sym = { atLeast: '>=', atMost: '<=' }): string {
  if (gateVerdict(g) === 'not judged') return 'not judged';
  if (g.name === 'latency_p95' && g.against === 'control' && g.threshold === 0) return `${sym.atMost} control p95, none yet`;
  return `${GATES_AT_LEAST.has(g.name) ? sym.atLeast : sym.atMost} ${fmt(g.threshold)}${gateUnit(g.name)}`;
}

/**
 * The verdict as shown: `not judged` for a gate shown for information only (its note says why); `over` for
 * one over its threshold that never blocks (input_drift: it explains, "fail" beside it read as the wave
 * failing); `accepted by NAME` for one an operator accepted for the wave; else pass, fail or pending.
 */
export function gateVerdict(g: GateResult): string {
  if (g.accepted) return `accepted by ${g.accepted.by}`;
  if (g.blocking) return g.verdict;
  if (g.note !== undefined) return 'not judged';
  return g.verdict === 'fail' ? 'over' : g.verdict;
}
