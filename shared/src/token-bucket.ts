// A token bucket for rate caps (hub blob bandwidth and MQTT quotas, agent backlog drain). Time comes
// from the caller, usually the wall clock: a step back is taken as no time passing, never as a stall.
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSec > 0) || !(burst > 0)) throw new Error(`token bucket needs a positive rate and burst, got ${ratePerSec}/${burst}`);
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
      this.last = now;
    } else if (now < this.last) {
      // The clock stepped back (NTP correcting a clock that ran ahead): no time passed, and the bucket
      // refills from here. Kept at the old mark, it would not refill until the clock passed it again.
      this.last = now;
    }
  }

  /** Takes `n` tokens if available now. */
  tryTake(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens >= n) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Milliseconds until `n` tokens are available (0 if now); n above the burst is capped to the burst. */
  waitMs(n: number, now: number): number {
    this.refill(now);
    const need = Math.min(n, this.burst) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need / this.ratePerSec) * 1000);
  }

  /** Takes `n` tokens, possibly going into debt so that a large block is paced rather than refused. */
  take(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }
}
