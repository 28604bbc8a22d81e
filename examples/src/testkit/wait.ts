// The one way tests wait (docs/development.md): poll `check` until it returns a
// value (not undefined/false) and return it, or fail after `timeoutMs` naming
// what was awaited and the last error seen — so a stuck test says why. Tests wait
// on what the system recorded (rows, events, metrics, log lines), never a fixed sleep.
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, o: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let lastError: unknown;
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
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 500));
  }
}
