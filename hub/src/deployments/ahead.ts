// A device that reports applying a desired document newer than any this hub holds (docs/operations.md
// "Backup and restore"): the hub reissues the device's current document above that seq so the device
// converges. The seq is the device's word, so the reissue is bounded (docs/hub.md "What the hub accepts
// from devices"): at most one per device every AHEAD_REISSUE_EVERY_MS. The reissued document is numbered
// above the reported seq, so the same seq is never ahead again: one reissue per reported value as well.
// A device still ahead within the interval, or one too far ahead to believe (SEQ_AHEAD_MAX), is refused:
// counted, and logged at most once per device and interval with the number refused since.
// The counts live in memory, per hub (several hubs: each bounds its own reissues).
import type { LoggerPort } from '../mqtt/ports.js';
import { SEQ_AHEAD_MAX } from './desired.js';

/**
 * At most one reissue per device in this time, and at most one refusal logged. An honest device applies
 * the reissued document within seconds and is no longer ahead; one still ahead is not a restored hub's.
 */
export const AHEAD_REISSUE_EVERY_MS = 5 * 60_000;

/** `far_ahead`: more than SEQ_AHEAD_MAX above the hub's seq; `too_soon`: ahead again within AHEAD_REISSUE_EVERY_MS of a reissue. */
export type AheadRefusal = 'far_ahead' | 'too_soon';

export interface AheadCounts {
  reissued: number;
  refused: Partial<Record<AheadRefusal, number>>;
}

interface Entry extends AheadCounts {
  reissuedAt: number;
  loggedAt: number;
  unlogged: number;
}

export class AheadOfHub {
  /** One entry per device that ever reported ahead (bounded by the enrolled devices: device ids are authenticated). */
  private readonly devices = new Map<string, Entry>();

  constructor(private readonly logger: LoggerPort) {}

  /**
   * Whether to reissue the device's document above `applied` now (the caller saw `applied` above `last`,
   * the hub's own seq for the device). What it refuses it counts and logs.
   */
  reissue(deviceId: string, applied: number, last: number, now: Date): boolean {
    const e = this.entry(deviceId);
    const t = now.getTime();
    const reason: AheadRefusal | null = applied - last > SEQ_AHEAD_MAX ? 'far_ahead' : t - e.reissuedAt < AHEAD_REISSUE_EVERY_MS ? 'too_soon' : null;
    if (reason === null) {
      e.reissued++;
      e.reissuedAt = t;
      this.logger.warn({ deviceId, applied, last }, 'device applied a newer desired document than this hub holds (restored hub?): reissuing above it');
      return true;
    }
    e.refused[reason] = (e.refused[reason] ?? 0) + 1;
    if (t - e.loggedAt >= AHEAD_REISSUE_EVERY_MS) {
      const what = reason === 'far_ahead'
        ? 'device reports a desired seq far above the hub\'s own: ignored'
        : 'device still reports a desired seq above the hub\'s own after a reissue: ignored until the interval passes';
      this.logger.warn({ deviceId, applied, last, reason, alsoRefusedSinceLastLog: e.unlogged }, what);
      e.loggedAt = t;
      e.unlogged = 0;
    } else {
      e.unlogged++;
    }
    return false;
  }

  /** Reissues and refusals of a device since the hub started, or undefined when it never reported ahead. */
  counts(deviceId: string): AheadCounts | undefined {
    const e = this.devices.get(deviceId);
    return e && { reissued: e.reissued, refused: { ...e.refused } };
  }

  private entry(deviceId: string): Entry {
    let e = this.devices.get(deviceId);
    if (!e) {
      e = { reissued: 0, refused: {}, reissuedAt: -Infinity, loggedAt: -Infinity, unlogged: 0 };
      this.devices.set(deviceId, e);
    }
    return e;
  }
}
