// The fleet simulator: N fake devices speaking the real protocol (MQTT 3.1.1,
// DESIGN.md section 5) with real credentials. Each connects with username =
// client id = its id and its secret, a last will announcing it offline, announces
// itself online, subscribes to its own desired/ack topics, publishes state and
// telemetry (one shared outbox seq space per device) and drops acked seqs from its
// outbox when the hub acks them. Used by scenario tests and benchmarks.
import mqtt, { type MqttClient } from 'mqtt';
import { Ack, deviceTopic, parseWireJson } from '@edgefleet/shared';
import { simPresence, simState, simTelemetry } from './messages.js';

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
}

export interface ConnectReport {
  connected: number;
  failed: Array<{ id: string; error: string }>;
  ms: number;
}

interface DeviceSession {
  dev: SimDevice;
  client: MqttClient;
  seq: number;
  outbox: Set<number>;
  desired: Buffer[];
}

export class FleetSimulator {
  private readonly sessions = new Map<string, DeviceSession>();
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | null = null;
  acksReceived = 0;

  constructor(private readonly opts: SimulatorOptions) {
    this.now = opts.now ?? (() => new Date());
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
        const s: DeviceSession = { dev, client, seq: 0, outbox: new Set(), desired: [] };
        this.sessions.set(dev.id, s);
        client.on('message', (topic, payload) => this.onMessage(s, topic, payload));
        client.subscribe([deviceTopic(dev.id, 'desired'), deviceTopic(dev.id, 'ack')], { qos: 1 }, (err) => {
          if (err) return reject(new Error(`device ${dev.id}: subscribe refused: ${err.message}`));
          client.publish(deviceTopic(dev.id, 'presence'), JSON.stringify(simPresence(true, this.now())), { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve()));
        });
      });
    });
  }

  private onMessage(s: DeviceSession, topic: string, payload: Buffer): void {
    if (topic.endsWith('/ack')) {
      const ack = parseWireJson(Ack, payload, `ack for ${s.dev.id}`);
      this.acksReceived++;
      for (const [from, to] of ack.ranges) for (let q = from; q <= to; q++) s.outbox.delete(q);
    } else if (topic.endsWith('/desired')) {
      s.desired.push(payload);
    }
  }

  /** Every connected device publishes one message of `kind` (QoS 1); resolves when all are PUBACKed. */
  async publishRound(kind: 'state' | 'telemetry'): Promise<number> {
    const all = [...this.sessions.values()].map((s) => new Promise<void>((resolve, reject) => {
      let body: unknown;
      if (kind === 'state') body = simState(s.dev.id, this.now(), s.seq);
      else {
        s.seq++;
        s.outbox.add(s.seq);
        body = simTelemetry(s.dev.id, s.seq, this.now());
      }
      s.client.publish(deviceTopic(s.dev.id, kind), JSON.stringify(body), { qos: 1, retain: kind === 'state' }, (err) => (err ? reject(err) : resolve()));
    }));
    await Promise.all(all);
    return all.length;
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

  /** Unacked outbox entries over all devices. */
  pending(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.outbox.size;
    return n;
  }

  desiredFor(id: string): Buffer[] {
    return this.sessions.get(id)?.desired ?? [];
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /** Disconnects every device cleanly (DISCONNECT, so no will). */
  async stop(): Promise<void> {
    this.stopRates();
    const all = [...this.sessions.values()].map((s) => s.client.endAsync().catch(() => {}));
    this.sessions.clear();
    await Promise.all(all);
  }
}
