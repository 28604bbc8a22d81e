// A failure that repeats is logged once an interval per key (what failed and its error code) with how
// many were not logged since: a database that is down fails a timer's every run (webhooks every second,
// rollout steps every 5 s), and one line a minute says so as well as thousands would (docs/hub.md "Database").
import { toAppError } from '@edgefleet/shared';

export class LogThrottle {
  private readonly last = new Map<string, { at: number; unlogged: number }>();
  /** `maxKeys`: keys remembered at most (those a client names: its device id, its address); the least recently logged are forgotten first. */
  constructor(private readonly now: () => number, private readonly intervalMs = 60_000, private readonly maxKeys = Infinity) {}

  /** How many for `key` were not logged since its last line; null: do not log this one (counted). */
  take(key: string): number | null {
    const t = this.now();
    const l = this.last.get(key);
    if (l && t - l.at < this.intervalMs) {
      l.unlogged++;
      return null;
    }
    this.last.delete(key); // re-inserted: Map order is least recently logged first
    this.last.set(key, { at: t, unlogged: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    return l?.unlogged ?? 0;
  }

  /** Logs `err` under `msg` unless the same message and error code was logged within the interval. */
  error(logger: { error(obj: object, msg: string): void }, err: unknown, msg: string): void {
    const code = toAppError(err).code;
    const unlogged = this.take(`${msg}\u0000${code}`);
    if (unlogged !== null) logger.error({ err, code, unloggedBefore: unlogged }, `${msg} (logged once a minute while it repeats)`);
  }
}
