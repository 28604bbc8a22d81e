// The time a device's windows claim, per model version (docs/hub.md "What the hub accepts from devices",
// docs/decisions/0086-a-device-claims-its-time-once.md). The rate bound of plausibility.ts holds per window;
// without this, windows of one device and version could claim the same seconds again under new seqs (3,500
// windows of 31 days at 1,000,000 predictions a second, all starting at one instant, were all stored).
//
// Per device and version the guard keeps where its latest window ends (`endMs`) and a credit of seconds. A
// window earns the seconds it reaches past `endMs` (new time) and spends the seconds it needs: its
// rate-bounded counts at their limits (neededSec). New time always pays for itself; a window over time
// already claimed pays from the credit, which keeps what new time left unspent up to `maxOverlapSec`.
// Honest overlaps need little: a restart or a late manifest opens a second window of the same minute, a
// clock stepped back within the skew, a compacted backlog's hour or day holds minutes already sent, a
// resend after a lost ack; each needs only what its box really counted, far below maxPredictionsPerSec.
// So per device and version the stored windows need at most the time they reach plus maxOverlapSec (and
// that again after the hub reloads the device: a restart, or past the guard's cache of devices).
import { latencyCount, type SeqWindow } from '@edgefleet/shared';

/** Where a device's windows of one version reach, and the seconds it may still claim again. */
export interface Cover {
  endMs: number;
  creditSec: number;
}

/** Output and input values a window may count per second (plausibility.ts MAX_VALUES_PER_SEC). */
export interface RateLimits {
  maxPredictionsPerSec: number;
  maxValuesPerSec: number;
}

/**
 * The fewest seconds a window needs to hold its counts at the rate limits: its predictions, requests
 * (latency samples) and labels at maxPredictionsPerSec, its outputs' and inputs' values at
 * maxValuesPerSec. Every other count is bounded by these (plausibility.ts), and the checks there keep it
 * within the window's length.
 */
export function neededSec(w: SeqWindow, lim: RateLimits): number {
  const rows = Math.max(w.count, latencyCount(w.latency), w.feedback?.labelled ?? 0);
  let values = 0;
  for (const o of w.outputs) values = Math.max(values, o.moments.n, o.hist ? o.hist.under + o.hist.over + o.hist.counts.reduce((a, b) => a + b, 0) : 0);
  for (const i of w.inputs) values = Math.max(values, i.moments.n + i.nans);
  return Math.min(w.lengthSec, Math.max(rows / lim.maxPredictionsPerSec, values / lim.maxValuesPerSec));
}

/**
 * Charges a window of `needSec` over [startMs, startMs + lengthSec) to `c`: false (and `c` unchanged) when
 * it reaches too little new time and the credit cannot pay the rest.
 */
export function claim(c: Cover, startMs: number, lengthSec: number, needSec: number, maxOverlapSec: number): boolean {
  const endMs = startMs + lengthSec * 1000;
  const fresh = Math.max(0, endMs - Math.max(startMs, c.endMs)) / 1000;
  const avail = c.creditSec + fresh;
  if (needSec > avail) return false;
  c.creditSec = Math.min(maxOverlapSec, avail - needSec);
  if (endMs > c.endMs) c.endMs = endMs;
  return true;
}
