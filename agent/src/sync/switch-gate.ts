// When the agent may switch a model to the version a desired document names (docs/agent.md "When a
// switch happens", decision 0031): at once, unless a version of it is already active (then it is a
// switch under a running app) and either the box's update lock is in force or the document carries a
// maintenance window that is closed now, by this box's clock. Downloading and verifying never wait.
import { describeWindow, parseCron, windowAt, type Cron, type WindowSpec } from '@edgefleet/shared/core';
import type { UpdateLock } from '../store/update-lock-repo.js';

export type Deferral = { ok: false; code: 'OUTSIDE_WINDOW' | 'UPDATE_LOCKED'; message: string; until: number | null };
export type SwitchVerdict = { ok: true } | Deferral;

/** Calls off a switch whose version loaded while the lock was taken or the window closed (install/manager.ts activate's gate). */
export class SwitchDeferred extends Error {
  constructor(readonly verdict: Deferral) {
    super(`switch deferred: ${verdict.message}`);
  }
}

const crons = new Map<string, Cron>();
function cronOf(expr: string): Cron {
  let c = crons.get(expr);
  if (!c) {
    if (crons.size >= 64) crons.clear(); // bounded: expressions come from documents
    c = parseCron(expr);
    crons.set(expr, c);
  }
  return c;
}

/**
 * Whether a switch may happen at `now`, and if not why and until when: the later of the lock's expiry
 * and the window's next opening after it (the first time both allow it).
 */
export function switchVerdict(o: { window: WindowSpec | undefined; lock: UpdateLock | null; now: number }): SwitchVerdict {
  const { window: w, lock, now } = o;
  if (lock && lock.until > now) {
    // Where the window stands when the lock ends: the switch happens at the first time both allow.
    const after = w ? windowAt(w, lock.until, cronOf(w.cron)) : { open: true, until: lock.until };
    const until = after.open ? lock.until : after.until;
    return {
      ok: false, code: 'UPDATE_LOCKED', until,
      message: `the box's update lock is in force until ${new Date(lock.until).toISOString()} (${lock.reason})${w && !after.open ? `, then the maintenance window ${describeWindow(w)} opens ${until === null ? 'never again' : `at ${new Date(until).toISOString()}`}` : ''}`,
    };
  }
  if (!w) return { ok: true };
  const s = windowAt(w, now, cronOf(w.cron));
  if (s.open) return { ok: true };
  return {
    ok: false, code: 'OUTSIDE_WINDOW', until: s.until,
    message: `outside the maintenance window ${describeWindow(w)}: ${s.until === null ? 'it never opens again' : `it opens at ${new Date(s.until).toISOString()}`} (by this box's clock)`,
  };
}
