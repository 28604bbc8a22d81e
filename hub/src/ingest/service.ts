// Ingest: what devices send the hub. Windows and events are sorted by the ingest guard (plausible ones
// stored by (device, seq), every seq acked by range), reported states are stored, presence and reported
// state record each device's clock offset, and every message advances the device's last seen. Other parts (deployments) follow the
// stored events and reported state through on(); listeners run before the ack is sent. Windows, events
// and states are sorted and written in batches, several devices in one transaction, a batch a turn of
// the event loop (window-writer.ts, docs/decisions/0091-event-ingest-batches.md).
import { toRanges, type DeviceEvent, type ReportedState } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { TelemetryRepo } from '../store/telemetry-repo.js';
import type { FleetLink, IncomingMessages, LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { Clock } from '../clock.js';
import { IngestGuard, type Parkable } from './guard.js';
import { ClockOffsets } from './clock-offset.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './plausibility.js';
import { ParkedWindows } from './parked.js';
import { WindowWriter, type Sorted } from './window-writer.js';

export interface IngestOptions {
  /** A device's last seen is written at most this often while its messages arrive (windows come every 10 s). */
  seenEveryMs: number;
}

/**
 * Acks go out at QoS 0: devices use clean sessions and resend what is unacked on reconnect and after
 * their resend time, and `(device, seq)` absorbs the resend (docs/decisions/0048-stored-window-text.md).
 */
const ACK = { qos: 0 } as const;

export const DEFAULT_INGEST_OPTIONS: IngestOptions = { seenEveryMs: 5_000 };

export interface IngestDeps {
  store: Store;
  link: FleetLink;
  clock: Clock;
  logger: LoggerPort;
  options?: Partial<IngestOptions>;
  metrics?: MetricsPort;
  /** Plausibility limits for what devices report (plausibility.ts). */
  limits?: Partial<IngestLimits>;
  /** Other hubs share the database (IngestGuardDeps.reloadOnMiss). */
  shared?: boolean;
  /** How often parked windows are matched against the registry (parked.ts; default 10 s). */
  parkEveryMs?: number;
}

/** What other parts follow: the events the guard let through (stored), and each reported state. */
export interface DeviceReports {
  onEvents(fn: (deviceId: string, events: DeviceEvent[], now: Date) => void): () => void;
  onState(fn: (deviceId: string, state: ReportedState, now: Date) => void): () => void;
  /** The versions a device may report changed (a new desired document): the guard reloads them. */
  invalidate(deviceId: string): void;
}

export class IngestService implements DeviceReports {
  readonly guard: IngestGuard;
  readonly parked: ParkedWindows;
  readonly clocks: ClockOffsets;
  /** The store's windows and events (read by benchmarks and tests). */
  readonly telemetry: TelemetryRepo;
  private readonly opts: IngestOptions;
  private readonly unsubs: Array<() => void> = [];
  private readonly eventListeners = new Set<(deviceId: string, events: DeviceEvent[], now: Date) => void>();
  private readonly stateListeners = new Set<(deviceId: string, state: ReportedState, now: Date) => void>();
  /** Per connected device: when its last seen was last written (bounded by the connected devices). */
  private readonly seenAt = new Map<string, number>();
  private readonly writer: WindowWriter;
  /** What the guard parks while a message is sorted (sort()). */
  private parking: Parkable[] | null = null;

  constructor(private readonly deps: IngestDeps) {
    this.telemetry = deps.store.telemetry;
    // Windows of versions the registry does not hold wait there until it does (parked.ts).
    this.parked = new ParkedWindows({
      db: deps.store.db, logger: deps.logger, metrics: deps.metrics, ...(deps.parkEveryMs ? { everyMs: deps.parkEveryMs } : {}), shared: deps.shared ?? false,
      maxBytes: deps.limits?.maxParkedBytesPerDevice ?? DEFAULT_INGEST_LIMITS.maxParkedBytesPerDevice,
      maxTotalBytes: deps.limits?.maxParkedBytes ?? DEFAULT_INGEST_LIMITS.maxParkedBytes,
      retentionDays: deps.limits?.parkedRetentionDays ?? DEFAULT_INGEST_LIMITS.parkedRetentionDays,
      now: () => deps.clock.now(),
      // Parked events go to the device's history, not to the listeners: an `activated` or `error` of days
      // ago would move deployment status out of order (docs/decisions/0103-parked-events-and-held-seqs.md).
      release: (id, windows, events, stored) => {
        this.guard.invalidate(id);
        const now = deps.clock.now();
        return this.writer.write({ deviceId: id, windows: this.guard.windows(id, windows, now), events: this.guard.events(id, events, now), touch: false, stored });
      },
    });
    this.guard = new IngestGuard({
      db: deps.store.db, logger: deps.logger, metrics: deps.metrics, limits: deps.limits, reloadOnMiss: deps.shared ?? false,
      park: (id, p, now) => {
        const r = this.parked.park(id, p, now);
        if (r === 'parked') this.parking?.push(p);
        return r;
      },
      parkedHolds: (id, seq) => this.parked.holds(id, seq),
    });
    this.opts = { ...DEFAULT_INGEST_OPTIONS, ...deps.options };
    this.clocks = new ClockOffsets({
      db: deps.store.db, logger: deps.logger, metrics: deps.metrics, skewMs: deps.limits?.clockSkewMs, audit: deps.store.audit,
      futureToleranceMs: this.guard.limits.futureToleranceMs,
    });
    const { db, deployments } = deps.store;
    this.writer = new WindowWriter({
      telemetry: this.telemetry,
      transaction: (fn) => deployments.holdStatus(() => db.transaction(fn)()),
      now: () => deps.clock.now(),
      touch: (id, at) => deps.store.devices.touch(id, at),
      stored: (id, bytes) => this.guard.stored(id, bytes),
      ack: (id, payload) => deps.link.publish(id, 'ack', payload, ACK),
      maxSeq: (id) => this.guard.maxSeq(id),
      resent: (n) => deps.metrics?.inc('edgefleet_ingest_resent_total', {}, n),
    });
  }

  start(): Promise<void> {
    const { link } = this.deps;
    this.unsubs.push(
      link.on('telemetry', (id, m) => this.handleTelemetry(id, m)),
      link.on('events', (id, m) => this.handleEvents(id, m)),
      link.on('state', (id, m) => this.handleState(id, m)),
      link.on('presence', (id, m) => {
        if (m.online) this.clocks.record(id, m.at, this.deps.clock.now(), m.clock);
        else this.clocks.confirm(id, m.at, this.deps.clock.now()); // the clock's last reading before a stop (clock-offset.ts)
      }),
      link.onDisconnect((id) => {
        this.seenAt.delete(id);
      }),
    );
    this.parked.start();
    return Promise.resolve();
  }

  /** Async so that a database error rejects (the hub's stop logs it and goes on) rather than throwing. */
  async stop(): Promise<void> {
    while (this.unsubs.length) this.unsubs.pop()?.();
    this.parked.stop();
    // Synchronous: queued windows and events are stored; their acks go out while the link is still up. What could not
    // be stored (the database down or not answering) is named here, since it is not acked either.
    const unstored = this.writer.flush();
    if (unstored.length) {
      this.deps.logger.warn({ messages: unstored.map((u) => ({ deviceId: u.deviceId, seqs: toRanges(u.seqs) })) },
        'stopping: telemetry windows or events not stored, so not acked (their devices keep them and send them again)');
    }
    this.clocks.flush();
    await Promise.resolve();
  }

  onEvents(fn: (deviceId: string, events: DeviceEvent[], now: Date) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  onState(fn: (deviceId: string, state: ReportedState, now: Date) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  invalidate(deviceId: string): void {
    this.guard.invalidate(deviceId);
  }

  /**
   * Stores the plausible windows; every seq is acked, refused ones too (so an honest outbox never
   * jams). Placed on the hub's clock now; the guard's sorting, the write, the last-seen update and the
   * ack follow in the batch (window-writer.ts).
   */
  handleTelemetry(deviceId: string, m: IncomingMessages['telemetry']): Promise<void> {
    const now = this.deps.clock.now();
    const seqs = m.windows.map((w) => w.seq);
    // Windows that failed the wire schema (mqtt/salvage.ts): refused and acked with the rest.
    if (m.invalid) for (const i of this.guard.invalid(deviceId, 'window', m.invalid, now)) seqs.push(i);
    const placed = this.clocks.place(deviceId, m.windows, now);
    const sort = () => this.sort(deviceId, now, (held) => ({ windows: this.guard.windows(deviceId, placed, now, held) }));
    return this.writer.write({ deviceId, windows: placed, sort, seqs, touch: this.seenDue(deviceId, now) });
  }

  /**
   * Stores the plausible events like windows (every seq acked, refused ones too); once they are stored
   * the listeners see them, in arrival order, before the ack (window-writer.ts).
   */
  handleEvents(deviceId: string, m: IncomingMessages['events']): Promise<void> {
    const now = this.deps.clock.now();
    const seqs = m.events.map((e) => e.seq);
    if (m.invalid) for (const i of this.guard.invalid(deviceId, 'event', m.invalid, now)) seqs.push(i);
    const placed = this.clocks.placeEvents(deviceId, m.events, now);
    let events: DeviceEvent[] = [];
    const sort = () => this.sort(deviceId, now, (held) => ({ events: (events = this.guard.events(deviceId, placed, now, held)) }));
    const stored = () => {
      for (const fn of this.eventListeners) fn(deviceId, events, now);
    };
    return this.writer.write({ deviceId, events: placed, sort, seqs, touch: this.seenDue(deviceId, now), stored });
  }

  /**
   * A reported state: its clock offset is recorded now; in the next batch, in order with the device's
   * windows and events, it is stored (DevicesRepo.setReported, in the batch's transaction) and the guard
   * reloads the device's versions, then its last seen and the listeners follow (window-writer.ts).
   */
  handleState(deviceId: string, m: ReportedState): Promise<void> {
    const now = this.deps.clock.now();
    this.clocks.record(deviceId, m.at, now, m.clock);
    const apply = () => {
      // Several hubs: a state older than the stored one is not applied (it may arrive after a newer one through another hub).
      this.deps.store.devices.setReported(deviceId, m, { newerOnly: this.deps.shared ?? false });
      this.guard.invalidate(deviceId); // installed versions may have changed
    };
    const stored = () => {
      for (const fn of this.stateListeners) fn(deviceId, m, now);
    };
    return this.writer.write({ deviceId, apply, touch: this.seenDue(deviceId, now), stored });
  }

  /**
   * A message's sorting (the guard's, `fn`) with the seqs it holds parked, and what it parked to park again
   * should its transaction fail and the message be retried alone (window-writer.ts: the sorting is kept).
   */
  private sort(deviceId: string, now: Date, fn: (held: number[]) => Sorted): Sorted {
    const held: number[] = [];
    const parked: Parkable[] = [];
    this.parking = parked;
    try {
      return { ...fn(held), held, ...(parked.length ? { again: () => this.parked.repark(deviceId, parked, now) } : {}) };
    } finally {
      this.parking = null;
    }
  }

  /** Whether the device's last seen is to be written now (the caller writes it); remembers that it was. */
  private seenDue(deviceId: string, now: Date): boolean {
    const t = now.getTime();
    const last = this.seenAt.get(deviceId);
    if (last !== undefined && t - last < this.opts.seenEveryMs && t >= last) return false;
    this.seenAt.set(deviceId, t);
    return true;
  }
}
