// The fleet simulator: N fake devices speaking the real protocol (MQTT 3.1.1,
// docs/architecture.md section 5) with real credentials. Each connects with username =
// client id = its id and its secret, a last will announcing it offline, announces
// itself online, subscribes to its own desired/ack/blob/data topics, publishes state,
// telemetry and events through an outbox (one monotonic seq space per device, resent
// until the hub acks), and, in follow mode (follow()), acts on desired documents:
// download_started, blocks over blob/get, activated, retained state. Used by scenario
// tests and benchmarks.
import mqtt from 'mqtt';
import { Ack, DesiredDocument, TELEMETRY_SCHEMA, deviceTopic, type DeviceEvent, type ReportedModel, type SummaryWindow, type TelemetryBatch } from '@edgefleet/shared';
import { simEvents, simPresence, simState, simTelemetry, type SimModel, type WindowShape } from './messages.js';
import { DesiredFollower, type FollowOptions } from './follow.js';
import { applyAck, jsonOrNull, resendWaitMs, type DeviceSession, type OutboxEntry } from './session.js';

export interface SimDevice {
  id: string;
  secret: string;
}

export interface SimulatorOptions {
  url: string;
  devices: SimDevice[];
  /** Connections in flight at once (default 100). */
  connectConcurrency?: number;
  keepaliveSec?: number;
  now?: () => Date;
  /** Unacked outbox entries (and stalled block windows) are resent after this long (default 5 s). */
  resendMs?: number;
  /** The model version telemetry windows are about (default sim-model 1.0.0); the hub must have assigned it. */
  model?: SimModel;
}

export interface ConnectReport {
  connected: number;
  failed: Array<{ id: string; error: string }>;
  ms: number;
}

export class FleetSimulator {
  private readonly sessions = new Map<string, DeviceSession>();
  private readonly now: () => Date;
  private readonly resendMs: number;
  private timer: NodeJS.Timeout | null = null;
  private resendTimer: NodeJS.Timeout | null = null;
  private followOpts: FollowOptions | null = null;
  acksReceived = 0;
  /** Outbox messages sent again because no ack came in time. */
  resends = 0;

  constructor(private readonly opts: SimulatorOptions) {
    this.now = opts.now ?? (() => new Date());
    this.resendMs = opts.resendMs ?? 5_000;
  }

  /** Connects every device (bounded concurrency); failures are reported, not thrown. */
  async connectAll(): Promise<ConnectReport> {
    const start = performance.now();
    const failed: ConnectReport['failed'] = [];
    const queue = [...this.opts.devices];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        try {
          await this.connectOne(d);
        } catch (err) {
          failed.push({ id: d.id, error: (err as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.connectConcurrency ?? 100, queue.length) }, worker));
    if (!this.resendTimer) {
      this.resendTimer = setInterval(() => this.resendDue(), Math.max(50, this.resendMs / 2));
      this.resendTimer.unref();
    }
    return { connected: this.sessions.size, failed, ms: performance.now() - start };
  }

  private connectOne(dev: SimDevice): Promise<void> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect(this.opts.url, {
        protocolVersion: 4, clientId: dev.id, username: dev.id, password: dev.secret, clean: true, reconnectPeriod: 0,
        keepalive: this.opts.keepaliveSec ?? 300, connectTimeout: 30_000,
        will: { topic: deviceTopic(dev.id, 'presence'), payload: Buffer.from(JSON.stringify(simPresence(false, this.now()))), qos: 1, retain: true },
      });
      const fail = (err: Error) => {
        client.end(true);
        reject(err);
      };
      const onClose = () => fail(new Error(`device ${dev.id}: connection closed before CONNACK`));
      client.once('error', fail);
      client.once('close', onClose);
      client.once('connect', () => {
        client.removeListener('error', fail);
        client.removeListener('close', onClose);
        client.on('error', () => {});
        const s: DeviceSession = { dev, client, seq: 0, outbox: new Map(), desired: [], desiredSeq: 0, follower: null };
        if (this.followOpts) s.follower = this.makeFollower(s, this.followOpts);
        this.sessions.set(dev.id, s);
        client.on('message', (topic, payload) => this.onMessage(s, topic, payload));
        const topics = [deviceTopic(dev.id, 'desired'), deviceTopic(dev.id, 'ack'), deviceTopic(dev.id, 'blob/data')];
        client.subscribe(topics, { qos: 1 }, (err) => {
          if (err) return reject(new Error(`device ${dev.id}: subscribe refused: ${err.message}`));
          client.publish(deviceTopic(dev.id, 'presence'), JSON.stringify(simPresence(true, this.now())), { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve()));
        });
      });
    });
  }

  private onMessage(s: DeviceSession, topic: string, payload: Buffer): void {
    if (topic.endsWith('/ack')) {
      const ack = Ack.safeParse(jsonOrNull(payload));
      if (!ack.success) return;
      this.acksReceived++;
      applyAck(s.outbox, ack.data.ranges);
    } else if (topic.endsWith('/blob/data')) {
      s.follower?.onBlobData(payload);
    } else if (topic.endsWith('/desired')) {
      s.desired.push(payload);
      const doc = DesiredDocument.safeParse(jsonOrNull(payload));
      if (doc.success) s.desiredSeq = Math.max(s.desiredSeq, doc.data.signed.seq);
      s.follower?.onDesired(payload);
    }
  }

  /** Follow mode from now on: every device acts on the desired documents it receives after this call. */
  follow(opts: FollowOptions = {}): void {
    this.followOpts = opts;
    for (const s of this.sessions.values()) s.follower ??= this.makeFollower(s, opts);
  }

  private makeFollower(s: DeviceSession, opts: FollowOptions): DesiredFollower {
    return new DesiredFollower({
      id: s.dev.id,
      now: this.now,
      event: (e) => {
        const seq = ++s.seq;
        const ev = { ...e, seq, at: this.now().toISOString() } as DeviceEvent;
        // A lost PUBACK is covered by the outbox resend.
        this.send(s, 'events', [seq], JSON.stringify(simEvents(s.dev.id, [ev]))).catch(() => {});
      },
      state: (lastAppliedSeq, models) => this.publishState(s, lastAppliedSeq, models),
      blobGet: (req) => s.client.publish(deviceTopic(s.dev.id, 'blob/get'), JSON.stringify(req), { qos: 1 }, () => {}),
    }, opts);
  }

  private publishState(s: DeviceSession, lastAppliedSeq: number, models: ReportedModel[]): void {
    s.client.publish(deviceTopic(s.dev.id, 'state'), JSON.stringify(simState(s.dev.id, this.now(), lastAppliedSeq, models)), { qos: 1, retain: true }, () => {});
  }

  /** Puts a message carrying `seqs` into the outbox and publishes it; resolves on PUBACK. */
  private send(s: DeviceSession, kind: OutboxEntry['kind'], seqs: number[], payload: string): Promise<void> {
    const e: OutboxEntry = { kind, payload, sentAt: Date.now(), sends: 1, left: seqs.length };
    for (const q of seqs) s.outbox.set(q, e);
    return new Promise((resolve, reject) => {
      s.client.publish(deviceTopic(s.dev.id, kind), payload, { qos: 1 }, (err) => {
        if (err) return reject(err);
        e.sentAt = Date.now(); // taken by the broker: the wait for the ack starts now, as the agent's does
        resolve();
      });
    });
  }

  private resendDue(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) {
      const seen = new Set<OutboxEntry>();
      for (const e of s.outbox.values()) {
        if (seen.has(e) || e.left <= 0 || now - e.sentAt <= resendWaitMs(e, this.resendMs)) continue;
        seen.add(e);
        e.sentAt = now;
        e.sends++;
        this.resends++;
        s.client.publish(deviceTopic(s.dev.id, e.kind), e.payload, { qos: 1 }, (err) => {
          if (!err) e.sentAt = Date.now();
        });
      }
      s.follower?.tick(this.resendMs);
    }
  }

  /** Every connected device publishes one message of `kind` (QoS 1); resolves when all are PUBACKed. */
  async publishRound(kind: 'state' | 'telemetry'): Promise<number> {
    if (kind === 'telemetry') return this.publishTelemetry(1);
    const all = [...this.sessions.values()].map((s) => new Promise<void>((resolve, reject) => {
      s.client.publish(deviceTopic(s.dev.id, 'state'), JSON.stringify(simState(s.dev.id, this.now(), s.seq)), { qos: 1, retain: true }, (err) => (err ? reject(err) : resolve()));
    }));
    await Promise.all(all);
    return all.length;
  }

  /**
   * Every connected device publishes one telemetry batch of `windows` summary windows (each its own
   * seq) of the given shape, at most `maxInFlight` batches awaiting their PUBACK at once; resolves
   * when all are PUBACKed. Returns the number of windows sent.
   */
  async publishTelemetry(windows: number, shape?: WindowShape, maxInFlight = Infinity): Promise<number> {
    const queue = [...this.sessions.values()];
    const n = queue.length;
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        const seqs = Array.from({ length: windows }, () => ++s.seq);
        await this.send(s, 'telemetry', seqs, JSON.stringify(simTelemetry(s.dev.id, seqs, this.now(), shape, this.opts.model)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(n, maxInFlight) }, worker));
    return n * windows;
  }

  /**
   * One device publishes the given windows (built by the caller, e.g. from shifted distributions) in
   * one telemetry batch, each with its next seq, through the outbox; resolves on PUBACK.
   */
  async publishWindows(deviceId: string, windows: readonly SummaryWindow[]): Promise<number> {
    const s = this.sessions.get(deviceId);
    if (!s) throw new Error(`device ${deviceId} is not connected`);
    const seqd = windows.map((w) => ({ ...w, seq: ++s.seq }));
    const batch: TelemetryBatch = { schema: TELEMETRY_SCHEMA, deviceId, windows: seqd };
    await this.send(s, 'telemetry', seqd.map((w) => w.seq), JSON.stringify(batch));
    return seqd.length;
  }

  /** Publishes state and telemetry rounds at a fixed rate until stopRates()/stop(). */
  startRates(periodMs: number): void {
    this.stopRates();
    let flip = false;
    this.timer = setInterval(() => {
      flip = !flip;
      this.publishRound(flip ? 'telemetry' : 'state').catch(() => {});
    }, periodMs);
  }

  stopRates(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Unacked outbox seqs over all devices. */
  pending(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.outbox.size;
    return n;
  }

  desiredFor(id: string): Buffer[] {
    return this.sessions.get(id)?.desired ?? [];
  }

  /** Devices whose newest received desired document has at least this seq. */
  devicesWithDesired(minSeq = 1): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.desiredSeq >= minSeq) n++;
    return n;
  }

  /** In follow mode: devices whose model `name` is active at `version` (as they reported it). */
  devicesActive(name: string, version: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.follower?.models.get(name)?.active === version) n++;
    return n;
  }

  /** In follow mode: what the devices fetched and what went wrong (refusals, failed downloads). */
  followStats(): { bytesFetched: number; skipped: number; failures: Array<{ id: string; error: string }> } {
    let bytesFetched = 0;
    let skipped = 0;
    const failures: Array<{ id: string; error: string }> = [];
    for (const s of this.sessions.values()) {
      if (!s.follower) continue;
      bytesFetched += s.follower.bytesFetched;
      skipped += s.follower.skipped;
      for (const f of s.follower.failures) failures.push({ id: s.dev.id, error: f });
    }
    return { bytesFetched, skipped, failures };
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /** Disconnects every device cleanly (DISCONNECT, so no will). */
  async stop(): Promise<void> {
    this.stopRates();
    if (this.resendTimer) clearInterval(this.resendTimer);
    this.resendTimer = null;
    const all = [...this.sessions.values()].map((s) => s.client.endAsync().catch(() => {}));
    this.sessions.clear();
    await Promise.all(all);
  }
}
