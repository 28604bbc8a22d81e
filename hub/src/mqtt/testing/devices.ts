// Test helpers for the FleetLink suites: an in-memory DeviceAuthPort (the real one
// is the hub's devices repository), valid device messages, and mqtt.js device
// clients that report refusals instead of hanging.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { deviceTopic } from '@edgefleet/shared';
import type { AuthResult, DeviceAuthPort, LoggerPort, MetricsPort } from '../ports.js';

export class MemoryDevices implements DeviceAuthPort {
  readonly secrets = new Map<string, string>();
  readonly revoked = new Set<string>();
  readonly seen: Array<{ id: string; online: boolean }> = [];
  add(id: string, secret: string): void {
    this.secrets.set(id, secret);
  }
  authenticate(id: string, secret: string): Promise<AuthResult> {
    const s = this.secrets.get(id);
    if (s === undefined) return Promise.resolve('unknown');
    if (this.revoked.has(id)) return Promise.resolve('revoked');
    return Promise.resolve(s === secret ? 'ok' : 'bad_secret');
  }
  markSeen(id: string, online: boolean): void {
    this.seen.push({ id, online });
  }
}

export class RecordingMetrics implements MetricsPort {
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const key = `${name}${JSON.stringify(labels)}`;
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }
  set(name: string, value: number): void {
    this.gauges.set(name, value);
  }
}

export class RecordingLogger implements LoggerPort {
  readonly lines: Array<{ level: string; obj: object; msg?: string }> = [];
  debug(obj: object, msg?: string): void { this.lines.push({ level: 'debug', obj, msg }); }
  info(obj: object, msg?: string): void { this.lines.push({ level: 'info', obj, msg }); }
  warn(obj: object, msg?: string): void { this.lines.push({ level: 'warn', obj, msg }); }
  error(obj: object, msg?: string): void { this.lines.push({ level: 'error', obj, msg }); }
}

export function stateMsg(deviceId: string, lastAppliedSeq = 0): string {
  return JSON.stringify({
    schema: 'edgefleet.state/v1', deviceId, at: new Date().toISOString(), agentVersion: '0.1.0',
    lastAppliedSeq, trustVersion: 1, models: [], capabilities: [],
  });
}

export function presenceMsg(online: boolean): string {
  return JSON.stringify({ schema: 'edgefleet.presence/v1', online, at: new Date().toISOString() });
}

/** Connects a device; rejects with the broker's refusal (CONNACK code or a closed socket). */
export function connectDevice(url: string, id: string, secret: string, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, {
      protocolVersion: 4, clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 5000, clean: true, ...extra,
    });
    const fail = (err: Error) => {
      c.end(true);
      reject(err);
    };
    c.once('connect', () => {
      c.removeListener('error', fail);
      c.removeListener('close', onClose);
      resolve(c);
    });
    const onClose = () => fail(new Error('connection closed before CONNACK'));
    c.once('error', fail);
    c.once('close', onClose);
  });
}

/** Collects every message a client receives. */
export function collect(c: MqttClient): Array<{ topic: string; payload: string; retain: boolean }> {
  const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return got;
}

/** Resolves when `pred` holds, polling; rejects with `what` after the guard time (not a timing assertion). */
export function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve();
    c.once('close', () => resolve());
  });
}

export { deviceTopic };

/** Publishes QoS 1 (or `qos`) and resolves on PUBACK (PUBCOMP) or when the broker closes the connection (a refusal in MQTT 3.1.1). */
export function tryPublish(c: MqttClient, topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 1 | 2 } = {}): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve('closed');
    const onClose = () => resolve('closed');
    c.once('close', onClose);
    c.publish(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) => {
      c.removeListener('close', onClose);
      resolve(err ? 'closed' : 'acked');
    });
  });
}

/** Subscribes and resolves with the granted QoS (128 = refused) instead of rejecting. */
export function trySubscribe(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve) => {
    c.subscribe(filter, { qos: 1 }, (err, granted) => {
      const g = err ? (err as { packet?: { granted?: number[] } }).packet?.granted?.[0] : granted?.[0]?.qos;
      resolve(typeof g === 'number' ? g : 128);
    });
  });
}
