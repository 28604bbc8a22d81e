// The one way tests wait (docs/development.md): poll `check` until it returns a
// value (not undefined/false) and return it, or fail after `timeoutMs` naming
// what was awaited and the last error seen — so a stuck test says why (and, given
// `explain`, what the system showed then). A check that
// itself never returns (a request nobody answers) ends the wait at the same deadline,
// saying so, instead of holding the test until the file's timeout. Tests wait
// on what the system recorded (rows, events, metrics, log lines), never a fixed sleep.
export interface WaitOptions {
  timeoutMs?: number;
  /** A fixed interval between checks. Without it the first checks come quickly (10 ms, doubling up to
   *  500 ms): most waits are for something a few milliseconds away, and a fixed 500 ms made every such
   *  wait cost half a second (docs/development.md "Test run time"). */
  intervalMs?: number;
  /** How long past the deadline a check that has not returned is given before the wait ends (5 s). */
  stuckGraceMs?: number;
  /**
   * What the system shows when the wait times out (a status, rows, programs' last lines), added to the error:
   * a wait that timed out once in a CI run carries its own evidence. Its own failure is named instead.
   */
  explain?: () => Promise<string> | string;
  /** How long `explain` is given (15 s). */
  explainMs?: number;
}

const FIRST_INTERVAL_MS = 10;

/** A check still running STUCK_GRACE_MS past the deadline: the wait ends there, saying so. */
const STUCK_GRACE_MS = 5_000;
class StuckCheck extends Error {}
const MAX_INTERVAL_MS = 500;
const EXPLAIN_MS = 15_000;

/** `err` with what `o.explain` says appended (or why it said nothing). */
async function explained(err: Error, o: WaitOptions): Promise<Error> {
  const { explain, explainMs = EXPLAIN_MS } = o;
  if (!explain) return err;
  let timer: NodeJS.Timeout | undefined;
  const said = await Promise.race([
    Promise.resolve().then(explain).catch((e: unknown) => `(explaining failed: ${(e as Error)?.message ?? String(e)})`),
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve(`(explaining took over ${explainMs} ms)`), explainMs); }),
  ]).finally(() => clearTimeout(timer));
  return new Error(`${err.message}\n${said}`, { cause: err });
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, o: WaitOptions = {}): Promise<T> {
  try {
    return await poll(what, check, o);
  } catch (err) {
    throw await explained(err as Error, o);
  }
}

async function poll<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let lastError: unknown;
  let interval = o.intervalMs ?? FIRST_INTERVAL_MS;
  const timedOut = (why: string) => new Error(`timed out after ${o.timeoutMs ?? 60_000} ms waiting for ${what}${why}`);
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StuckCheck(timedOut(' (the last check had not returned)').message)), Math.max(0, deadline - Date.now()) + (o.stuckGraceMs ?? STUCK_GRACE_MS));
      });
      const v = await Promise.race([Promise.resolve().then(check), stuck]);
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof StuckCheck) throw err;
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline) {
      throw timedOut(lastError ? ` (last error: ${(lastError as Error).message})` : '');
    }
    await new Promise((r) => setTimeout(r, interval));
    if (o.intervalMs === undefined) interval = Math.min(interval * 2, MAX_INTERVAL_MS);
  }
}
