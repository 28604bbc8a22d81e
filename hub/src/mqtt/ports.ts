// The seams between the hub's MQTT side and the rest of the hub: what the broker
// needs from the device store (DeviceAuthPort), metrics, logging and time, and the
// one interface through which the hub reaches devices (FleetLink), implemented by
// the embedded aedes broker (embedded.ts) and an external broker client (external.ts).
import type { BlobGet, CaptureChunk, DependencyState, EventBatch, Presence, ReportedState, TelemetryBatch } from '@edgefleet/shared';

export type AuthResult = 'ok' | 'unknown' | 'revoked' | 'bad_secret';

/** Implemented by the hub's devices repository. */
export interface DeviceAuthPort {
  /** Checks a device's secret (salted hash, constant-time compare). */
  authenticate(id: string, secret: string): Promise<AuthResult>;
  /** Presence: online/offline and last-seen time. Must not throw. */
  markSeen(id: string, online: boolean, at: Date): void;
  /** Many presence marks in one transaction, last seen moving only forward (presence-writer.ts). Must not throw. */
  markSeenMany?(marks: readonly PresenceMark[]): void;
}

export interface PresenceMark {
  id: string;
  online: boolean;
  at: Date;
}

/** A tiny metrics sink; hub/src/metrics.ts adapts its registry to this. */
export interface MetricsPort {
  inc(name: string, labels?: Record<string, string>, by?: number): void;
  set(name: string, value: number, labels?: Record<string, string>): void;
}

export interface LoggerPort {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ClockPort {
  now(): Date;
}

/** A window or event of a batch that failed its schema: refused and acked (mqtt/salvage.ts). */
export interface InvalidItem {
  seq: number;
  /** The first thing wrong with it, with its path. */
  problem: string;
}

/**
 * Messages devices send, already parsed and validated with the shared schemas. A telemetry or events
 * batch may come with `invalid`: items that failed the schema, left out of it (mqtt/salvage.ts).
 */
export interface IncomingMessages {
  state: ReportedState;
  presence: Presence;
  telemetry: TelemetryBatch & { invalid?: InvalidItem[] };
  events: EventBatch & { invalid?: InvalidItem[] };
  'blob/get': BlobGet;
  capture: CaptureChunk;
}
export type IncomingKind = keyof IncomingMessages;
export const INCOMING_KINDS: readonly IncomingKind[] = ['state', 'presence', 'telemetry', 'events', 'blob/get', 'capture'];

/** What the hub sends to one device. */
export type OutgoingKind = 'desired' | 'ack' | 'blob/data' | 'capture/ack';

export type IncomingHandler<K extends IncomingKind> = (deviceId: string, msg: IncomingMessages[K]) => void | Promise<void>;
export type DeviceHandler = (deviceId: string) => void;

export interface InvalidCount {
  deviceId: string;
  kind: string;
  count: number;
}

export interface FleetLinkAddress {
  /** mqtt://host:port (embedded TCP, or the external broker URL). */
  mqtt: string;
  mqtts?: string;
  ws?: string;
}

/** The one interface through which the hub reaches devices. */
export interface FleetLink {
  start(): Promise<void>;
  /** Idempotent; closes listeners and connections in reverse order. */
  stop(): Promise<void>;
  /**
   * To `ef/v1/d/{deviceId}/{kind}`, QoS 1 unless `qos` says 0 (acks: a lost one costs a resend,
   * docs/decisions/0048-stored-window-text.md); resolves once the broker accepted it.
   */
  publish(deviceId: string, kind: OutgoingKind, payload: Buffer | string, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  /** Publishes the signed trust document (object or its JSON text), retained, on `ef/v1/trust`. */
  publishTrust(doc: unknown): Promise<void>;
  /** Registers a handler for one kind of validated device message; returns an unsubscribe function. */
  on<K extends IncomingKind>(kind: K, handler: IncomingHandler<K>): () => void;
  onConnect(handler: DeviceHandler): () => void;
  onDisconnect(handler: DeviceHandler): () => void;
  /** Drops a device's connection (revocation). Returns false when it was not connected or the link cannot. */
  disconnect(deviceId: string): Promise<boolean>;
  connectedCount(): number;
  /**
   * The last report of the device's credentials in use by two connections at once (embedded broker
   * only; an external broker's takeovers are invisible to the hub, docs/mqtt.md).
   */
  credentialsInUseTwice?(deviceId: string): { at: string; takeovers: number } | null;
  /** Invalid messages dropped so far, per device and kind. */
  invalidCounts(): InvalidCount[];
  address(): FleetLinkAddress;
  /** Embedded: its listeners are open; external: the hub's client is connected (GET /api/v1/ready). */
  linkState?(): DependencyState;
}

export const noopMetrics: MetricsPort = { inc() {}, set() {} };
export const noopLogger: LoggerPort = { debug() {}, info() {}, warn() {}, error() {} };
export const systemClockPort: ClockPort = { now: () => new Date() };
