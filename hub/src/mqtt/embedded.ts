// The embedded broker: aedes 1.x (MQTT 3.1.1) on TCP, TLS when given a certificate and WebSocket
// when given a port (listeners.ts), with per-device authentication and the ACL of docs/architecture.md section 5.
// The hub publishes and receives in process (not as a client). One FleetLink
// implementation; external.ts is the other.
import { Aedes, type Client, type Connection } from 'aedes';
import { TRUST_TOPIC, allDevicesFilter, deviceTopic } from '@edgefleet/shared';
import { checkDevicePublish, checkDeviceSubscribe } from './acl.js';
import { Ingress } from './ingress.js';
import type { StatePacingLimits } from './state-pacer.js';
import { ConnectGuard, type ConnectLimits } from './connect-guard.js';
import { PendingConnects } from './pending-connects.js';
import { installConnectHooks, remoteAddress } from './connect-hooks.js';
import { guardLateClose } from './late-close.js';
import { RefusalLog } from './refusals.js';
import type { CredentialsInUseTwice, TakeoverWatchOptions } from './takeovers.js';
import type { MqttQuota } from './quota.js';
import { indexRetained, type RetainedPersistence } from './retained.js';
import { PresenceWriter } from './presence-writer.js';
import { DeviceSender } from './device-sender.js';
import { DependencyWatch } from '../health.js';
import { closeListeners, listenerAddress, noListeners, openListeners } from './listeners.js';
import { INCOMING_KINDS, type ClockPort, type DeviceAuthPort, type FleetLink, type FleetLinkAddress, type LoggerPort, type MetricsPort, type OutgoingKind } from './ports.js';

export interface EmbeddedBrokerOptions {
  tcpPort: number;
  host: string;
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  /** MQTT over WebSocket (subprotocol "mqtt") on this port: same authentication, ACL and limits as TCP. */
  wsPort?: number;
  maxPayloadBytes: number;
  /** Attempts per address, failed authentications per id and per address (docs/mqtt.md "Connection limits"). */
  connectRateLimit: ConnectLimits;
  /** Repeated takeovers of one device's session (docs/mqtt.md "Credentials in use twice"). */
  takeovers?: Partial<TakeoverWatchOptions>;
  onCredentialsInUseTwice?: (deviceId: string, info: CredentialsInUseTwice) => void;
  devices: DeviceAuthPort;
  metrics: MetricsPort;
  logger: LoggerPort;
  clock: ClockPort;
  /**
   * When given, the current desired document is delivered from the hub's store when a
   * device subscribes to its desired topic, instead of aedes retained messages (whose
   * lookups slow down with many retained messages, docs/mqtt.md).
   */
  desiredFor?: (deviceId: string) => Buffer | null | Promise<Buffer | null>;
  invalidLogIntervalMs?: number;
  /** Size and byte rate of each device's state reports (state-pacer.ts). */
  statePacing?: Partial<StatePacingLimits> | undefined;
  /** Per-device messages/s and bytes/hour (quota.ts); the owner stops it. */
  quota?: MqttQuota | null | undefined;
  /** DRAIN_TIMEOUT_MS unless given (tests change it). */
  drainTimeoutMs?: number;
}

/** The TCP accept backlog (listeners.ts); the benches' bare servers use it too. */
export { LISTEN_BACKLOG } from './listeners.js';

/**
 * aedes' drainTimeout (its default is 60 s): a device whose socket has not drained this long after a
 * write filled it is disconnected. Twice the agent's 5 s download stall timer (docs/mqtt.md "Slow devices").
 */
export const DRAIN_TIMEOUT_MS = 10_000;

/** Room for the fixed header, topic and packet id around the largest allowed payload. */
const PACKET_OVERHEAD = 64 * 1024;

type AedesInternals = { clients: Record<string, Client | undefined> };
type ClientInternals = { subscriptions?: Record<string, unknown> };
type ParserInternals = { _parseLength(): boolean; _emitError(err: Error): void; packet: { length: number } };

export function createEmbeddedBroker(opts: EmbeddedBrokerOptions): FleetLink {
  const { devices, metrics, logger, clock } = opts;
  const ingress = new Ingress({ metrics, logger, clock, invalidLogIntervalMs: opts.invalidLogIntervalMs, statePacing: opts.statePacing });
  const guard = new ConnectGuard({
    limits: opts.connectRateLimit, metrics, logger, clock,
    ...(opts.takeovers ? { takeovers: opts.takeovers } : {}),
    ...(opts.onCredentialsInUseTwice ? { onCredentialsInUseTwice: opts.onCredentialsInUseTwice } : {}),
  });
  const connected = new Set<string>();
  // Online/last seen from connects, disconnects and presence messages, written in batches (presence-writer.ts).
  const presence = new PresenceWriter({ devices, logger });
  let broker: Aedes | null = null;
  // TCP, TLS and WebSocket (listeners.ts).
  let listeners = noListeners();
  let stopping: Promise<void> | null = null;

  // Counted every time, logged once a minute per reason and device or address, client strings clipped (refusals.ts).
  const refusals = new RefusalLog({ metrics, logger, clock });
  const refuse = refusals.refuse.bind(refusals);
  // Connections not yet answered (no CONNACK) per address: sockets that send nothing hold no more than this.
  const pending = new PendingConnects(guard.limits.pendingPerAddress, guard.limits.pendingTotal);

  function limitPacketSize(client: Client): void {
    // aedes has no max packet size; stop reading a packet whose declared length is
    // too large before it is buffered whole (mqtt-packet parser, fixed header).
    const parser = (client as unknown as { _parser: ParserInternals })._parser;
    const limit = opts.maxPayloadBytes + PACKET_OVERHEAD;
    const orig = parser._parseLength.bind(parser);
    parser._parseLength = () => {
      const ok = orig();
      if (ok && parser.packet.length > limit) {
        const address = remoteAddress(client);
        refuse('packet_too_large', address, { address, bytes: parser.packet.length, limit });
        parser._emitError(new Error(`packet of ${parser.packet.length} bytes exceeds the limit of ${limit} bytes`));
        return false;
      }
      return ok;
    };
  }

  function handle(conn: Connection): void {
    if (!broker) {
      conn.destroy();
      return;
    }
    const address = (conn as { remoteAddress?: string }).remoteAddress ?? 'unknown';
    const full = pending.admit(conn, address);
    if (full) {
      refuse('pending_connects', address, full === 'address' ? { address, limit: pending.perAddress } : { address, limit: pending.total, scope: 'all addresses' });
      conn.destroy();
      return;
    }
    conn.once('close', () => pending.release(conn));
    limitPacketSize(broker.handle(conn));
  }

  async function deliverDesired(client: Client): Promise<void> {
    if (!opts.desiredFor) return;
    const payload = await opts.desiredFor(client.id);
    if (!payload || client.closed) return;
    client.publish({ cmd: 'publish', topic: deviceTopic(client.id, 'desired'), payload, qos: 1, retain: true, dup: false }, (err) => {
      if (err) logger.warn({ deviceId: client.id, err: err.message }, 'could not deliver the desired document');
    });
  }

  function wire(b: Aedes): void {
    // A device's old connection closing late leaves its new one registered (late-close.ts).
    guardLateClose(b, () => metrics.inc('edgefleet_mqtt_late_closes_total'));
    installConnectHooks(b, { guard, devices, logger, refuse, maxPayloadBytes: opts.maxPayloadBytes, clients: () => (broker as unknown as AedesInternals | null)?.clients ?? {} });
    b.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const reason = checkDevicePublish(client.id, { topic: packet.topic, retain: packet.retain, payloadBytes: packet.payload.length, qos: packet.qos }, opts.maxPayloadBytes);
      if (reason) {
        refuse('publish_refused', client.id, { deviceId: client.id, why: reason });
        // MQTT 3.1.1 has no negative PUBACK: refusing closes the connection.
        return done(new Error(reason));
      }
      // Per-device quotas: pass, hold (throttle) or refuse (closes the connection), quota.ts.
      if (opts.quota) return opts.quota.gate(client.id, packet.topic, packet.payload.length, () => client.closed, done);
      done(null);
    };
    b.authorizeSubscribe = (client, sub, done) => {
      const reason = checkDeviceSubscribe(client.id, sub.topic);
      if (reason) {
        refuse('subscribe_refused', client.id, { deviceId: client.id, why: reason });
        return done(null, null); // SUBACK 0x80 for this filter
      }
      done(null, sub);
    };
    b.on('connackSent', (_packet, client) => pending.release(client.conn));
    b.on('clientReady', (client) => {
      // aedes 1.2 tells ready a connection that closed after its CONNACK was written, after its disconnect:
      // counted, it stayed online with no connection (docs/mqtt.md "A connection that closes before it is ready").
      if (client.closed) {
        metrics.inc('edgefleet_mqtt_ready_after_close_total');
        return;
      }
      connected.add(client.id);
      metrics.set('edgefleet_mqtt_connected_devices', connected.size);
      presence.mark(client.id, true, clock.now());
      ingress.emitConnect(client.id, true);
      const subs = (client as unknown as ClientInternals).subscriptions ?? {};
      if (subs[deviceTopic(client.id, 'desired')]) void deliverDesired(client).catch(() => {});
    });
    b.on('clientDisconnect', (client) => {
      if (!connected.delete(client.id)) return;
      metrics.set('edgefleet_mqtt_connected_devices', connected.size);
      presence.mark(client.id, false, clock.now());
      ingress.emitConnect(client.id, false);
    });
    b.on('subscribe', (subs, client) => {
      if (!opts.desiredFor || !client) return;
      const own = deviceTopic(client.id, 'desired');
      if (subs.some((s) => s.topic === own && (s.qos as number) !== 128)) {
        deliverDesired(client).catch((err: unknown) => logger.error({ deviceId: client.id, err: String(err) }, 'desiredFor failed'));
      }
    });
  }

  let delivered = 0;
  async function subscribeIngress(b: Aedes): Promise<void> {
    for (const kind of INCOMING_KINDS) {
      await new Promise<void>((resolve) => {
        b.subscribe(allDevicesFilter(kind), (packet, cb) => {
          const r = ingress.accept(packet.topic, packet.payload as Buffer);
          if (r && r.kind === 'presence' && 'online' in r.msg) presence.mark(r.deviceId, r.msg.online, clock.now());
          // aedes delivers a backlog from one queue and a synchronous cb() recurses through it (a burst
          // from 1,000 devices overflowed the stack): every 64th message continues on a fresh stack.
          if (++delivered % 64 === 0) setImmediate(cb);
          else cb();
        }, resolve);
      });
    }
  }

  function started(): Aedes {
    if (!broker) throw new Error('the embedded broker is not started');
    return broker;
  }

  function publishRaw(topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 = 1): Promise<void> {
    const b = started();
    return new Promise((resolve, reject) => {
      b.publish({ cmd: 'publish', topic, payload, qos, retain, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  // GET /api/v1/ready: the listeners are open (health.ts).
  const listening = new DependencyWatch(() => clock.now(), false);
  const sender = new DeviceSender((id) => (started() as unknown as AedesInternals).clients[id], metrics);

  const link: FleetLink = {
    async start() {
      if (broker) return;
      const b = await Aedes.createBroker({ heartbeatInterval: 60_000, connectTimeout: 10_000, drainTimeout: opts.drainTimeoutMs ?? DRAIN_TIMEOUT_MS });
      // Retained lookups by exact topic instead of a scan per SUBSCRIBE (retained.ts).
      indexRetained((b as unknown as { persistence: RetainedPersistence }).persistence);
      broker = b;
      wire(b);
      await subscribeIngress(b);
      await openListeners(listeners, opts, handle);
      listening.up();
      logger.info({ address: link.address() }, 'embedded MQTT broker listening');
    },
    stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        listening.down('the hub is stopping');
        const closed = closeListeners(listeners);
        if (broker) {
          const b = broker;
          await new Promise<void>((r) => b.close(() => r()));
        }
        await closed;
        presence.flush(); // the disconnects of the close above included
        ingress.stop();
        broker = null;
        listeners = noListeners();
        connected.clear();
        sender.clear();
      })();
      return stopping;
    },
    async publish(deviceId, kind: OutgoingKind, payload, o = {}) {
      const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
      // With desiredFor the store is the source of the current document: no retained copy.
      const retain = kind === 'desired' && opts.desiredFor ? false : (o.retain ?? false);
      // A retained message goes through aedes' publish, which stores it.
      if (retain) await publishRaw(deviceTopic(deviceId, kind), buf, true, o.qos);
      else if (!(await sender.send(deviceId, kind, buf, o.qos ?? 1))) return;
      metrics.inc('edgefleet_mqtt_messages_out_total', { kind });
    },
    async publishTrust(doc) {
      const text = typeof doc === 'string' ? doc : Buffer.isBuffer(doc) ? doc : JSON.stringify(doc);
      await publishRaw(TRUST_TOPIC, Buffer.from(text), true);
      metrics.inc('edgefleet_mqtt_messages_out_total', { kind: 'trust' });
    },
    on: (kind, handler) => ingress.on(kind, handler),
    onConnect: (h) => ingress.onConnect(h),
    onDisconnect: (h) => ingress.onDisconnect(h),
    async disconnect(deviceId) {
      const client = broker ? (broker as unknown as AedesInternals).clients[deviceId] : undefined;
      if (!client) return false;
      await new Promise<void>((r) => client.close(() => r()));
      logger.info({ deviceId }, 'device disconnected by the hub');
      return true;
    },
    connectedCount: () => connected.size,
    credentialsInUseTwice: (deviceId) => guard.credentialsInUseTwice(deviceId),
    invalidCounts: () => ingress.invalidCounts(),
    address: (): FleetLinkAddress => listenerAddress(listeners),
    linkState() {
      if (listening.get().ok && !listeners.tcp?.listening) listening.down('the MQTT listener closed');
      return listening.get();
    },
  };
  return link;
}
