// The external-broker FleetLink: the hub is an MQTT client (mqtt.js, MQTT 3.1.1)
// of Mosquitto, EMQX, ... The broker enforces device identity and the ACL (see
// mosquitto-config.ts); the hub still validates every message. Device traffic is
// read through `$share/{group}/…` subscriptions so several hubs can split it;
// presence is read by every hub (not shared) so each knows who is online.
import type { MqttClient } from 'mqtt';
import { AppError, TRUST_TOPIC, allDevicesFilter, deviceTopic, tlsHint } from '@edgefleet/shared';
import { BrokerConnector } from './external-connect.js';
import { DependencyWatch } from '../health.js';
import { Ingress } from './ingress.js';
import type { StatePacingLimits } from './state-pacer.js';
import type { ClockPort, DeviceAuthPort, FleetLink, IncomingKind, LoggerPort, MetricsPort } from './ports.js';

export interface ExternalLinkOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  username: string;
  password: string;
  clientId: string;
  /** `$share` group name; empty string subscribes without sharing (one hub only). */
  shareGroup: string;
  /** Used for markSeen (presence); authentication itself is the broker's job. */
  devices: Pick<DeviceAuthPort, 'markSeen'>;
  metrics: MetricsPort;
  logger: LoggerPort;
  clock: ClockPort;
  invalidLogIntervalMs?: number;
  /** Size and byte rate of each device's state reports (state-pacer.ts). */
  statePacing?: Partial<StatePacingLimits> | undefined;
  /** TLS CA for mqtts:// (PEM). */
  ca?: string | Buffer;
  connectTimeoutMs?: number;
  /** How long start() tries again, once a second, a broker it cannot reach (external-connect.ts); default 0. */
  waitMs?: number;
}

// State is read unshared, like presence: it has no device-side resend (the outbox resends windows and
// events until a hub acks them, a reported state is only published again when it changes), so a state
// a hub took and died with would be lost, and a shared subscription gets no retained state on (re)subscribe.
// Every hub applies every state (idempotent updates of the device's row).
const SHARED_KINDS: IncomingKind[] = ['telemetry', 'events', 'blob/get', 'capture'];

export function createExternalLink(opts: ExternalLinkOptions): FleetLink {
  const { metrics, logger, clock } = opts;
  const ingress = new Ingress({ metrics, logger, clock, invalidLogIntervalMs: opts.invalidLogIntervalMs, statePacing: opts.statePacing });
  const online = new Set<string>();
  let client: MqttClient | null = null;
  let stopping: Promise<void> | null = null;
  let connecting: BrokerConnector | null = null;
  // GET /api/v1/ready: the hub's client connected (health.ts); MQTT.js reconnects once a second.
  const linked = new DependencyWatch(() => clock.now(), false);
  let lastError: string | undefined;

  function filterFor(kind: IncomingKind): string {
    const f = allDevicesFilter(kind);
    return opts.shareGroup && SHARED_KINDS.includes(kind) ? `$share/${opts.shareGroup}/${f}` : f;
  }

  function onMessage(topic: string, payload: Buffer): void {
    const r = ingress.accept(topic, payload);
    if (!r || r.kind !== 'presence' || !('online' in r.msg)) return;
    const was = online.has(r.deviceId);
    if (r.msg.online) online.add(r.deviceId);
    else online.delete(r.deviceId);
    metrics.set('edgefleet_mqtt_connected_devices', online.size);
    opts.devices.markSeen(r.deviceId, r.msg.online, clock.now());
    if (was !== r.msg.online) ingress.emitConnect(r.deviceId, r.msg.online);
  }

  function requireClient(): MqttClient {
    if (!client) throw new Error('the external fleet link is not started');
    return client;
  }

  const link: FleetLink = {
    async start() {
      if (client) return;
      const connector = new BrokerConnector({
        url: opts.url, username: opts.username, waitMs: opts.waitMs ?? 0, logger,
        options: {
          protocolVersion: 4,
          username: opts.username,
          password: opts.password,
          clientId: opts.clientId,
          clean: true,
          reconnectPeriod: 1000,
          // Refused later (the broker reloaded with another password file: docs/mqtt.md), it keeps asking
          // once a second; MQTT.js would otherwise stop for good. At start a refusal still fails the start.
          reconnectOnConnackError: true,
          connectTimeout: opts.connectTimeoutMs ?? 10_000,
          ...(opts.ca ? { ca: opts.ca } : {}),
        },
      });
      connecting = connector;
      const c = await connector.connect().finally(() => {
        connecting = null;
      });
      if (stopping) {
        c.end(true);
        throw new AppError('IO_ERROR', `stopped while connecting to the external MQTT broker ${opts.url}`);
      }
      client = c;
      linked.up();
      c.on('connect', () => {
        lastError = undefined;
        linked.up();
      });
      c.on('close', () => {
        if (!stopping) linked.down(lastError ?? `lost the connection to the external MQTT broker ${opts.url}; reconnecting every second`);
      });
      c.on('message', onMessage);
      c.on('error', (err: Error & { code?: unknown }) => {
        lastError = `the external MQTT broker ${opts.url}: ${err.message}`;
        const hint = tlsHint(err);
        logger.warn({ err: err.message, url: opts.url, ...(hint ? { hint } : {}) }, 'external broker connection error');
      });
      const filters = [...SHARED_KINDS, 'presence' as const, 'state' as const].map(filterFor);
      const granted = await c.subscribeAsync(filters, { qos: 1 });
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) {
        await c.endAsync();
        client = null;
        throw new Error(`the external broker refused the hub's subscriptions ${refused.join(', ')}: check the hub user's ACL (full access to ef/v1/#)`);
      }
      logger.info({ url: opts.url, shareGroup: opts.shareGroup }, 'connected to the external MQTT broker');
    },
    stop() {
      if (stopping) return stopping;
      connecting?.stop();
      linked.down('the hub is stopping');
      stopping = (async () => {
        const c = client;
        client = null;
        if (c) await c.endAsync();
        ingress.stop();
        online.clear();
      })();
      return stopping;
    },
    async publish(deviceId, kind, payload, o = {}) {
      await requireClient().publishAsync(deviceTopic(deviceId, kind), typeof payload === 'string' ? Buffer.from(payload) : payload, { qos: o.qos ?? 1, retain: o.retain ?? false });
      metrics.inc('edgefleet_mqtt_messages_out_total', { kind });
    },
    async publishTrust(doc) {
      const text = typeof doc === 'string' ? doc : Buffer.isBuffer(doc) ? doc : JSON.stringify(doc);
      await requireClient().publishAsync(TRUST_TOPIC, Buffer.from(text), { qos: 1, retain: true });
      metrics.inc('edgefleet_mqtt_messages_out_total', { kind: 'trust' });
    },
    on: (kind, handler) => ingress.on(kind, handler),
    onConnect: (h) => ingress.onConnect(h),
    onDisconnect: (h) => ingress.onDisconnect(h),
    disconnect(deviceId) {
      // A client cannot kick another client off a broker. Revocation with an external
      // broker = remove the device from the password file and reload the broker
      // (docs/mqtt.md); Mosquitto then refuses its next CONNECT.
      logger.warn({ deviceId }, 'disconnect() is not available with an external broker: regenerate the password file and reload the broker');
      return Promise.resolve(false);
    },
    connectedCount: () => online.size,
    invalidCounts: () => ingress.invalidCounts(),
    address: () => ({ mqtt: opts.url }),
    linkState: () => linked.get(),
  };
  return link;
}
