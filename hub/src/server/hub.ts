// The hub's composition root, one part with start/stop: store, identity, the MQTT FleetLink (embedded
// aedes or an external broker), then the parts along the data flow — ingest (what devices send),
// deployments (desired documents out, status from ingest), delivery (model blocks) — and the HTTP server,
// built in the order they depend on each other and stopped in reverse. server/main.ts is only argv and signals;
// the parts' factories are in wiring.ts, what start and stop do beside them in start-steps.ts and stop-steps.ts.
import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import type { TrustBody, TrustDocument } from '@edgefleet/shared';
import type { HubConfig } from '../config.js';
import type { Clock } from '../clock.js';
import { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import { createApp } from '../api/app.js';
import { bundleVerifier } from '../registry.js';
import type { MqttQuota } from '../mqtt/quota.js';
import { appendDevicePassword } from '../mqtt/mosquitto-config.js';
import type { FleetLink, LoggerPort } from '../mqtt/ports.js';
import { prepareHub } from './prepare.js';
import { IngestService } from '../ingest/service.js';
import { DeploymentService } from '../deployments/service.js';
import { ConfigService } from '../config/service.js';
import { Sealing } from '../sealing/service.js';
import { SealingDelivery } from '../sealing/delivery.js';
import { BlobServer } from '../delivery/blob-server.js';
import { RolloutEngine } from '../rollouts/engine.js';
import { RollupGateData } from '../rollouts/rollup-gate-data.js';
import type { StreamHub } from '../api/stream.js';
import { retainedFrom, type WindowRetention } from '../rollups/retention.js';
import { FleetRowBuilder } from '../rollups/fleet-builder.js';
import { Alerts } from '../alerts/service.js';
import { CaptureService } from '../capture/service.js';
import type { HubLease } from '../cluster/lease.js';
import { claimLease, clusterHubId, hubLease, singletonJobs } from './cluster.js';
import { defaultHubId, type ClaimKeeper } from '../cluster/claim.js';
import { DesiredResync } from '../deployments/resync.js';
import { connectionRefusals } from './http-connections.js';
import { HUB_STOP_DB_MS, HUB_STOP_STEP_MS } from './stop-deadlines.js';
import { closeHttpServer, stopSteps } from './stop-steps.js';
import { tidyAtStart, watchDependencies } from './start-steps.js';
import { alertsOptions, brokerUrls, createFleetLink, createQuota, createRetention, createStreams, httpUrl, listen, watchDataDisk } from './wiring.js';

export interface HubAddresses {
  http: string;
  mqtt: string;
  mqtts?: string | undefined;
  ws?: string | undefined;
}

/** Switches for benches, not settings (no config key sets them): `rollups: false` is Store's rollupsOnIngest false. */
export interface HubInternals {
  rollups?: boolean;
}

export class Hub {
  private store: Store | null = null;
  private fleet: FleetLink | null = null;
  private http: ServerType | null = null;
  private ingestPart: IngestService | null = null;
  private deploymentsPart: DeploymentService | null = null;
  private sealingPart: SealingDelivery | null = null;
  private rolloutsPart: RolloutEngine | null = null;
  private blobServer: BlobServer | null = null;
  private retention: WindowRetention | null = null;
  private fleetRows: FleetRowBuilder | null = null;
  private alertsPart: Alerts | null = null;
  private capturePart: CaptureService | null = null;
  private trustDoc: TrustDocument | null = null;
  private trustChain: TrustDocument[] = [];
  private trust: TrustBody | null = null;
  private addrs: HubAddresses | null = null;
  private stopping: Promise<void> | null = null;
  private quota: MqttQuota | null = null;
  private streams: StreamHub | null = null;
  private disconnectEvents: (() => void) | null = null;
  private lease: HubLease | null = null;
  private claim: ClaimKeeper | null = null;
  private resync: DesiredResync | null = null;
  readonly metrics = new Metrics();
  /** Set by start() when it created the admin token (first start). */
  newAdminToken: string | null = null;

  constructor(private readonly cfg: HubConfig, private readonly logger: LoggerPort, private readonly clock: Clock, private readonly internals: HubInternals = {}) {}

  async start(): Promise<HubAddresses> {
    const { cfg, clock, logger } = this;
    // Several hubs (docs/hub.md "Several hubs"): the database is shared, the singleton jobs run under a lease.
    const hubId = clusterHubId(cfg);
    // The holder of the hub lease: a hub without cluster holds it for its whole life (server/cluster.ts).
    const leaseId = hubId ?? defaultHubId();
    // Refusals before anything is created, the store, another hub on it, the hub's identity (server/prepare.ts).
    const { store, keystore, hubKey, claim, ...identity } = await prepareHub(cfg, {
      hubId, logger, now: () => clock.now(), rollups: this.internals.rollups, claim: (s) => claimLease(cfg, leaseId, s, { clock, logger }),
    });
    this.claim = claim;
    this.store = store;
    this.trustDoc = identity.trustDoc;
    this.trustChain = identity.trustChain;
    this.trust = identity.trust;
    this.newAdminToken = identity.newAdminToken;

    const ext = cfg.externalBroker;
    const parts = { clock, logger, metrics: this.metrics };
    watchDataDisk(this.metrics, cfg.dataDir);
    // What a killed hub left: staged uploads, devices marked online (the embedded broker starts with none connected).
    tidyAtStart(store, !ext, logger);
    // Per-device MQTT quotas (embedded broker only), then the MQTT link (embedded aedes or an external broker).
    const quota = createQuota(cfg, store, parts);
    this.quota = quota;
    const fleet = createFleetLink(cfg, store, hubId, quota, parts);
    this.fleet = fleet;
    await fleet.start();
    // With the versions before it: an agent offline through several root rotations verifies each step.
    await fleet.publishTrust(this.trustChain.length ? { ...this.trustDoc, chain: this.trustChain } : this.trustDoc);
    // Ingest: telemetry/events/state in (acked; a reported state is stored in its batch). Deployments: desired
    // documents out, status from ingest's reports (subscribed at the top of its start, before any device
    // message is handled). Delivery: model blocks.
    const ingest = new IngestService({ store, link: fleet, clock, logger, metrics: this.metrics, shared: hubId !== null, ...(cfg.ingest ? { limits: cfg.ingest } : {}) });
    this.ingestPart = ingest;
    // Sealed models: content keys wrapped by the keystore, sealed to each entitled device's key.
    const sealing = new Sealing(store, keystore, logger);
    // Data capture entries ride in the desired documents (docs/decisions/0035-data-capture.md), and so
    // does the remote agent configuration, layered per device (docs/hub.md "Agent configuration").
    let captures: CaptureService | null = null;
    const config = new ConfigService(store, { maxPayloadBytes: cfg.maxPayloadBytes });
    const deployments = new DeploymentService({
      store, link: fleet, hubKey, clock, logger, reports: ingest, sealing, config, trust: () => this.currentTrust(), desiredCapture: (id) => captures?.desiredFor(id) ?? [], renewalAsJob: hubId !== null, ...(cfg.sync ? { options: cfg.sync } : {}),
    });
    this.deploymentsPart = deployments;
    captures = new CaptureService({ store, link: fleet, deployments, clock, logger, metrics: this.metrics, maxPayloadBytes: cfg.maxPayloadBytes, ...(cfg.capture ? { options: cfg.capture } : {}) });
    this.capturePart = captures;
    captures.start();
    const sealed = new SealingDelivery({ store, sealing, deployments, reports: ingest, logger });
    this.sealingPart = sealed;
    sealed.start();
    await ingest.start();
    await deployments.start();
    // Rollouts: waves of a deployment at a rate cap, judged by gates from the hourly rollups; resumes from hub.db.
    const gateData = new RollupGateData(store, { rawFrom: retainedFrom(clock, cfg.retention?.windowsDays) });
    const rollouts = new RolloutEngine({
      store, deployments, gateData, clock, logger, config, ...(cfg.rollouts ? { options: cfg.rollouts } : {}),
      ...(hubId ? { leader: () => this.lease?.isLeader() ?? false, fence: () => this.lease?.fence() } : {}),
    });
    this.rolloutsPart = rollouts;
    const blobs = new BlobServer({ store, link: fleet, logger }, cfg.blobs ?? {});
    this.blobServer = blobs;
    await blobs.start();
    const retention = createRetention(cfg, store, deployments, { clock, logger, metrics: this.metrics });
    this.retention = retention;
    // Fleet rows of closed hours summed off the gates' path (decision 0038).
    const fleetRows = new FleetRowBuilder({ rollups: store.rollups, clock, logger });
    this.fleetRows = fleetRows;
    const alerts = new Alerts({ store, clock, logger, metrics: this.metrics }, alertsOptions(cfg));
    this.alertsPart = alerts;
    // One hub runs these: the holder of the lease, the single hub itself or one among several (server/cluster.ts).
    this.resync = ext ? new DesiredResync({ store, publish: (docs) => deployments.publishDesired(docs), clock, logger }) : null;
    const jobs = singletonJobs({ deployments, rollouts, retention, fleetRows, alerts, resync: this.resync });
    // GET /api/v1/ready: the database as the lease renewals find it, and the broker.
    const { database, dbHealth, dependencies } = watchDependencies(store, fleet, parts);
    this.lease = hubLease(cfg, leaseId, store, jobs, { clock, logger, metrics: this.metrics, database });
    claim.stop(); // the lease renews itself from here
    this.claim = null;
    await this.lease.start();

    // The live stream (GET /api/v1/stream): every source publishes to one bus (docs/hub.md "Live stream").
    const { streams, disconnect } = createStreams(cfg, store, fleet, alerts, parts);
    this.disconnectEvents = disconnect;
    this.streams = streams;

    const verify = bundleVerifier(() => this.currentTrust());
    const app = createApp({
      store, metrics: this.metrics, clock, fleet, verifyBundle: verify, logger,
      trust: () => this.trustDoc as TrustDocument,
      brokers: () => this.brokers(),
      maxBundleBytes: cfg.maxBundleBytes,
      deployments,
      ingest,
      sealing,
      captures,
      config,
      resendVersion: (name: string, version: string) => sealed.resendVersion(name, version),
      rollouts,
      quota,
      cluster: hubId ? () => (this.lease as HubLease).status() : null,
      soleLease: hubId ? null : () => (this.lease as HubLease).status(),
      dependencies,
      databaseFailed: (err, what) => dbHealth.failed(err, what),
      streams,
      console: cfg.console?.enabled === false ? false : { ...(cfg.console?.dir ? { dir: cfg.console.dir } : {}) },
      ...(ext?.passwordFile ? { onCredentials: (id: string, secret: string) => appendDevicePassword(ext.passwordFile as string, id, secret) } : {}),
    });
    const http = await listen(app, cfg, connectionRefusals(this.metrics, logger));
    this.http = http;
    const a = http.address() as AddressInfo;
    const link = fleet.address();
    this.addrs = { http: httpUrl(a), mqtt: link.mqtt, mqtts: link.mqtts, ws: link.ws };
    logger.info({ http: this.addrs.http, mqtt: this.addrs.mqtt, mqtts: this.addrs.mqtts ?? null, ws: this.addrs.ws ?? null, dataDir: cfg.dataDir, hubKeyId: hubKey.keyId }, 'hub ready');
    return this.addrs;
  }

  /** The alerts part (rules evaluation, webhooks), once started. */
  get alerts(): Alerts | null {
    return this.alertsPart;
  }

  /** The deployments part, once started. */
  get deployments(): DeploymentService | null {
    return this.deploymentsPart;
  }

  /** The rollout engine, once started. */
  get rollouts(): RolloutEngine | null {
    return this.rolloutsPart;
  }

  /** The ingest part (stored telemetry, ingest guard, clock offsets), once started. */
  get ingest(): IngestService | null {
    return this.ingestPart;
  }

  address(): HubAddresses {
    if (!this.addrs) throw new Error('hub not started');
    return this.addrs;
  }

  /**
   * Idempotent: HTTP, then the broker, then the store. Every step has a deadline, cut to what is left of
   * HUB_STOP_MS for all of them (docs/hub.md "Stopping"): a client that never closes its socket cannot hold the hub up, nor can a
   * database that does not answer (HUB_STOP_DB_MS).
   */
  stop(after: 'run' | 'failed start' = 'run'): Promise<void> {
    this.stopping ??= (async () => {
      // Each step's deadline is cut to what is left of the stop's budget (stop-steps.ts).
      const { cut, step } = stopSteps(this.logger);
      this.store?.finishWithin(HUB_STOP_DB_MS);
      // A deployment being signed ahead gives up at its next turn (NOT_READY, nothing stored), so its request answers now.
      this.deploymentsPart?.halt();
      // Streams end first (a clean end of each response), then the server closes what is left.
      this.streams?.stop();
      this.streams = null;
      const http = this.http;
      this.http = null;
      // A request under way gets its answer until the step's deadline, when whatever is left is cut.
      if (http) await closeHttpServer(http, step, cut(HUB_STOP_STEP_MS.http));
      // The singleton jobs stop and the lease is released, so another hub takes it (or starts) at once.
      this.claim?.release(); // a start that failed before the lease took over
      this.claim = null;
      const leaseMs = cut(HUB_STOP_STEP_MS.lease);
      await step(this.lease?.stop(Math.max(0, leaseMs - 300)), leaseMs, 'the singleton jobs and the hub lease');
      this.lease = null;
      const alertsMs = cut(HUB_STOP_STEP_MS.alerts);
      await step(this.alertsPart?.stop(Math.max(0, alertsMs - 100)), alertsMs, 'alerts and their webhook deliveries');
      this.alertsPart = null;
      this.retention?.stop();
      this.retention = null;
      this.resync?.stop();
      this.resync = null;
      this.fleetRows?.stop();
      this.fleetRows = null;
      await step(this.blobServer?.stop(), cut(HUB_STOP_STEP_MS.part), 'the blob server');
      this.blobServer = null;
      await step(this.sealingPart?.stop(), cut(HUB_STOP_STEP_MS.part), 'sealed key delivery');
      this.sealingPart = null;
      await step(this.rolloutsPart?.stop(), cut(HUB_STOP_STEP_MS.part), 'rollouts');
      this.rolloutsPart = null;
      this.capturePart?.stop();
      this.capturePart = null;
      this.disconnectEvents?.();
      this.disconnectEvents = null;
      await step(this.deploymentsPart?.stop(), cut(HUB_STOP_STEP_MS.part), 'deployments');
      this.deploymentsPart = null;
      await step(this.ingestPart?.stop(), cut(HUB_STOP_STEP_MS.part), 'ingest');
      this.ingestPart = null;
      this.quota?.stop(); // held publishes are released before their connections close
      this.quota = null;
      await step(this.fleet?.stop(), cut(HUB_STOP_STEP_MS.broker, 0), 'closing the MQTT broker and its connections');
      this.fleet = null;
      this.store?.close();
      this.store = null;
      // After a failed start the caller reports the failure (the CLI's `error [CODE]` line): "hub stopped"
      // just before it read as a clean stop.
      if (after === 'run') this.logger.info({}, 'hub stopped');
      else this.logger.debug({}, 'stopped what the failed start had begun');
    })();
    return this.stopping;
  }

  private currentTrust(): TrustBody {
    if (!this.trust) throw new Error('hub not started');
    return this.trust;
  }

  private brokers(): string[] {
    return brokerUrls(this.cfg, this.addrs);
  }
}
