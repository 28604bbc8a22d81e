// What one evaluation does to the open alert of a rule and key (docs/drift.md "Alerts", decision
// 0060): a pure function of the stored alert, whether the value is breached, the time and the rule's
// hold times, so the evaluator can decide before its write transaction and decide again inside it.
//
// - Breached and no open alert: a pending alert starts; it fires once it has been breached `forSec`
//   at every evaluation (at once when forSec is 0). Not breached while pending: it is dropped.
// - Firing and not breached: the breach is over since then (`clearSince`); the alert resolves once it
//   has been over `keepFiringForSec` at every evaluation (at once when 0). Breached again meanwhile: it
//   keeps firing as the same alert, nothing is sent, and a later end of breach starts a new count.
// - Both hold times live in the database (started_at, clear_since), so a hub restart, or another hub
//   taking over the lease, goes on with them. They count only time the hub was watching: when the last
//   evaluation of the alert is more than `maxGapMs` ago (the hub was down, or could not read the rule),
//   the running hold starts again at this evaluation rather than counting time nobody looked.
import type { Alert } from '@edgefleet/shared';

/**
 * Evaluations further apart than this do not count as watching an alert: three intervals (one
 * missed or slow pass is not a gap), and at least 5 minutes (a restart or a lease takeover is not one).
 */
export function gapToleranceMs(evaluateEveryMs: number): number {
  return Math.max(300_000, 3 * evaluateEveryMs);
}

export interface Hold {
  forSec: number;
  keepFiringForSec: number;
  /** The longest gap between two evaluations that still counts as watching (AlertsOptions.maxGapMs). */
  maxGapMs: number;
}

/** The open alert as far as a decision needs it. */
export type OpenAlert = Pick<Alert, 'id' | 'state' | 'startedAt' | 'lastEvaluatedAt' | 'clearSince'>;

export type Step =
  | { kind: 'none' }
  /** A new pending alert (it may fire in the same step when forSec is 0: then `fire` follows). */
  | { kind: 'start'; fire: boolean }
  /** An open alert evaluated: value and time recorded; a restarted hold or a changed clearSince with it. */
  | { kind: 'update'; startedAt?: Date; clearSince?: Date | null }
  | { kind: 'fire' }
  | { kind: 'drop' }
  | { kind: 'resolve' };

export function decide(open: OpenAlert | null, breached: boolean, now: Date, hold: Hold): Step {
  const t = now.getTime();
  const forMs = hold.forSec * 1000;
  const keepMs = hold.keepFiringForSec * 1000;
  if (!open) return breached ? { kind: 'start', fire: forMs === 0 } : { kind: 'none' };
  const watched = t - Date.parse(open.lastEvaluatedAt) <= hold.maxGapMs;
  if (open.state === 'pending') {
    if (!breached) return { kind: 'drop' };
    if (!watched) return forMs === 0 ? { kind: 'fire' } : { kind: 'update', startedAt: now };
    return t - Date.parse(open.startedAt) >= forMs ? { kind: 'fire' } : { kind: 'update' };
  }
  // Firing.
  if (breached) return open.clearSince === null ? { kind: 'update' } : { kind: 'update', clearSince: null };
  if (keepMs === 0) return { kind: 'resolve' };
  if (open.clearSince === null || !watched) return { kind: 'update', clearSince: now };
  return t - Date.parse(open.clearSince) >= keepMs ? { kind: 'resolve' } : { kind: 'update' };
}
