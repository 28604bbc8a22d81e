// Paces each device's state reports by their bytes (docs/mqtt.md "State reports"). Handling a state
// report costs CPU in proportion to its size (parse, schema, one row per model and version: ~0.25 ms per
// KB on this machine), and the MQTT quota counts messages, not their cost, so one device sending 100
// large reports a second would keep the hub busy. A report over maxStateBytes is refused; past a
// device's byte rate the newest report waits (held, replacing any older one still waiting, whose
// content it supersedes: a state report is the whole state) until the rate allows it. An honest agent
// coalesces its reports (at most one per 250 ms) and never comes near the rate.
//
// Order: windows and events may name a version the device's state reported installed, so before them
// a held report is handled first, paid for by going into debt, unless the device's debt would pass one
// burst (a device alternating state reports and telemetry to get past the rate).
import { TokenBucket } from '@edgefleet/shared';

export interface StatePacingLimits {
  /** A state report larger than this is refused. */
  maxStateBytes: number;
  /** Bytes of state reports a device may have handled per second (sustained). */
  stateBytesPerSec: number;
}

export const DEFAULT_STATE_PACING: StatePacingLimits = { maxStateBytes: 64 * 1024, stateBytesPerSec: 16 * 1024 };

/** A device may send this many of its largest reports at once (on connect, say) before the rate applies. */
export const STATE_BURST_REPORTS = 4;
/** Bytes held in all, past which a report is handled at once instead of held (memory over pacing). */
export const MAX_HELD_BYTES = 64 * 1024 * 1024;
/** Devices whose bucket is kept; past it the least recently added are forgotten (they start full again). */
const MAX_TRACKED = 100_000;

interface Held {
  topic: string;
  payload: Buffer;
  timer: ReturnType<typeof setTimeout>;
}

export type StateOffer = 'now' | 'held' | 'too_large';

export class StatePacer {
  readonly limits: StatePacingLimits;
  private readonly burst: number;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly held = new Map<string, Held>();
  private heldBytes = 0;
  /** Reports held, and replaced while held, since start (the ingress counts held ones on /metrics). */
  stats = { held: 0, replaced: 0 };

  constructor(
    limits: Partial<StatePacingLimits>,
    /** Handles a report (the ingress' parse and dispatch). */
    private readonly handle: (topic: string, payload: Buffer) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly maxHeldBytes = MAX_HELD_BYTES,
  ) {
    this.limits = { ...DEFAULT_STATE_PACING, ...limits };
    this.burst = STATE_BURST_REPORTS * this.limits.maxStateBytes;
  }

  /** `now`: handle it; `held`: it waits (handled later by `handle`); `too_large`: refuse it. */
  offer(deviceId: string, topic: string, payload: Buffer): StateOffer {
    if (payload.length > this.limits.maxStateBytes) return 'too_large';
    const bucket = this.bucket(deviceId);
    const t = this.now();
    const old = this.held.get(deviceId);
    if (!old && bucket.tryTake(payload.length, t)) return 'now';
    if (!old && this.heldBytes + payload.length > this.maxHeldBytes) {
      bucket.take(payload.length, t);
      return 'now';
    }
    if (old) {
      this.stats.replaced++;
      clearTimeout(old.timer);
      this.heldBytes -= old.payload.length;
    }
    this.stats.held++;
    const timer = setTimeout(() => this.release(deviceId), Math.max(1, bucket.waitMs(payload.length, t)));
    timer.unref?.();
    this.held.set(deviceId, { topic, payload, timer });
    this.heldBytes += payload.length;
    return 'held';
  }

  /** Before a device's windows or events: its held report is handled first, unless its debt would pass one burst. */
  flush(deviceId: string): void {
    const h = this.held.get(deviceId);
    if (!h) return;
    const bucket = this.bucket(deviceId);
    const t = this.now();
    if (bucket.waitMs(h.payload.length, t) > (this.burst / this.limits.stateBytesPerSec) * 1000) return;
    bucket.take(h.payload.length, t);
    this.take(deviceId, h);
  }

  /** Forgets every held report (the link stops: a device reports its state again on its next connection). */
  stop(): void {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    this.heldBytes = 0;
  }

  /** Bytes and reports held now. */
  holding(): { reports: number; bytes: number } {
    return { reports: this.held.size, bytes: this.heldBytes };
  }

  private release(deviceId: string): void {
    const h = this.held.get(deviceId);
    if (!h) return;
    // The timer was set for when the bucket holds enough; take it (into debt if the clock disagrees by a little).
    this.bucket(deviceId).take(h.payload.length, this.now());
    this.take(deviceId, h);
  }

  private take(deviceId: string, h: Held): void {
    clearTimeout(h.timer);
    this.held.delete(deviceId);
    this.heldBytes -= h.payload.length;
    this.handle(h.topic, h.payload);
  }

  private bucket(deviceId: string): TokenBucket {
    let b = this.buckets.get(deviceId);
    if (!b) {
      if (this.buckets.size >= MAX_TRACKED) {
        for (const k of this.buckets.keys()) {
          if (this.held.has(k)) continue; // a device with a report waiting keeps its debt
          this.buckets.delete(k);
          break;
        }
      }
      b = new TokenBucket(this.limits.stateBytesPerSec, this.burst, this.now());
      this.buckets.set(deviceId, b);
    }
    return b;
  }
}
