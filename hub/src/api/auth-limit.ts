// Throttles failed authentication per client address: every 401 (a missing, unknown or revoked API
// token, an unknown/expired/used-up enrollment token) takes one token from the address's bucket;
// an address with an empty bucket gets 429 RATE_LIMITED with Retry-After on every /api/v1 request
// until the bucket refills, so token guessing runs at the refill rate instead of thousands per
// second. Honest clients on other addresses are unaffected. Failures and refusals are counted in
// /metrics (docs/hub.md "Rate limits").
import type { MiddlewareHandler } from 'hono';
import { AppError } from '@edgefleet/shared';
import type { Metrics } from '../metrics.js';
import type { Clock } from '../clock.js';
import type { Env } from './http.js';

export interface AuthLimitOptions {
  /** Failures an address may make in a row before it is refused. */
  burst: number;
  /** Failures per minute forgiven (the bucket's refill rate). */
  perMinute: number;
  /** Addresses remembered at most; the one that failed least recently is forgotten first. */
  maxAddresses: number;
}

export const AUTH_LIMIT_DEFAULTS: AuthLimitOptions = { burst: 20, perMinute: 10, maxAddresses: 10_000 };

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-address failure buckets; time (ms) comes from the caller, so tests drive it with a fake clock. */
export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  readonly opts: AuthLimitOptions;

  constructor(opts: Partial<AuthLimitOptions> = {}) {
    this.opts = { ...AUTH_LIMIT_DEFAULTS, ...opts };
    const { burst, perMinute, maxAddresses } = this.opts;
    if (!(burst >= 1) || !(perMinute > 0) || !(maxAddresses >= 1)) {
      throw new AppError('CONFIG_INVALID', `auth failure limit needs burst >= 1, perMinute > 0 and maxAddresses >= 1; got ${burst}, ${perMinute}, ${maxAddresses}`);
    }
  }

  /** Milliseconds until `addr` may try again; 0 when it may now. */
  retryAfterMs(addr: string, now: number): number {
    const b = this.refill(addr, now);
    if (!b || b.tokens >= 1) return 0;
    return Math.ceil(((1 - b.tokens) * 60_000) / this.opts.perMinute);
  }

  /** Records a failed authentication from `addr`. */
  fail(addr: string, now: number): void {
    const b = this.refill(addr, now) ?? { tokens: this.opts.burst, at: now };
    b.tokens = Math.max(0, b.tokens - 1);
    // Re-inserted so that the map's order is least recently failed first (the eviction order).
    this.buckets.delete(addr);
    while (this.buckets.size >= this.opts.maxAddresses) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
    this.buckets.set(addr, b);
  }

  /** Addresses currently remembered (bounded by maxAddresses). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(addr: string, now: number): Bucket | undefined {
    const b = this.buckets.get(addr);
    if (!b) return undefined;
    if (now > b.at) {
      b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 60_000) * this.opts.perMinute);
      b.at = now;
    }
    // A full bucket is the same as none: forget it so that the map holds only recent offenders.
    if (b.tokens >= this.opts.burst) {
      this.buckets.delete(addr);
      return undefined;
    }
    return b;
  }
}

/** The peer address of a request served by @hono/node-server (its `incoming` binding); 'unknown' otherwise. */
export function clientAddress(env: unknown): string {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** The middleware for /api/v1/*: refuses throttled addresses, records 401s and counts both. */
export function authLimit(limiter: AuthFailureLimiter, metrics: Metrics, clock: Clock): MiddlewareHandler<Env> {
  metrics.describe('edgefleet_api_auth_failures_total', 'counter', 'API requests refused with 401 (missing, unknown or revoked token), by route');
  metrics.describe('edgefleet_api_auth_throttled_total', 'counter', 'API requests refused with 429 because their address failed authentication too often');
  return async (c, next) => {
    const addr = clientAddress(c.env);
    const wait = limiter.retryAfterMs(addr, clock.now().getTime());
    if (wait > 0) {
      metrics.inc('edgefleet_api_auth_throttled_total');
      const seconds = Math.ceil(wait / 1000);
      const e = new AppError('RATE_LIMITED', `too many failed authentications from ${addr}: retry in ${seconds} s (at most ${limiter.opts.burst} in a row, then ${limiter.opts.perMinute} per minute)`);
      return c.json({ error: e.toJSON() }, 429, { 'retry-after': String(seconds) });
    }
    await next();
    if (c.res.status === 401) {
      limiter.fail(addr, clock.now().getTime());
      const route = c.req.routePath && c.req.routePath !== '*' ? c.req.routePath : 'unmatched';
      metrics.inc('edgefleet_api_auth_failures_total', { route });
    }
    return undefined;
  };
}
