// The hub's clock as the console estimates it, so an age ("3 min ago") is measured against the clock that
// stamped what it shows, not this computer's (which may be minutes off). Each answer's `Date` header (whole
// seconds, the hub's or its proxy's) bounds the offset: the hub's time was at least D when the answer
// arrived, and below D + 1 s when the request left. The bounds of successive answers are intersected; a
// sample outside them (either clock was set) starts again from it. (docs/console.md "Ages".)

let lo = 0;
let hi = 0;
let known = false;

/** An answer's Date header, the request sent at `sent` and answered at `got` (this computer's epoch ms). */
export function noteHubDate(date: string | null, sent: number, got: number): void {
  const d = date ? Date.parse(date) : NaN;
  if (!Number.isFinite(d)) return;
  const [l, h] = [d - got, d + 1000 - sent];
  if (known && l <= hi && h >= lo) [lo, hi] = [Math.max(lo, l), Math.min(hi, h)];
  else [lo, hi, known] = [l, h, true];
}

/** The hub's time now (epoch ms), as best known: this computer's until an answer said otherwise. */
export const hubNow = (): number => Date.now() + (known ? Math.round((lo + hi) / 2) : 0);
