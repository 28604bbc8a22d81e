// Per-device MQTT quotas (docs/mqtt.md "Quotas"; docs/security.md issue 9 part 4): messages per
// second (a token bucket) and bytes per hour (a sliding window of 12 five-minute slots). Over the
// message rate a publish is first delayed (its callback held, so aedes reads nothing more from that
// connection: backpressure, the PUBACK comes late but it comes); a device that stays over the rate or
// would wait past a ceiling is refused, which closes its connection (MQTT 3.1.1 has no negative
// PUBACK). Over the bytes of the hour its telemetry, events and capture chunks are refused (state, presence and block
// requests still pass) until the window slides. Every throttle and refusal is counted; each device's
// is logged and reported (an audit entry, written by the sink the hub passes in) at most once per
// interval per action, and kept for GET /devices/{id}.
import { TokenBucket } from '@edgefleet/shared';
import type { ClockPort, LoggerPort, MetricsPort } from './ports.js';

export interface QuotaLimits {
  /** Sustained publishes per second per device. */
  messagesPerSec: number;
  /** Publishes a device may send at once before the rate applies. */
  burst: number;
  /** Payload bytes per device per sliding hour; past it telemetry, events and capture chunks are refused. */
  bytesPerHour: number;
  /** A publish that would be delayed longer than this is refused (the connection closes). */
  maxDelayMs: number;
  /** A device throttled without a break for this long is refused (the connection closes). */
  disconnectAfterMs: number;
  /** Logs and reports (audit) of one device and action at most this often. */
  reportEveryMs: number;
}

export const DEFAULT_QUOTA_LIMITS: QuotaLimits = {
  messagesPerSec: 100,
  burst: 200,
  bytesPerHour: 256 * 1024 * 1024,
  maxDelayMs: 2_000,
  disconnectAfterMs: 10_000,
  reportEveryMs: 60_000,
};

export type QuotaKind = 'messages' | 'bytes';
export type QuotaAction = 'throttle' | 'disconnect';
export type QuotaDecision = { action: 'pass' } | { action: 'delay'; ms: number } | { action: 'refuse'; kind: QuotaKind; why: string };

/** What GET /devices/{id} shows: throttles and disconnects since the hub started. */
export interface QuotaStatus {
  throttled: number;
  disconnected: number;
  last?: { at: string; kind: QuotaKind; action: QuotaAction; why: string };
}

/** One report for the operator (at most one per device, action and interval). */
export interface QuotaReport {
  deviceId: string;
  kind: QuotaKind;
  action: QuotaAction;
  why: string;
  at: Date;
  /** Throttles or disconnects of this device and action since the previous report. */
  sinceLastReport: number;
  limits: { messagesPerSec: number; burst: number; bytesPerHour: number };
}

export interface MqttQuotaDeps {
  clock: ClockPort;
  logger: LoggerPort;
  metrics: MetricsPort;
  limits?: Partial<QuotaLimits> | undefined;
  /** Records a report where the operator sees it (the hub: an audit entry `device.quota_exceeded`). */
  onReport?: (r: QuotaReport) => void;
}

const SLOTS = 12;
/** The longest interval between two reports of one device and action while it stays over its quota. */
const MAX_REPORT_EVERY_MS = 3_600_000;
const HOUR_MS = 3_600_000;
const SLOT_MS = HOUR_MS / SLOTS;
/** Devices remembered; past it the least recently added is forgotten (a fresh bucket if it comes back). */
const MAX_DEVICES = 100_000;

/**
 * One per device that published since the hub started (10,000 connected devices: 10,000 of these), so
 * kept small (docs/decisions/0043-perf-drift-broker-summaries.md, "Broker memory"): the byte slots in a
 * plain array of numbers (a typed array adds an ArrayBuffer and a buffer outside the heap to each),
 * what only a device over its quota needs allocated by its first throttle or disconnect.
 */
interface DeviceState {
  bucket: TokenBucket;
  overSince: number | null;
  slots: number[];
  /** Index (time / SLOT_MS) of the newest slot. */
  slot: number;
  over: OverQuota | null;
}

interface OverQuota {
  status: QuotaStatus;
  /** Per action: the last report, what happened since, and the interval to the next (backs off while it goes on). */
  reported: Record<QuotaAction, { at: number; unreported: number; every: number }>;
}

export class MqttQuota {
  readonly limits: QuotaLimits;
  private readonly devices = new Map<string, DeviceState>();
  private readonly pending = new Set<{ timer: NodeJS.Timeout; done: (err?: Error | null) => void }>();

  constructor(private readonly deps: MqttQuotaDeps) {
    this.limits = { ...DEFAULT_QUOTA_LIMITS, ...deps.limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!(typeof v === 'number' && v > 0)) throw new Error(`quota ${k} must be a positive number, got ${String(v)}`);
    }
  }

  /** Pure decision for one publish of `bytes` payload bytes on `topic` at `nowMs` (records it). */
  admit(deviceId: string, topic: string, bytes: number, nowMs: number): QuotaDecision {
    const st = this.state(deviceId, nowMs);
    const used = this.slide(st, nowMs);
    const reportKind = topic.endsWith('/telemetry') || topic.endsWith('/events') || topic.endsWith('/capture');
    if (reportKind && used + bytes > this.limits.bytesPerHour) {
      return { action: 'refuse', kind: 'bytes', why: `${used + bytes} bytes in the last hour exceed bytesPerHour ${this.limits.bytesPerHour}` };
    }
    st.slots[st.slot % SLOTS] = (st.slots[st.slot % SLOTS] ?? 0) + bytes;
    st.bucket.take(1, nowMs);
    const wait = st.bucket.waitMs(0, nowMs);
    if (wait === 0) {
      st.overSince = null;
      return { action: 'pass' };
    }
    st.overSince ??= nowMs;
    const overFor = nowMs - st.overSince;
    if (wait > this.limits.maxDelayMs || overFor >= this.limits.disconnectAfterMs) {
      st.bucket.take(-1, nowMs); // the refused publish takes no token
      st.overSince = null;
      const why = wait > this.limits.maxDelayMs
        ? `would wait ${wait} ms (more than maxDelayMs ${this.limits.maxDelayMs}) at messagesPerSec ${this.limits.messagesPerSec}`
        : `over messagesPerSec ${this.limits.messagesPerSec} for ${overFor} ms`;
      return { action: 'refuse', kind: 'messages', why };
    }
    return { action: 'delay', ms: wait };
  }

  /**
   * The broker's hook: decides, records, and calls `done` now (pass or refuse with an error, which
   * closes the connection) or after the delay. `closed()` tells whether the connection went meanwhile.
   */
  gate(deviceId: string, topic: string, bytes: number, closed: () => boolean, done: (err?: Error | null) => void): void {
    const now = this.deps.clock.now();
    const d = this.admit(deviceId, topic, bytes, now.getTime());
    if (d.action === 'pass') return done(null);
    if (d.action === 'refuse') {
      this.record(deviceId, d.kind, 'disconnect', d.why, now);
      return done(new Error(`quota exceeded (${d.kind}): ${d.why}`));
    }
    this.record(deviceId, 'messages', 'throttle', `delayed ${d.ms} ms at messagesPerSec ${this.limits.messagesPerSec}`, now);
    const entry = {
      done,
      timer: setTimeout(() => {
        this.pending.delete(entry);
        done(closed() ? new Error('connection closed while throttled') : null);
      }, d.ms),
    };
    this.pending.add(entry);
  }

  /** Throttles and disconnects of one device since the hub started (undefined: none). */
  status(deviceId: string): QuotaStatus | undefined {
    const s = this.devices.get(deviceId)?.over?.status;
    return s?.last ? s : undefined;
  }

  /** Releases held publishes (with an error: their connections are closing). Idempotent. */
  stop(): void {
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.done(new Error('the broker is stopping'));
    }
    this.pending.clear();
  }

  private record(deviceId: string, kind: QuotaKind, action: QuotaAction, why: string, at: Date): void {
    this.deps.metrics.inc('edgefleet_mqtt_quota_exceeded_total', { kind, action });
    const st = this.state(deviceId, at.getTime());
    const over = (st.over ??= {
      status: { throttled: 0, disconnected: 0 },
      reported: { throttle: { at: -Infinity, unreported: 0, every: this.limits.reportEveryMs }, disconnect: { at: -Infinity, unreported: 0, every: this.limits.reportEveryMs } },
    });
    if (action === 'throttle') over.status.throttled++;
    else over.status.disconnected++;
    over.status.last = { at: at.toISOString(), kind, action, why };
    const r = over.reported[action];
    const gap = at.getTime() - r.at;
    if (gap < r.every) {
      r.unreported++;
      return;
    }
    // A device over its quota report after report (within twice the interval) is reported half as often each
    // time, up to once an hour, so one that keeps at it for months writes ~30 audit entries a day, not 1,440;
    // after a quiet spell it is reported at reportEveryMs again. The metric counts every one.
    r.every = gap < 2 * r.every ? Math.min(Math.max(this.limits.reportEveryMs, MAX_REPORT_EVERY_MS), 2 * r.every) : this.limits.reportEveryMs;
    const report: QuotaReport = {
      deviceId, kind, action, why, at, sinceLastReport: r.unreported,
      limits: { messagesPerSec: this.limits.messagesPerSec, burst: this.limits.burst, bytesPerHour: this.limits.bytesPerHour },
    };
    r.at = at.getTime();
    r.unreported = 0;
    this.deps.logger.warn({ deviceId, kind, action, why, sinceLastReport: report.sinceLastReport }, `device over its MQTT quota (${action})`);
    try {
      this.deps.onReport?.(report);
    } catch (err) {
      this.deps.logger.error({ deviceId, err: String(err) }, 'could not record a quota report');
    }
  }

  /** Drops slots older than the hour and returns the bytes still in it. */
  private slide(st: DeviceState, nowMs: number): number {
    const slot = Math.floor(nowMs / SLOT_MS);
    // The clock stepped back: the hour goes on from here (the bytes counted age out as it moves on),
    // rather than counting them until the clock is back where it was.
    if (slot < st.slot) st.slot = slot;
    if (slot > st.slot) {
      for (let i = st.slot + 1; i <= Math.min(slot, st.slot + SLOTS); i++) st.slots[i % SLOTS] = 0;
      st.slot = slot;
    }
    let sum = 0;
    for (const v of st.slots) sum += v;
    return sum;
  }

  private state(deviceId: string, nowMs: number): DeviceState {
    let st = this.devices.get(deviceId);
    if (!st) {
      if (this.devices.size >= MAX_DEVICES) {
        const oldest = this.devices.keys().next().value;
        if (oldest !== undefined) this.devices.delete(oldest);
      }
      st = {
        bucket: new TokenBucket(this.limits.messagesPerSec, this.limits.burst, nowMs),
        overSince: null,
        slots: new Array<number>(SLOTS).fill(0),
        slot: Math.floor(nowMs / SLOT_MS),
        over: null,
      };
      this.devices.set(deviceId, st);
    }
    return st;
  }
}
