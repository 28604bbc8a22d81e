// Awaiting with a deadline, for stop paths: every await there that can depend on the network (an
// MQTT puback, a client that never closes its socket) must end in bounded time so that a process
// stops within its budget in every state (docs/agent.md, docs/hub.md "Stopping").

/** Thrown by withDeadline when `what` did not settle within `ms`. */
export class DeadlineError extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/**
 * Resolves or rejects like `work` if it settles within `ms`, else rejects with a DeadlineError naming
 * `what`. The work itself is not cancelled (a later rejection of it is swallowed, not unhandled):
 * callers that can cancel do so on a DeadlineError.
 */
export function withDeadline<T>(work: Promise<T> | T, ms: number, what: string): Promise<T> {
  const p = Promise.resolve(work);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  // If the deadline wins, the work may still reject later: that must not become an unhandled rejection.
  p.catch(() => undefined);
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Like withDeadline, but never rejects: a failure or a missed deadline is passed to `onFail` (log it)
 * and the stop path goes on with its next step.
 */
export async function settleWithin(work: Promise<unknown> | unknown, ms: number, what: string, onFail: (err: unknown) => void): Promise<void> {
  try {
    await withDeadline(work, ms, what);
  } catch (err) {
    onFail(err);
  }
}
