// Fleet sync on the hub: deployments become signed desired-state documents (one growing seq per
// device, re-signed before they expire), and device telemetry/events are persisted by (device, seq)
// and acked by range. Device reports drive each deployment's per-device status.
import {
  AppError, DESIRED_SCHEMA, signEnvelope, toRanges,
  type DeploymentCreate, type Deployment, type DesiredBody, type DesiredDocument, type DeviceEvent, type EventBatch, type KeyPair, type ReportedState, type TelemetryBatch,
} from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { StoredVersion } from '../store/models-repo.js';
import type { FleetLink, LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { Clock } from '../clock.js';
import { DeploymentsRepo, targetMatches } from './deployments-repo.js';
import { TelemetryRepo } from './telemetry-repo.js';
import { IngestGuard } from './ingest-guard.js';
import { ClockOffsets } from './clock-offset.js';
import type { IngestLimits } from './plausibility.js';

export interface FleetSyncOptions {
  /** Lifetime of a desired document. */
  desiredTtlMs: number;
  /** Re-sign documents that expire within this margin. */
  renewBeforeMs: number;
  /** How often to look for documents to re-sign. */
  renewEveryMs: number;
  /** A device's last seen is written at most this often while its messages arrive (windows come every 10 s). */
  seenEveryMs: number;
}

export const DEFAULT_SYNC_OPTIONS: FleetSyncOptions = {
  desiredTtlMs: 14 * 24 * 3600_000,
  renewBeforeMs: 7 * 24 * 3600_000,
  renewEveryMs: 3600_000,
  seenEveryMs: 5_000,
};

export interface FleetSyncDeps {
  store: Store;
  link: FleetLink;
  hubKey: KeyPair;
  clock: Clock;
  logger: LoggerPort;
  options?: Partial<FleetSyncOptions>;
  metrics?: MetricsPort;
  /** Plausibility limits for what devices report (plausibility.ts). */
  ingest?: Partial<IngestLimits>;
}

/** Desired documents published at once. */
const PUBLISH_BATCH = 200;

const STATUS_BY_EVENT: Partial<Record<DeviceEvent['kind'], 'downloading' | 'activating' | 'active' | 'failed' | 'rolled_back'>> = {
  download_started: 'downloading',
  download_progress: 'downloading',
  verifying: 'activating',
  activating: 'activating',
  activated: 'active',
  install_failed: 'failed',
  rolled_back: 'rolled_back',
  policy_breach: 'rolled_back',
};

export class FleetSync {
  readonly deployments: DeploymentsRepo;
  readonly telemetry: TelemetryRepo;
  readonly guard: IngestGuard;
  readonly clocks: ClockOffsets;
  private readonly opts: FleetSyncOptions;
  private readonly unsubs: Array<() => void> = [];
  private renewTimer: NodeJS.Timeout | null = null;
  /** Per connected device: when its last seen was last written (bounded by the connected devices). */
  private readonly seenAt = new Map<string, number>();

  constructor(private readonly deps: FleetSyncDeps) {
    this.deployments = new DeploymentsRepo(deps.store.db);
    this.telemetry = new TelemetryRepo(deps.store.db, deps.store.rollups);
    this.guard = new IngestGuard({ db: deps.store.db, logger: deps.logger, metrics: deps.metrics, limits: deps.ingest });
    this.opts = { ...DEFAULT_SYNC_OPTIONS, ...deps.options };
    this.clocks = new ClockOffsets({ db: deps.store.db, logger: deps.logger, metrics: deps.metrics, skewMs: deps.ingest?.clockSkewMs, audit: deps.store.audit });
  }

  async start(): Promise<void> {
    const { link } = this.deps;
    this.unsubs.push(
      link.on('telemetry', (id, m) => this.onTelemetry(id, m)),
      link.on('events', (id, m) => this.onEvents(id, m)),
      link.on('state', (id, m) => this.onState(id, m)),
      link.on('presence', (id, m) => {
        if (m.online) this.clocks.record(id, m.at, this.deps.clock.now());
      }),
      link.onDisconnect((id) => {
        this.seenAt.delete(id);
      }),
    );
    await this.renewExpiring();
    this.renewTimer = setInterval(() => {
      this.renewExpiring().catch((err: unknown) => this.deps.logger.error({ err }, 'renewing desired documents failed'));
    }, this.opts.renewEveryMs);
    this.renewTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    while (this.unsubs.length) this.unsubs.pop()?.();
  }

  /** Assigns a model version to a target and issues a desired document to every device it reaches. */
  async deploy(req: DeploymentCreate, actor: string): Promise<Deployment> {
    const { id, docs } = this.createDeployment(req, actor);
    await this.publishDesired(docs);
    return this.deployments.get(id);
  }

  /**
   * The stored half of deploy: the deployment, its devices and each device's next desired document in
   * one transaction, with `record` (the API's audit entry) inside it. Publish the documents after commit.
   */
  createDeployment(req: DeploymentCreate, actor: string, record?: (d: { id: number; devices: number }) => void): { id: number; docs: DesiredDocument[] } {
    const { store, clock } = this.deps;
    store.models.assignable(req.model, req.version); // NOT_FOUND or CONFLICT (deprecated) with a clear message
    const devices = store.devices.list().filter((d) => !d.revoked && targetMatches(req.target, d.id, d.tags));
    if (req.target.devices) {
      const known = new Set(devices.map((d) => d.id));
      const missing = req.target.devices.filter((id) => !known.has(id));
      if (missing.length) throw new AppError('NOT_FOUND', `unknown or revoked devices in target: ${missing.join(', ')}`);
    }
    const now = clock.now();
    return store.db.transaction(() => {
      const id = this.deployments.create({ model: req.model, version: req.version, target: req.target, reason: req.reason, createdBy: actor, at: now });
      this.deployments.addDevices(id, req.model, devices.map((d) => d.id), now);
      const docs = this.storeDesired(devices.map((d) => d.id));
      record?.({ id, devices: devices.length });
      return { id, docs };
    })();
  }

  /** A device enrolled or changed tags: it joins the tag/all deployments it now matches. */
  async onDeviceChanged(deviceId: string): Promise<void> {
    await this.publishDesired(this.joinDeployments(deviceId));
  }

  /**
   * The stored half of onDeviceChanged (run it inside the caller's transaction, with the device write):
   * joins the deployments the device now matches and stores its next document, returned for publishing.
   */
  joinDeployments(deviceId: string): DesiredDocument[] {
    const { store } = this.deps;
    return store.db.transaction(() => {
      const dev = store.devices.get(deviceId);
      if (dev.revoked) return [];
      const before = JSON.stringify(this.deployments.effectiveFor(deviceId));
      for (const d of this.deployments.openTargets()) {
        if (targetMatches(d.target, deviceId, dev.tags)) this.deployments.addDevices(d.id, d.model, [deviceId], this.deps.clock.now());
      }
      return JSON.stringify(this.deployments.effectiveFor(deviceId)) !== before ? this.storeDesired([deviceId]) : [];
    })();
  }

  /** Builds, signs, stores and publishes (retained) the next desired document for a device. */
  async issueDesired(deviceId: string): Promise<DesiredDocument> {
    const [doc] = await this.issueDesiredMany([deviceId]);
    return doc as DesiredDocument;
  }

  /**
   * The same for many devices at once: versions are looked up once, every document is stored in one
   * transaction, and the publishes go out together (a deployment to 1,000 devices is one batch).
   */
  async issueDesiredMany(deviceIds: readonly string[]): Promise<DesiredDocument[]> {
    const docs = this.storeDesired(deviceIds);
    await this.publishDesired(docs);
    return docs;
  }

  /** Builds, signs and stores (one transaction, nested in the caller's if any) each device's next document. */
  private storeDesired(deviceIds: readonly string[]): DesiredDocument[] {
    for (const id of deviceIds) this.guard.invalidate(id); // the versions it may report on change
    const { store, clock, hubKey } = this.deps;
    const now = clock.now();
    const versions = new Map<string, StoredVersion>();
    const version = (name: string, v: string): StoredVersion => {
      const key = `${name}@${v}`;
      let sv = versions.get(key);
      if (!sv) {
        sv = store.models.get(name, v);
        versions.set(key, sv);
      }
      return sv;
    };
    return store.db.transaction(() => deviceIds.map((deviceId) => {
      const models = this.deployments.effectiveFor(deviceId).map((e) => {
        const v = version(e.model, e.version);
        return {
          name: e.model,
          version: e.version,
          manifestSha256: v.manifestSha256,
          bundle: { sha256: v.bundle.sha256, size: v.bundle.size },
          ...(e.previous ? { previous: e.previous } : {}),
        };
      });
      const body: DesiredBody = {
        schema: DESIRED_SCHEMA,
        deviceId,
        seq: store.desired.lastSeq(deviceId) + 1,
        issued: now.toISOString(),
        expires: new Date(now.getTime() + this.opts.desiredTtlMs).toISOString(),
        models,
        config: {},
      };
      const doc = signEnvelope(body, [hubKey]) as DesiredDocument;
      store.desired.put(doc);
      return doc;
    }))();
  }

  /** Publishes stored documents (retained), in batches; after the transaction that stored them committed. */
  async publishDesired(docs: readonly DesiredDocument[]): Promise<void> {
    for (let i = 0; i < docs.length; i += PUBLISH_BATCH) {
      await Promise.all(docs.slice(i, i + PUBLISH_BATCH).map((d) => this.deps.link.publish(d.signed.deviceId, 'desired', JSON.stringify(d), { retain: true })));
    }
  }

  /** Re-signs (as a new seq) every latest document that expires within the renewal margin. */
  async renewExpiring(): Promise<number> {
    const { store, clock } = this.deps;
    const limit = clock.now().getTime() + this.opts.renewBeforeMs;
    const due = store.devices.list().filter((dev) => {
      if (dev.revoked) return false;
      const doc = store.desired.latest(dev.id);
      return !!doc && Date.parse(doc.signed.expires) <= limit;
    });
    await this.issueDesiredMany(due.map((d) => d.id));
    return due.length;
  }

  private async ack(deviceId: string, seqs: number[]): Promise<void> {
    await this.deps.link.publish(deviceId, 'ack', JSON.stringify({ schema: 'edgefleet.ack/v1', ranges: toRanges(seqs) }));
  }

  /** A message from the device: advance its last seen, written at most once per seenEveryMs. */
  private seen(deviceId: string, now: Date): void {
    const t = now.getTime();
    const last = this.seenAt.get(deviceId);
    if (last !== undefined && t - last < this.opts.seenEveryMs && t >= last) return;
    this.seenAt.set(deviceId, t);
    this.deps.store.devices.touch(deviceId, now);
  }

  /** Stores the plausible windows; every seq is acked, refused ones too (so an honest outbox never jams). */
  async onTelemetry(deviceId: string, m: TelemetryBatch): Promise<void> {
    const now = this.deps.clock.now();
    this.seen(deviceId, now);
    this.guard.stored(deviceId, this.telemetry.putWindows(deviceId, this.guard.windows(deviceId, this.clocks.place(deviceId, m.windows), now), now));
    await this.ack(deviceId, m.windows.map((w) => w.seq));
  }

  async onEvents(deviceId: string, m: EventBatch): Promise<void> {
    const now = this.deps.clock.now();
    this.seen(deviceId, now);
    const events = this.guard.events(deviceId, this.clocks.placeEvents(deviceId, m.events), now);
    this.guard.stored(deviceId, this.telemetry.putEvents(deviceId, events, now));
    for (const e of events) {
      if (e.kind === 'desired_refused') {
        this.refused(deviceId, e, now);
        continue;
      }
      const status = STATUS_BY_EVENT[e.kind];
      if (!status || !e.model || !e.version) continue;
      const progress = typeof e.data?.['progress'] === 'number' ? (e.data['progress'] as number) : status === 'active' ? 1 : null;
      const reason = status === 'failed' || status === 'rolled_back' ? `${e.code ?? e.kind}: ${e.message}` : null;
      this.deployments.setStatus(deviceId, e.model, e.version, status, now, { progress, reason });
    }
    await this.ack(deviceId, m.events.map((e) => e.seq));
  }

  /**
   * A refused desired document names no model: its seq finds the document the hub issued, and each
   * model in it is `refused` with the reason on the device's row (docs/hub.md "Deployments"). A seq
   * the hub never issued (a stolen key's document) changes no deployment.
   */
  private refused(deviceId: string, e: DeviceEvent, now: Date): void {
    const seq = e.data?.['seq'];
    if (typeof seq !== 'number') return;
    const doc = this.deps.store.desired.bySeq(deviceId, seq);
    if (!doc) return;
    for (const m of doc.signed.models) {
      this.deployments.setStatus(deviceId, m.name, m.version, 'refused', now, { progress: null, reason: `${e.code ?? e.kind}: ${e.message}` });
    }
  }

  onState(deviceId: string, m: ReportedState): void {
    this.guard.invalidate(deviceId); // installed versions may have changed
    const now = this.deps.clock.now();
    this.seen(deviceId, now);
    this.clocks.record(deviceId, m.at, now);
    for (const model of m.models) {
      if (model.active) this.deployments.setStatus(deviceId, model.name, model.active, 'active', now, { progress: 1 });
    }
  }
}
