// The one way tests wait (docs/development.md): poll `check` until it returns a
// value (not undefined/false) and return it, or fail after `timeoutMs` naming
// what was awaited and the last error seen — so a stuck test says why. Tests wait
// on what the system recorded (rows, events, metrics, log lines), never a fixed sleep.
export interface WaitOptions {
  timeoutMs?: number;
  /** A fixed interval between checks. Without it the first checks come quickly (10 ms, doubling up to
   *  500 ms): most waits are for something a few milliseconds away, and a fixed 500 ms made every such
   *  wait cost half a second (docs/development.md "Test run time"). */
  intervalMs?: number;
}

const FIRST_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 500;

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, o: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let lastError: unknown;
  let interval = o.intervalMs ?? FIRST_INTERVAL_MS;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${o.timeoutMs ?? 60_000} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
    if (o.intervalMs === undefined) interval = Math.min(interval * 2, MAX_INTERVAL_MS);
  }
}
