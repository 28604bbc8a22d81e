// Detects one device's credentials in use by two connections at once (docs/mqtt.md
// "Credentials in use twice"). MQTT gives a client id one session: a second CONNECT takes the
// session over and closes the first, which reconnects and takes it back, every few seconds,
// silently. One takeover is normal (a device reconnecting over a half-open link); `threshold`
// takeovers within `windowMs` are reported, at most once per device per `reportIntervalMs`.
// Bounded: at most `maxDevices` devices are tracked; the least recently seen is forgotten first.
import type { ClockPort } from './ports.js';

export interface CredentialsInUseTwice {
  /** When it was last reported (ISO time). */
  at: string;
  /** Takeovers within the window when it was reported. */
  takeovers: number;
}

export interface TakeoverWatchOptions {
  threshold: number;
  windowMs: number;
  reportIntervalMs: number;
  maxDevices: number;
}

export const DEFAULT_TAKEOVER_WATCH: TakeoverWatchOptions = { threshold: 3, windowMs: 60_000, reportIntervalMs: 10 * 60_000, maxDevices: 100_000 };

interface Entry { times: number[]; reported: CredentialsInUseTwice | null; reportedAtMs: number }

export class TakeoverWatch {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly opts: TakeoverWatchOptions, private readonly clock: ClockPort) {
    for (const k of ['threshold', 'windowMs', 'reportIntervalMs', 'maxDevices'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`takeovers.${k} must be a positive integer, got ${opts[k]}`);
    }
  }

  /** Records one takeover of the device's session; returns a report when one is due now. */
  takeover(deviceId: string): CredentialsInUseTwice | null {
    const now = this.clock.now().getTime();
    const e = this.entries.get(deviceId) ?? { times: [], reported: null, reportedAtMs: 0 };
    this.entries.delete(deviceId); // re-inserted: Map order is least recently seen first
    e.times = e.times.filter((t) => now - t < this.opts.windowMs);
    e.times.push(now);
    // The window holds at most `threshold` times: enough to decide, bounded per device.
    if (e.times.length > this.opts.threshold) e.times.shift();
    this.entries.set(deviceId, e);
    while (this.entries.size > this.opts.maxDevices) this.entries.delete(this.entries.keys().next().value as string);
    if (e.times.length < this.opts.threshold) return null;
    if (e.reported && now - e.reportedAtMs < this.opts.reportIntervalMs) return null;
    e.reported = { at: new Date(now).toISOString(), takeovers: e.times.length };
    e.reportedAtMs = now;
    return e.reported;
  }

  /** The last report for the device, if it is still tracked. */
  last(deviceId: string): CredentialsInUseTwice | null {
    return this.entries.get(deviceId)?.reported ?? null;
  }

  size(): number {
    return this.entries.size;
  }
}
