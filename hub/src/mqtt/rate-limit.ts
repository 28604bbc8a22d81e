// Limits on MQTT connection attempts, on the injected clock (docs/mqtt.md "Connection limits"):
// - ConnectRateLimiter: attempts per remote address in fixed one-minute windows (a flood guard,
//   generous because many honest devices may share one NAT address);
// - FailureLimiter: FAILED authentications per key (device id, or address) in fixed one-minute
//   windows; a key over its limit is locked for a cool-down, so one client guessing secrets for
//   one id neither locks out its neighbours behind the same address nor gets more guesses by
//   moving to another address. Every map is bounded; the oldest entries are dropped first.
import type { ClockPort } from './ports.js';

const MINUTE = 60_000;

export class ConnectRateLimiter {
  /** Each address's current window, oldest start first (a renewed window is inserted again at the end). */
  private readonly windows = new Map<string, { start: number; count: number }>();
  /** maxKeys: at most this many addresses are tracked; past it the oldest window is forgotten (many addresses in one minute, IPv6). */
  constructor(private readonly perMinute: number, private readonly clock: ClockPort, private readonly maxKeys = 100_000) {
    if (!Number.isInteger(perMinute) || perMinute < 1) {
      throw new Error(`connectRateLimit.perAddressPerMinute must be a positive integer, got ${perMinute}`);
    }
  }

  /** Records one attempt; true when it is within the limit. */
  allow(address: string): boolean {
    const now = this.clock.now().getTime();
    let w = this.windows.get(address);
    if (!w || now - w.start >= MINUTE) {
      if (w) this.windows.delete(address);
      this.expire(now);
      if (this.windows.size >= this.maxKeys) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { start: now, count: 0 };
      this.windows.set(address, w);
    }
    w.count++;
    return w.count <= this.perMinute;
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.windows.size;
  }

  /** Drops ended windows from the front: in start order, so it stops at the first still open (no scan of the rest). */
  private expire(now: number): void {
    for (const [addr, w] of this.windows) {
      if (now - w.start < MINUTE) break;
      this.windows.delete(addr);
    }
  }
}

export interface FailureLimiterOptions {
  /** Failures per key in one minute; the one that reaches it locks the key (so at most this many secrets are checked). */
  perMinute: number;
  /** How long a locked key stays locked, from the failure that locked it. */
  coolDownMs: number;
  /** At most this many keys are tracked; the least recently failed is forgotten first. */
  maxKeys: number;
  /** Names the setting in error messages. */
  name: string;
}

interface FailureEntry { start: number; count: number; lockedUntil: number }

export class FailureLimiter {
  private readonly entries = new Map<string, FailureEntry>();
  constructor(private readonly opts: FailureLimiterOptions, private readonly clock: ClockPort) {
    for (const k of ['perMinute', 'maxKeys'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`${opts.name}.${k} must be a positive integer, got ${opts[k]}`);
    }
    if (!Number.isInteger(opts.coolDownMs) || opts.coolDownMs < 0) {
      throw new Error(`${opts.name}.coolDownMs must be a non-negative integer, got ${opts.coolDownMs}`);
    }
  }

  /** When the key is locked, the time (ms) until which it is; otherwise null. */
  lockedUntil(key: string): number | null {
    const e = this.entries.get(key);
    if (!e) return null;
    return e.lockedUntil > this.clock.now().getTime() ? e.lockedUntil : null;
  }

  /** Records one failure; true when this failure locked the key. */
  fail(key: string): boolean {
    const now = this.clock.now().getTime();
    let e = this.entries.get(key);
    if (e) this.entries.delete(key); // re-inserted below: Map order is least recently failed first
    if (!e || now - e.start >= MINUTE) e = { start: now, count: 0, lockedUntil: e?.lockedUntil ?? 0 };
    e.count++;
    let locked = false;
    if (e.count >= this.opts.perMinute && e.lockedUntil <= now) {
      e.lockedUntil = now + this.opts.coolDownMs;
      locked = true;
    }
    this.entries.set(key, e);
    while (this.entries.size > this.opts.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return locked;
  }

  /** Keys tracked now (for tests of the bound and for metrics). */
  size(): number {
    return this.entries.size;
  }
}
