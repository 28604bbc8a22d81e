// The agent's link to the hub: one MQTT 3.1.1 connection (client id = username = device id) that
// receives desired state, trust rotations, acks and blob blocks, and sends presence (with a last will),
// reported state (retained, on connect and on every change) and the outbox. Serving never depends on
// it: the box keeps predicting, recording and rolling back while offline.
import mqtt, { type MqttClient } from 'mqtt';
import {
  DEFAULT_KEEPALIVE_SEC, PRESENCE_SCHEMA, settleWithin, TRUST_TOPIC, Ack, CaptureAck, decodeBlobData, deviceTopic, parseTopic, parseWireJson, tlsHint, toAppError,
  type DeviceTopicKind, type ReportedState,
} from '@edgefleet/shared';
import { BlobDownloader } from './downloader.js';
import { LinkState } from './link-state.js';
import { DesiredIntake } from './desired-intake.js';
import { OutboxSender, trimmedMessage, type TrimmedWindow } from './outbox.js';
import { reportMovedAbove } from './outbox-behind.js';
import { STOP_STEP_MS, closeLink } from './stop-budget.js';
import { SyncStore, logIdentityChange } from './sync-store.js';
import { Updater } from './updater.js';
import { reportedState } from './reported-state.js';
import { StateReports } from './state-reports.js';
import { DiskWatch } from './disk-space.js';
import { ReconnectBackoff } from './reconnect.js';
import { keepLinkWhileReceiving } from './keepalive.js';
import { ConnectTimeout, adaptConnectTimeout } from './connect-timeout.js';
import { DEFAULT_SYNC, type CaptureLink, type Emit, type SyncDeps, type SyncOptions } from './sync-deps.js';

export { DEFAULT_SYNC, type CaptureLink, type Emit, type SyncDeps, type SyncOptions } from './sync-deps.js';

export class SyncClient {
  readonly store: SyncStore;
  readonly outbox: OutboxSender;
  readonly downloader: BlobDownloader;
  readonly updater: Updater;
  /** Up/down, since when, the broker used: recorded for `edgefleet-agent status`, drops logged once. */
  readonly link: LinkState;
  private client: MqttClient | null = null;
  private readonly opts: SyncOptions;
  private readonly id: string;
  /** The reported state: when it goes out, what it last said (state-reports.ts). */
  private readonly reports: StateReports;
  private connected = false;
  /** Each attempt's limit, from how the last ones went (connect-timeout.ts). */
  private readonly connectTimeout = new ConnectTimeout();
  private lastError: string | undefined;
  /** Desired and trust documents from the hub (desired-intake.ts). */
  private readonly intake: DesiredIntake;
  private capture: CaptureLink | null = null;
  /** This start's number on this data directory (a configuration rollout's restarts gate). */
  private starts: number | undefined;
  /** Room on the data dir's filesystem: read for each report, which a change of band triggers. */
  private readonly disk: DiskWatch;
  /** name@version of the versions whose windows went without some summaries (windowTrimmed). */
  private readonly trimmedVersions = new Set<string>();

  constructor(private readonly d: SyncDeps) {
    this.opts = { ...DEFAULT_SYNC, ...d.options };
    this.id = d.credentials.deviceId;
    this.store = new SyncStore(d.db);
    const changed = this.store.startIdentity(this.id);
    if (changed) logIdentityChange(d.logger, this.id, changed);
    for (const b of this.store.startAgentVersion(d.agentVersion)) {
      d.logger.info({ model: b.name, version: b.version }, `${b.name}@${b.version} failed under another agent version (${b.reason}): tried again with agent ${d.agentVersion}`);
    }
    this.link = new LinkState(d.db, this.brokerUrl, d.logger, () => this.now());
    this.reports = new StateReports({
      build: () => this.reportedState(), publish: (payload) => this.publish('state', payload, true), connected: () => this.connected,
      pending: () => this.outbox.pending(), models: d.models,
    });
    this.disk = new DiskWatch(d.dataDir, () => this.stateChanged(), d.diskCheckMs);
    d.shadow?.onReplay(() => this.stateChanged());
    const emit: Emit = (e) => {
      d.emit(e);
      this.outboxChanged();
    };
    this.outbox = new OutboxSender(d.db, this.id, (kind, payload) => this.publishOutbox(kind, payload), this.opts.outbox, Date.now,
      (err) => d.logger.error({ err }, 'sending the outbox failed; retrying later'), (t) => this.windowTrimmed(t, emit), (m) => reportMovedAbove(m, d.logger, emit));
    this.downloader = new BlobDownloader({
      dir: d.dataDir,
      store: this.store,
      // A lost request is asked again when the download stalls (downloader stallMs).
      requester: { request: (req) => { this.publish('blob/get', JSON.stringify(req)).catch(() => undefined); } },
      blockSize: this.opts.blockSize,
      window: this.opts.window,
      ...(d.pause ? { pause: d.pause } : {}),
    });
    // Local rollback by policy is the policy guard's (policy/guard.ts, wired in agent.ts); it tells the updater.
    const report = (err: unknown, what: string) => d.logger.error({ err }, `${what} failed`);
    this.updater = new Updater({
      manager: d.manager, models: d.models, downloader: this.downloader, store: this.store, emit,
      changed: () => this.stateChanged(), onError: report, now: () => this.now().getTime(), ...(d.shadow ? { shadow: d.shadow } : {}),
      ...(d.lock ? { lock: d.lock } : {}), ...(d.disk ? { disk: d.disk } : {}), ...(d.deferCheckMs !== undefined ? { deferCheckMs: d.deferCheckMs } : {}),
      diskFree: () => this.disk.free(), ...(d.diskWaitCheckMs !== undefined ? { diskCheckMs: d.diskWaitCheckMs } : {}),
      ...(d.removals ? { removals: d.removals } : {}), ...(d.removedKeepSec ? { removedKeepSec: d.removedKeepSec } : {}),
    });
    this.intake = new DesiredIntake({
      d, store: this.store, updater: this.updater, deviceId: this.id, now: () => this.now(),
      capture: () => this.capture, changed: () => this.stateChanged(), kick: () => this.outbox.kick(),
      ...(d.deferCheckMs !== undefined ? { recheckMs: d.deferCheckMs } : {}),
    });
  }

  private now(): Date {
    return this.d.now ? this.d.now() : new Date();
  }

  /** Said once per version and process (its every window is as large): logged and told to the hub. */
  private windowTrimmed(t: TrimmedWindow, emit: Emit): void {
    const key = `${t.model}@${t.version}`;
    if (this.trimmedVersions.has(key)) return;
    if (this.trimmedVersions.size >= 64) this.trimmedVersions.clear(); // bounded: a version forgotten is told again
    this.trimmedVersions.add(key);
    const message = trimmedMessage(t, this.outbox.options.maxMessageBytes);
    this.d.logger.warn({ model: t.model, version: t.version, bytes: t.bytes, sentBytes: t.sentBytes, without: t.without }, message);
    emit({ kind: 'error', model: t.model, version: t.version, code: 'PAYLOAD_TOO_LARGE', message, data: { bytes: t.bytes, sentBytes: t.sentBytes, without: t.without, start: t.start } });
  }

  /** A presence message, stamped now by the clock `clockMark` names (docs/decisions/0059-clock-marks.md). */
  private presence(online: boolean): string {
    const mark = this.d.clockMark?.();
    return JSON.stringify({ schema: PRESENCE_SCHEMA, online, at: this.now().toISOString(), ...(mark ? { clock: mark } : {}) });
  }

  /** Data capture joins the link (before start): it gets every accepted document's captures. */
  attachCapture(c: CaptureLink): void {
    this.capture = c;
  }

  get deviceId(): string {
    return this.id;
  }

  /** The broker this client connects to: the configured override, else the first from enrollment. */
  get brokerUrl(): string {
    return this.opts.brokerUrl ?? this.d.credentials.brokers[0] ?? '';
  }

  isConnected(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    this.starts ??= this.store.countStart();
    // Resume work on the last accepted document (a kill mid-download or mid-activation).
    this.intake.resume();
    this.link.start();
    this.disk.start();
    const client = mqtt.connect(this.brokerUrl, {
      clientId: this.id,
      username: this.id,
      password: this.d.credentials.secret,
      protocolVersion: 4,
      clean: true,
      // A silent link (no FIN, no RST: a NAT that forgot it) is given up 1.5 × this after the last packet
      // from the broker; the broker drops this side as long after the last packet from here (docs/mqtt.md).
      keepalive: this.opts.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC,
      reconnectPeriod: this.opts.reconnectMs,
      // A refused CONNECT (a broker not yet reloaded with this device's entry: docs/mqtt.md) is asked
      // again with the backoff below; MQTT.js would otherwise never reconnect after it.
      reconnectOnConnackError: true,
      connectTimeout: this.connectTimeout.ms,
      will: { topic: deviceTopic(this.id, 'presence'), payload: Buffer.from(this.presence(false)), qos: 1, retain: true },
    });
    this.client = client;
    keepLinkWhileReceiving(client, this.opts.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC);
    adaptConnectTimeout(client, this.connectTimeout);
    const retry = new ReconnectBackoff(this.opts.reconnectMs);
    client.on('connect', () => {
      retry.connected(Date.now());
      this.onConnect().catch((err: unknown) => this.d.logger.warn({ err: toAppError(err).message }, 'setting up the hub connection failed'));
    });
    // Before MQTT.js's own listener, which arms the reconnect timer with the period set here: each failed
    // attempt, and a connection that did not last, waits longer (with jitter) up to RECONNECT_MAX_MS: a hub
    // that is down, a revoked device or a flapping link is not asked every 2 s for months, and boxes coming
    // back spread out.
    client.prependListener('close', () => {
      // Not once stopped: closeLink's reconnectPeriod 0 is what keeps MQTT.js from arming a reconnect when
      // the socket of an attempt in flight closes after the end (agent/src/sync/stop-reconnect.test.ts).
      if (this.client !== client) return;
      client.options.reconnectPeriod = retry.failed(Date.now());
    });
    client.on('close', () => {
      this.connected = false;
      this.outbox.pause();
      this.capture?.pause();
      this.link.down(this.lastError ?? 'connection closed');
      // What this link sends has an owner that sends it again on the next connection (the outbox and
      // captures until acked, presence and state on connect, block requests on resume): MQTT.js would also
      // resend its unacked QoS 1 publishes first, so a message too large to cross a slow link before the
      // keepalive ran out was sent first again at every connection, for ever. They fail here instead.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    });
    client.on('error', (err) => {
      this.lastError = err.message;
      // Logged when it changes, else once per ERROR_LOG_MS: the link's state (status, hub link down) says the rest.
      if (retry.shouldLog(err.message, Date.now())) {
        const hint = tlsHint(err as { code?: unknown });
        this.d.logger.warn({ err: err.message, broker: this.brokerUrl, ...(hint ? { hint } : {}), retryInMs: client.options.reconnectPeriod, connectTimeoutMs: client.options.connectTimeout }, 'mqtt error');
      }
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /**
   * Bounded by SYNC_STOP_MS in every state (docs/agent.md "Stopping"): each step that can wait on the
   * network or on an install has its own deadline, and a hub that went away mid-stop is not retried.
   */
  async stop(): Promise<void> {
    this.updater.stop();
    this.intake.stop();
    this.outbox.pause();
    this.capture?.pause();
    this.downloader.stop();
    const warn = (err: unknown) => this.d.logger.warn({ err: toAppError(err).message }, 'stopping the hub link');
    // An install or switch under way finishes before the DB closes, unless it is stuck (then the
    // process exits mid-step, which is crash-safe: docs/agent.md "Stopping").
    await settleWithin(this.updater.idle(), STOP_STEP_MS.updater, 'the install or switch under way', warn);
    this.reports.stop();
    this.disk.stop();
    const c = this.client;
    this.client = null;
    if (c) await closeLink(c, { topic: deviceTopic(this.id, 'presence'), payload: this.presence(false) }, warn);
    this.link.stop();
  }

  private async publish(kind: DeviceTopicKind, payload: string, retain = false): Promise<void> {
    const c = this.client;
    if (!c || !c.connected) throw new Error('not connected');
    await c.publishAsync(deviceTopic(this.id, kind), payload, { qos: 1, retain });
  }

  private async onConnect(): Promise<void> {
    const c = this.client;
    if (!c) return;
    this.connected = true;
    try {
      await c.subscribeAsync([deviceTopic(this.id, 'desired'), deviceTopic(this.id, 'ack'), deviceTopic(this.id, 'blob/data'), deviceTopic(this.id, 'capture/ack'), TRUST_TOPIC], { qos: 1 });
      await this.publish('presence', this.presence(true), true);
      await this.reports.publish();
      this.outbox.resume();
      this.capture?.resume((payload) => this.publish('capture', payload));
      this.downloader.resumeAll();
      this.d.logger.info({ deviceId: this.id }, 'connected to hub');
      this.lastError = undefined;
      this.link.up();
    } catch (err) {
      this.d.logger.warn({ err: toAppError(err).message }, 'setting up the hub connection failed');
    }
  }

  /** Builds the reported state from the store and the updater's phases (reported-state.ts). */
  reportedState(): ReportedState {
    return reportedState({
      deps: this.d, store: this.store, phases: this.updater.phases, shadowWaits: this.updater.shadowWaits, deviceId: this.id, now: this.now(),
      starts: this.starts, outboxItems: this.reports.outboxItems(), disk: this.disk.read(),
    });
  }

  /** New entries in the outbox (closed windows, events): send them, and report the backlog's size when it moved. */
  outboxChanged(): void {
    this.outbox.kick();
    this.reports.checkBacklog();
  }

  /** Versions not yet reported installed are reported first (state-reports.ts beforeOutbox). */
  private async publishOutbox(kind: 'telemetry' | 'events', payload: string): Promise<void> {
    await this.reports.beforeOutbox();
    await this.publish(kind, payload);
  }

  /** A change the reported state shows: reported, coalesced (state-reports.ts). */
  stateChanged(): void {
    this.reports.changed();
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    if (!t) return;
    try {
      if (t.kind === 'trust') return this.intake.onTrust(payload);
      if (t.deviceId !== this.id) return;
      switch (t.topic) {
        case 'desired':
          return this.intake.onDesired(payload);
        case 'ack': {
          const ack = parseWireJson(Ack, payload, 'ack');
          this.outbox.onAck(ack.ranges as Array<[number, number]>, (ack.known ?? []) as Array<[number, number]>, ack.maxSeq);
          this.reports.checkBacklog();
          return;
        }
        case 'capture/ack':
          this.capture?.onAck(parseWireJson(CaptureAck, payload, 'capture ack'));
          return;
        case 'blob/data': {
          const { header, bytes } = decodeBlobData(payload);
          this.downloader.deliver(header, bytes);
          return;
        }
        default:
          return;
      }
    } catch (err) {
      this.d.logger.warn({ topic, err: toAppError(err).message }, 'dropped an invalid message from the hub');
    }
  }
}
