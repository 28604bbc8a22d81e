// The deadlines of Hub.stop() (hub.ts; docs/hub.md "Stopping"): each step's, their sum, and main.ts's exit by force.
/** Deadlines of Hub.stop()'s steps; main.ts exits by force if the process is still up after HUB_STOP_EXIT_MS. */
export const HUB_STOP_STEP_MS = { http: 2000, part: 1000, alerts: 500, broker: 3000, lease: 1500 };
/**
 * All of Hub.stop()'s steps together: each gets its own deadline cut to what is left of this, less the
 * broker's floor for the steps before the broker (StopBudget), so the store is closed before main.ts's
 * exit by force even when every step runs to its own deadline (their sum, ~12 s, is past it).
 */
export const HUB_STOP_MS = 8500;
/** Kept for closing the broker and its connections, whatever the steps before it took. */
export const HUB_STOP_BROKER_FLOOR_MS = 1000;
export const HUB_STOP_EXIT_MS = 9000;
/**
 * What the stop's statements may wait on PostgreSQL, all together from the signal's handling: none holds
 * the event loop (and so the exit timer) past it. A server that answers no probe fails them at once anyway.
 */
export const HUB_STOP_DB_MS = HUB_STOP_EXIT_MS - 1000;

/** Deadlines of one stop: a step's own, cut to what is left of HUB_STOP_MS (less what later steps keep). */
export class StopBudget {
  private readonly end: number;

  constructor(private readonly now: () => number = () => performance.now(), total = HUB_STOP_MS) {
    this.end = now() + total;
  }

  /** `stepMs`, or less when the budget's end, less `keep` for later steps, comes sooner; at least 0. */
  ms(stepMs: number, keep = 0): number {
    return Math.max(0, Math.min(stepMs, this.end - keep - this.now()));
  }
}
