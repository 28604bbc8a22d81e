// The offset between the hub's clock and this computer's, from the `Date` header of the hub's answers
// (whole seconds, RFC 9110 §6.6.1), so the console measures ages against the clock that stamped what it shows
// (docs/console.md "Ages"). An answer to a request sent at S and received at L (this computer's ms) with Date D
// bounds it: the hub's time was at least D when the answer arrived (offset >= D - L) and below D + 1 s when the
// request left (offset < D + 1000 - S). Successive answers' bounds are intersected; one outside them (either
// clock was set, or a proxy with another clock answered) starts again from it.

export class ClockOffset {
  private lo = 0;
  private hi = 0;
  private known = false;

  /** An answer's Date header (null or unparsable: nothing learnt), the request sent at `sent` and answered at `got`. */
  note(date: string | null, sent: number, got: number): void {
    const d = date ? Date.parse(date) : NaN;
    if (!Number.isFinite(d) || got < sent) return;
    const l = d - got;
    const h = d + 1000 - sent;
    if (this.known && l <= this.hi && h >= this.lo) [this.lo, this.hi] = [Math.max(this.lo, l), Math.min(this.hi, h)];
    else [this.lo, this.hi, this.known] = [l, h, true];
  }

  /** The hub's clock minus this computer's (ms), the middle of what is known; 0 until an answer said. */
  ms(): number {
    return this.known ? Math.round((this.lo + this.hi) / 2) : 0;
  }
}
