// Connection attempts per remote address, in fixed one-minute windows on the
// injected clock. Small and allocation-light: one entry per address seen in the
// current window; old entries are swept when the map grows.
import type { ClockPort } from './ports.js';

export class ConnectRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number, private readonly clock: ClockPort) {
    if (!Number.isInteger(perMinute) || perMinute < 1) {
      throw new Error(`connectRateLimit.perAddressPerMinute must be a positive integer, got ${perMinute}`);
    }
  }

  /** Records one attempt; true when it is within the limit. */
  allow(address: string): boolean {
    const now = this.clock.now().getTime();
    let w = this.windows.get(address);
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size > 10_000) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(address, w);
    }
    w.count++;
    return w.count <= this.perMinute;
  }

  private sweep(now: number): void {
    for (const [addr, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(addr);
  }
}
