// Pieces of the hub's composition root (server/hub.ts, docs/hub.md) built from config: the MQTT quota and
// FleetLink (embedded aedes or an external broker), the alerts options, the live stream, the HTTP listener,
// the broker URLs handed to devices, the data dir's disk on /metrics and the retention run.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { listenError, readDiskSpace } from '@edgefleet/shared';
import type { HubConfig } from '../config.js';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import type { createApp } from '../api/app.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { MqttQuota } from '../mqtt/quota.js';
import { createExternalLink } from '../mqtt/external.js';
import type { StatePacingLimits } from '../mqtt/state-pacer.js';
import type { FleetLink, LoggerPort } from '../mqtt/ports.js';
import { DEFAULT_ALERTS_OPTIONS, type Alerts, type AlertsOptions } from '../alerts/service.js';
import { EventBus } from '../events/bus.js';
import { connectEventSources } from '../events/sources.js';
import { StreamHub } from '../api/stream.js';
import { embeddedTlsFiles, readTlsFiles } from './tls-files.js';
import { WindowRetention } from '../rollups/retention.js';
import { RollupExpiry } from '../rollups/expiry.js';
import { HistoryRetention } from '../deployments/history-retention.js';
import type { DeploymentService } from '../deployments/service.js';
import { DEFAULT_INGEST_LIMITS } from '../ingest/plausibility.js';
import { capConnections, HTTP_CONNECTION_DEFAULTS, type RefusedBy } from './http-connections.js';
import { answerClientErrors } from './client-errors.js';

interface Wiring {
  clock: Clock;
  logger: LoggerPort;
  metrics: Metrics;
}

/**
 * The hub's data dir disk on /metrics, read at each scrape (docs/operations.md, troubleshooting "the
 * hub's disk fills"): on a full disk the hub stores nothing, so its room is worth an alert of its own.
 */
export function watchDataDisk(metrics: Metrics, dataDir: string): void {
  metrics.describe('edgefleet_hub_disk_free_bytes', 'gauge', "Bytes free on the filesystem of the hub's data dir (statfs, read at each scrape)");
  metrics.describe('edgefleet_hub_disk_total_bytes', 'gauge', "Bytes in all on the filesystem of the hub's data dir");
  metrics.onRender(() => {
    const d = readDiskSpace(dataDir);
    if (!d) return;
    metrics.set('edgefleet_hub_disk_free_bytes', d.free);
    metrics.set('edgefleet_hub_disk_total_bytes', d.total);
  });
}

/**
 * The retention run (rollups/retention.ts, docs/drift.md "Retention"): raw windows, rollups and, with
 * `retention.historyDays`, deployment and rollout history (docs/decisions/0067-deployment-history-retention.md).
 */
export function createRetention(cfg: HubConfig, store: Store, deployments: DeploymentService, w: Wiring): WindowRetention {
  const { clock, logger, metrics } = w;
  metrics.describe('edgefleet_history_deleted_total', 'counter', 'Rows of deployment and rollout history deleted past retention.historyDays, by kind (deployment, rollout)');
  const history = cfg.retention?.historyDays === undefined ? undefined
    : new HistoryRetention({ store, logger, metrics, untrusted: () => deployments.untrustedTargets() });
  return new WindowRetention({
    stored: store.stored, clock, logger, metrics, rollups: new RollupExpiry(store.db), history,
    maxStoredBytesPerDevice: cfg.ingest?.maxStoredBytesPerDevice ?? DEFAULT_INGEST_LIMITS.maxStoredBytesPerDevice,
  }, cfg.retention ?? {});
}

/** Per-device MQTT quotas (embedded broker only): every throttle or disconnect reported is an audit entry (bounded per device and interval). */
export function createQuota(cfg: HubConfig, store: Store, w: Wiring): MqttQuota | null {
  const { clock, logger, metrics } = w;
  return cfg.externalBroker ? null : new MqttQuota({
    clock, logger, metrics, limits: cfg.quotas,
    onReport: (r) => store.audit.append({
      actor: 'hub', action: 'device.quota_exceeded', target: r.deviceId, reason: r.why, at: r.at,
      details: { kind: r.kind, action: r.action, sinceLastReport: r.sinceLastReport, limits: r.limits },
    }),
  });
}

/** State report size and byte rate per device (mqtt/state-pacer.ts) from `ingest`. */
function statePacing(cfg: HubConfig): Partial<StatePacingLimits> {
  const i = cfg.ingest;
  return { ...(i?.maxStateBytes !== undefined ? { maxStateBytes: i.maxStateBytes } : {}), ...(i?.stateBytesPerSec !== undefined ? { stateBytesPerSec: i.stateBytesPerSec } : {}) };
}

/** The hub's MQTT side: a client of the external broker (cfg.externalBroker), else the embedded broker. */
export function createFleetLink(cfg: HubConfig, store: Store, hubId: string | null, quota: MqttQuota | null, w: Wiring): FleetLink {
  const { clock, logger, metrics } = w;
  const ext = cfg.externalBroker;
  const tls = embeddedTlsFiles(cfg);
  return ext
    ? createExternalLink({
        // Each hub of a cluster needs its own client id (the broker drops a connection whose id reconnects elsewhere).
        url: ext.url, username: ext.username, password: ext.password, clientId: `${ext.clientId ?? ext.username}${hubId ? `-${hubId}` : ''}`,
        shareGroup: ext.shareGroup, waitMs: ext.waitMs, devices: store.devices, metrics, logger, clock, statePacing: statePacing(cfg),
      })
    : createEmbeddedBroker({
    host: cfg.host,
    tcpPort: cfg.mqttPort,
    ...(tls && cfg.mqttsPort !== undefined
      ? { tls: { port: cfg.mqttsPort, ...readTlsFiles(tls.cert, tls.key, clock.now(), (msg) => logger.warn({ tlsCert: tls.cert }, msg)) } }
      : {}),
    ...(cfg.wsPort !== undefined ? { wsPort: cfg.wsPort } : {}),
    maxPayloadBytes: cfg.maxPayloadBytes,
    statePacing: statePacing(cfg),
    connectRateLimit: {
      perAddressPerMinute: cfg.connectsPerAddressPerMinute, failuresPerIdPerMinute: cfg.connectFailuresPerIdPerMinute,
      failuresPerAddressPerMinute: cfg.connectFailuresPerAddressPerMinute, coolDownMs: cfg.connectLockMs,
      ...(cfg.connectsPendingPerAddress !== undefined ? { pendingPerAddress: cfg.connectsPendingPerAddress } : {}), pendingTotal: cfg.connectsPending,
    },
    // Reported at most once per device per 10 minutes (mqtt/takeovers.ts), so the audit log stays bounded.
    onCredentialsInUseTwice: (id, info) => {
      store.audit.append({ actor: 'hub', action: 'device.credentials_in_use_twice', target: id, reason: 'connections with this device\'s credentials keep taking each other over', details: info, at: clock.now() });
    },
    devices: store.devices,
    metrics,
    logger,
    clock,
    quota,
    desiredFor: (id) => {
      const doc = store.desired.latest(id);
      return doc ? Buffer.from(JSON.stringify(doc)) : null;
    },
  });
}

/** The alerts part's options: the defaults with cfg.alerts' evaluation interval and webhook settings. */
export function alertsOptions(cfg: HubConfig): AlertsOptions {
  const ac = cfg.alerts;
  return {
    ...DEFAULT_ALERTS_OPTIONS,
    evaluateEveryMs: ac?.evaluateEveryMs ?? DEFAULT_ALERTS_OPTIONS.evaluateEveryMs,
    deliveriesDays: ac?.deliveriesDays ?? DEFAULT_ALERTS_OPTIONS.deliveriesDays,
    historyDays: ac?.historyDays ?? DEFAULT_ALERTS_OPTIONS.historyDays,
    webhook: {
      ...DEFAULT_ALERTS_OPTIONS.webhook,
      ...(ac?.webhookTimeoutMs ? { timeoutMs: ac.webhookTimeoutMs } : {}),
      ...(ac?.webhookAttempts ? { attempts: ac.webhookAttempts } : {}),
      ...(ac?.webhookBackoffMs ? { backoffMs: ac.webhookBackoffMs } : {}),
    },
  };
}

/**
 * The live stream (GET /api/v1/stream): every source publishes to one bus (docs/hub.md "Live stream").
 * `disconnect` detaches the sources from the bus.
 */
export function createStreams(
  cfg: HubConfig, store: Store, fleet: FleetLink, alerts: Alerts, w: Wiring,
): { streams: StreamHub; disconnect: () => void } {
  const { clock, logger, metrics } = w;
  const { bufferEvents, ...streamLimits } = cfg.stream ?? {};
  const bus = new EventBus(bufferEvents ? { capacity: bufferEvents } : {}, (err) => logger.error({ err }, 'event bus listener failed'));
  const disconnect = connectEventSources({ bus, clock, fleet, audit: store.audit, deployments: store.deployments, alerts, rollouts: store.rollouts });
  const streams = new StreamHub(bus, streamLimits, metrics, (id) => {
    try {
      return !store.tokens.get(id).revoked;
    } catch {
      return false;
    }
  });
  return { streams, disconnect };
}

/**
 * How long a connection may send and receive nothing before it is dropped. A request as a whole has no
 * deadline: a bundle upload is bounded by its bytes (maxBundleBytes), and 400 MB over a 10 Mbit/s link
 * takes longer than Node's default requestTimeout of 300 s, after which it answered a bare 408. Headers
 * must still arrive within Node's headersTimeout (60 s); a live stream writes a heartbeat every 15 s.
 */
export const HTTP_IDLE_MS = 300_000;

/** The HTTP server on cfg.host:cfg.httpPort, once it listens, its connections capped (cfg.http, ./http-connections.ts). */
export function listen(app: ReturnType<typeof createApp>, cfg: HubConfig, refused?: (limit: RefusedBy, address: string) => void): Promise<ServerType> {
  return new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: cfg.httpPort, hostname: cfg.host }, () => resolve(s));
    if ('requestTimeout' in s) s.requestTimeout = 0;
    s.setTimeout(HTTP_IDLE_MS);
    // `Expect: 100-continue` (model push, restore): Node answers 100 as soon as the headers are read, so a body
    // the route then refuses by its declared size (413, connection: close) was already being sent, and the
    // close could reach the client before the answer did (`model push` said "write EPIPE"). 100 goes once a
    // route reads the body; a refused one is answered before the client sends a byte of it.
    s.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      req.once('resume', () => res.writeContinue());
      s.emit('request', req, res);
    });
    capConnections(s as NetServer, { ...HTTP_CONNECTION_DEFAULTS, ...cfg.http }, refused);
    answerClientErrors(s as HttpServer);
    s.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, cfg.httpPort, cfg.host, { port: 'httpPort (--http-port)', host: 'host (--host)' }, 'hub')));
  });
}

/** The hub's HTTP URL from the address it listens on (IPv6 in brackets). */
export function httpUrl(a: AddressInfo): string {
  return `http://${hostFor(a.address)}:${a.port}`;
}

/** The broker URLs devices are given: cfg.publicBrokers, else the external broker, else the embedded broker's listeners. */
export function brokerUrls(cfg: HubConfig, a: { mqtt: string; mqtts?: string | undefined; ws?: string | undefined } | null): string[] {
  if (cfg.publicBrokers?.length) return cfg.publicBrokers;
  if (cfg.externalBroker) return [cfg.externalBroker.url];
  if (!a) return [];
  return [a.mqtt, ...(a.mqtts ? [a.mqtts] : []), ...(a.ws ? [a.ws] : [])];
}

function hostFor(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
