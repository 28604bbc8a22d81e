// The line `npm start` prints about the console (docs/fleet.md, step 3): where it is, once the hub answered its
// page; or that the hub has no build of it (`/` answers 503) and what to run; or that the hub did not answer.
/** Asks the hub at `http` for `/` (within `timeoutMs`) and says where the console is, or why it is not there. */
export async function consoleLine(http: string, timeoutMs = 5000): Promise<string> {
  try {
    const res = await fetch(`${http}/`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok ? `console ${http}/ (sign in with the admin token)`
      : `console not built (GET / answered ${res.status}, expected 200): run \`npm run build\`, then open ${http}/`;
  } catch (err) {
    const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    return `console ${http}/ did not answer (${why}): see the hub's log`;
  }
}
