// What the embedded broker refused (docs/mqtt.md "Identity and access control"): each refusal is counted
// in edgefleet_mqtt_refused_total{reason}, and logged at most once a minute per reason and device id (or
// address, before a device is known) with how many were not logged since. A device whose SUBSCRIBE
// packets carried four refused 60,000-character filters each wrote 69 MiB of log in 7 s, and 590
// CONNECTs with 65,000-character usernames 37 MiB: what a client chose (ids, topics, the reasons naming
// them) is cut to CLIPPED_CHARS in the line.
import { LogThrottle } from '../log-throttle.js';
import type { ClockPort, LoggerPort, MetricsPort } from './ports.js';

/** Characters of a client's string kept in a log line; the rest is replaced by its length. */
export const CLIPPED_CHARS = 256;

/** Devices and addresses whose last refusal line is remembered at most. */
const MAX_KEYS = 10_000;

/** A client's string as a log line shows it: whole up to CLIPPED_CHARS, else its start and its length. */
export function clip(s: string): string {
  return s.length <= CLIPPED_CHARS ? s : `${s.slice(0, CLIPPED_CHARS)}… (${s.length} characters)`;
}

export class RefusalLog {
  private readonly throttle: LogThrottle;

  constructor(private readonly deps: { metrics: MetricsPort; logger: LoggerPort; clock: ClockPort; intervalMs?: number | undefined }) {
    this.throttle = new LogThrottle(() => deps.clock.now().getTime(), deps.intervalMs ?? 60_000, MAX_KEYS);
  }

  /** Counts the refusal; logs it unless one of the same reason for the same `who` (device id or address) was logged within the interval. */
  refuse(reason: string, who: string, fields: Record<string, unknown>): void {
    this.deps.metrics.inc('edgefleet_mqtt_refused_total', { reason });
    const unlogged = this.throttle.take(`${reason}\u0000${clip(who)}`);
    if (unlogged === null) return;
    const shown = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? clip(v) : v]));
    this.deps.logger.warn({ ...shown, unloggedBefore: unlogged }, `mqtt refused: ${reason}`);
  }
}
