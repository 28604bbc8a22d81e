// Turns raw device publishes into validated messages for the hub: parses the
// topic, validates the payload with the shared schema, checks that a payload's
// deviceId matches the topic's, and dispatches to the registered handlers.
// Invalid messages are counted per device and kind, logged once per device and
// interval, and dropped; a throwing handler is logged and does not affect others.
import { LogThrottle } from '../log-throttle.js';
import { AppError, BlobGet, CaptureChunk, EventBatch, MAX_JSON_DEPTH, Presence, ReportedState, TelemetryBatch, fastTelemetryBatch, jsonDepth, parseTopic, parseWire, rememberWindowTexts, toAppError } from '@edgefleet/shared';
import type { z } from 'zod';
import { salvageBatch } from './salvage.js';
import { StatePacer, type StatePacingLimits } from './state-pacer.js';
import type { ClockPort, DeviceHandler, IncomingHandler, IncomingKind, IncomingMessages, InvalidCount, LoggerPort, MetricsPort } from './ports.js';

const SCHEMAS: { [K in IncomingKind]: z.ZodType<IncomingMessages[K]> } = {
  state: ReportedState as unknown as z.ZodType<IncomingMessages['state']>,
  presence: Presence as unknown as z.ZodType<IncomingMessages['presence']>,
  telemetry: TelemetryBatch as unknown as z.ZodType<IncomingMessages['telemetry']>,
  events: EventBatch as unknown as z.ZodType<IncomingMessages['events']>,
  'blob/get': BlobGet as unknown as z.ZodType<IncomingMessages['blob/get']>,
  capture: CaptureChunk as unknown as z.ZodType<IncomingMessages['capture']>,
};

/**
 * Plain-loop checks that return the message when zod would return it unchanged, else null (then zod
 * decides and names what is wrong): telemetry batches are the bulk of device traffic (issue 5 bench).
 */
const FAST: { [K in IncomingKind]?: (value: unknown) => IncomingMessages[K] | null } = {
  telemetry: fastTelemetryBatch as (value: unknown) => IncomingMessages['telemetry'] | null,
};

/**
 * Like parseWireJson, without copying the payload buffer first, and with the fast path above. A
 * telemetry batch the fast path accepted keeps each window's text as sent, for the store
 * (rememberWindowTexts, docs/decisions/0048-stored-window-text.md).
 */
function parseMessage(kind: IncomingKind, payload: Buffer, deviceId: string): IncomingMessages[IncomingKind] {
  let value: unknown;
  const text = payload.toString('utf8');
  // JSON.parse takes any depth, but an event's free-form `data` passes the schema at any depth and
  // JSON.stringify (storing it) overflows the stack at a few thousand levels: the batch was never stored
  // nor acked. Telemetry has no free-form field (the schema stops at the first wrong level), so its hot
  // path skips the scan.
  if (kind !== 'telemetry' && jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new AppError('SCHEMA_INVALID', `invalid ${kind} message from ${deviceId}: nests deeper than ${MAX_JSON_DEPTH} levels, expected at most ${MAX_JSON_DEPTH} levels of arrays and objects`);
  }
  try {
    // JSON spells U+0000 only as the escape \u0000 (a raw one is not JSON): scan for it, revive only then.
    value = text.includes('\\u0000') ? JSON.parse(text, withoutNul) : JSON.parse(text);
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `invalid ${kind} message from ${deviceId}: not JSON (${(err as Error).message})`);
  }
  const fast = FAST[kind]?.(value);
  if (!fast) {
    try {
      return parseWire(SCHEMAS[kind], value, `${kind} message from ${deviceId}`);
    } catch (err) {
      // Some items wrong: the rest go on, the wrong ones are refused and acked (salvage.ts).
      const salvaged = kind === 'telemetry' ? salvageBatch(kind, value) : kind === 'events' ? salvageBatch(kind, value) : null;
      if (salvaged) return salvaged;
      throw err;
    }
  }
  if (kind === 'telemetry') rememberWindowTexts(text, payload, fast as TelemetryBatch);
  return fast;
}

/**
 * JSON.parse reviver: U+0000 in a string or key becomes U+FFFD. PostgreSQL text cannot hold it, and an
 * event's code and message are stored as text (and in deployment status reasons): the insert failed, so
 * the batch was never acked and the device resent it forever. SQLite stores the same.
 */
function withoutNul(_key: string, v: unknown): unknown {
  if (typeof v === 'string') return v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).some((k) => k.includes('\0'))) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replaceAll('\0', '\uFFFD'), x]));
  }
  return v;
}

export interface IngressDeps {
  metrics: MetricsPort;
  logger: LoggerPort;
  clock: ClockPort;
  /** How often one device's invalid messages are logged at most (default 60 s). */
  invalidLogIntervalMs?: number;
  /** Size and byte rate of each device's state reports (state-pacer.ts; defaults DEFAULT_STATE_PACING). */
  statePacing?: Partial<StatePacingLimits> | undefined;
}

type AnyHandler = (deviceId: string, msg: never) => void | Promise<void>;

export class Ingress {
  private readonly handlers = new Map<IncomingKind, Set<AnyHandler>>();
  private readonly connectHandlers = new Set<DeviceHandler>();
  private readonly disconnectHandlers = new Set<DeviceHandler>();
  private readonly invalid = new Map<string, number>();
  private readonly lastLogged = new Map<string, number>();
  private readonly logInterval: number;
  /** Per kind and error code (a bounded set): when a handler failure was last logged, and how many since. */
  private readonly failuresLogged: LogThrottle;

  /** State reports paced by their bytes per device (state-pacer.ts); a held one comes back through `process`. */
  private readonly pacer: StatePacer;

  constructor(private readonly deps: IngressDeps) {
    this.logInterval = deps.invalidLogIntervalMs ?? 60_000;
    this.failuresLogged = new LogThrottle(() => deps.clock.now().getTime(), this.logInterval);
    this.pacer = new StatePacer(deps.statePacing ?? {}, (topic, payload) => {
      const t = parseTopic(topic);
      if (t?.kind === 'device') this.process('state', t.deviceId, payload);
    });
  }

  /** Drops the state reports still held (the link stops; each device reports its state again when it reconnects). */
  stop(): void {
    this.pacer.stop();
  }

  on<K extends IncomingKind>(kind: K, handler: IncomingHandler<K>): () => void {
    let set = this.handlers.get(kind);
    if (!set) this.handlers.set(kind, (set = new Set()));
    set.add(handler as AnyHandler);
    return () => set.delete(handler as AnyHandler);
  }

  onConnect(h: DeviceHandler): () => void {
    this.connectHandlers.add(h);
    return () => this.connectHandlers.delete(h);
  }

  onDisconnect(h: DeviceHandler): () => void {
    this.disconnectHandlers.add(h);
    return () => this.disconnectHandlers.delete(h);
  }

  emitConnect(deviceId: string, online: boolean): void {
    for (const h of online ? this.connectHandlers : this.disconnectHandlers) {
      try {
        h(deviceId);
      } catch (err) {
        this.deps.logger.error({ deviceId, err: toAppError(err).message }, 'fleet link connect/disconnect handler failed');
      }
    }
  }

  /**
   * Handles one publish from a device. Returns the validated message (or null when dropped)
   * so that a link can react to presence itself.
   */
  accept(topic: string, payload: Buffer): { kind: IncomingKind; deviceId: string; msg: IncomingMessages[IncomingKind] } | null {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.kind !== 'device' || !(parsed.topic in SCHEMAS)) {
      this.drop('unknown', parsed?.kind === 'device' ? parsed.topic : 'topic', `not a device-to-hub topic: ${topic}`);
      return null;
    }
    const kind = parsed.topic as IncomingKind;
    const deviceId = parsed.deviceId;
    if (kind === 'state') {
      const o = this.pacer.offer(deviceId, topic, payload);
      if (o === 'too_large') {
        this.drop(deviceId, kind, `state report of ${payload.length} bytes: expected at most ${this.pacer.limits.maxStateBytes} (ingest.maxStateBytes)`);
        return null;
      }
      if (o === 'held') {
        this.deps.metrics.inc('edgefleet_mqtt_state_held_total', {});
        return null;
      }
    } else if (kind === 'telemetry' || kind === 'events') {
      this.pacer.flush(deviceId);
    }
    return this.process(kind, deviceId, payload);
  }

  private process(kind: IncomingKind, deviceId: string, payload: Buffer): { kind: IncomingKind; deviceId: string; msg: IncomingMessages[IncomingKind] } | null {
    let msg: IncomingMessages[IncomingKind];
    try {
      msg = parseMessage(kind, payload, deviceId);
    } catch (err) {
      this.drop(deviceId, kind, toAppError(err).message);
      return null;
    }
    if ('deviceId' in msg && msg.deviceId !== deviceId) {
      this.drop(deviceId, kind, `invalid ${kind} message: deviceId ${JSON.stringify(msg.deviceId)} does not match the topic's device ${JSON.stringify(deviceId)}`);
      return null;
    }
    this.deps.metrics.inc('edgefleet_mqtt_messages_in_total', { kind });
    this.dispatch(kind, deviceId, msg);
    return { kind, deviceId, msg };
  }

  private dispatch(kind: IncomingKind, deviceId: string, msg: IncomingMessages[IncomingKind]): void {
    const set = this.handlers.get(kind);
    if (!set) return;
    for (const h of set) {
      try {
        const r = h(deviceId, msg as never);
        if (r && typeof (r as Promise<void>).catch === 'function') {
          (r as Promise<void>).catch((err: unknown) => this.handlerFailed(kind, deviceId, err));
        }
      } catch (err) {
        this.handlerFailed(kind, deviceId, err);
      }
    }
  }

  /**
   * A handler that failed (the device resends what was not acked): counted every time, logged once per
   * kind and error code an interval with how many were not logged since. A full disk fails every
   * device's every batch, and one line a minute says so as well as thousands would.
   */
  private handlerFailed(kind: string, deviceId: string, err: unknown): void {
    this.deps.metrics.inc('edgefleet_mqtt_handler_errors_total', { kind });
    const e = toAppError(err);
    const unlogged = this.failuresLogged.take(`${kind}\u0000${e.code}`);
    if (unlogged === null) return;
    this.deps.logger.error({ deviceId, kind, code: e.code, err: e.message, unloggedBefore: unlogged }, 'handler for a device message failed (logged once per kind and error code an interval)');
  }

  private drop(deviceId: string, kind: string, reason: string): void {
    const key = `${deviceId}\u0000${kind}`;
    this.invalid.set(key, (this.invalid.get(key) ?? 0) + 1);
    this.deps.metrics.inc('edgefleet_mqtt_invalid_messages_total', { kind });
    const now = this.deps.clock.now().getTime();
    const last = this.lastLogged.get(deviceId);
    if (last === undefined || now - last >= this.logInterval) {
      this.lastLogged.set(deviceId, now);
      this.deps.logger.warn({ deviceId, kind, reason }, 'invalid device message dropped (logged once per device and interval)');
    }
  }

  invalidCounts(): InvalidCount[] {
    return [...this.invalid].map(([key, count]) => {
      const [deviceId = '', kind = ''] = key.split('\u0000');
      return { deviceId, kind, count };
    });
  }
}
