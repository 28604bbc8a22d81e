// Deployments on the hub: a model version assigned to a target becomes a signed desired-state document
// per device (one growing seq per device, re-signed before it expires). What devices report (through
// ingest, DeviceReports) drives each deployment's per-device status (status.ts). Building and signing
// each document: desired.ts; re-signing them before they expire: renewal.ts; a rollout's batches, shadow stages and
// devices joining deployments outside a deploy: membership.ts.
import { AppError, type ReportedState, type UndeployResult, type DeploymentCreate, type Deployment, type DesiredDocument, type TrustBody } from '@edgefleet/shared';
import type { DeploymentsRepo } from '../store/deployments-repo.js';
import type { FleetLink, LoggerPort } from '../mqtt/ports.js';
import { refuseRolloutDevices, targetDeviceIds } from './target.js';
import { statusFromEvents, statusFromState } from './status.js';
import { SEQ_AHEAD_MAX, storeDesired, type DesiredDeps, type SignedAhead } from './desired.js';
import { AheadOfHub, type AheadCounts } from './ahead.js';
import { assertVersionTrusted, untrustedTargets } from './trusted.js';
import { undeploy, undeployJob, type UndeployRequest } from './undeploy.js';
import { assignDevices, assignShadows, clearShadows, joinDeployments, type BatchAssignment, type MembershipDeps, type ShadowAssignment } from './membership.js';
import { BackendWatch, overrideHint, refuseUnloadableBackends } from './backends.js';
import { DEFAULT_DEPLOYMENT_OPTIONS, DesiredRenewal, type DeploymentOptions } from './renewal.js';
import { AheadSigner, type AheadJob } from './signed-ahead.js';
import { deployJob } from './deploy-job.js';

export { SEQ_AHEAD_MAX };

export { DEFAULT_DEPLOYMENT_OPTIONS, type DeploymentOptions };

/** DesiredDeps (store, hubKey, clock, reports, sealing, desiredCapture, config) and what publishing and renewal need. */
export interface DeploymentDeps extends DesiredDeps {
  link: FleetLink;
  logger: LoggerPort;
  options?: Partial<DeploymentOptions>;
  /** Several hubs: renewal is a singleton job the lease holder starts (startRenewal/stopRenewal), not part of start(). */
  renewalAsJob?: boolean;
  /** The hub's current trust: a version it no longer accepts is not sent (trusted.ts). Absent in tests of other parts: not checked. */
  trust?: () => TrustBody;
}

/** Desired documents published at once. */
const PUBLISH_BATCH = 200;

export class DeploymentService {
  /** The store's deployments and per-device status. */
  readonly deployments: DeploymentsRepo;
  private readonly opts: DeploymentOptions;
  private readonly unsubs: Array<() => void> = [];
  private readonly renewal: DesiredRenewal;
  private readonly ahead: AheadOfHub;
  private readonly backends: BackendWatch;
  private readonly signer: AheadSigner;

  constructor(private readonly deps: DeploymentDeps) {
    this.deployments = deps.store.deployments;
    this.ahead = new AheadOfHub(deps.logger);
    this.backends = new BackendWatch(deps.store);
    this.opts = { ...DEFAULT_DEPLOYMENT_OPTIONS, ...deps.options };
    this.renewal = new DesiredRenewal(deps, this.opts, (ids) => this.issueDesiredMany(ids));
    this.signer = new AheadSigner(deps);
  }

  /** Follows device reports (subscribed before the first await, so none is missed once ingest runs) and renews documents. */
  async start(): Promise<void> {
    const { reports, store } = this.deps;
    this.unsubs.push(
      reports.onEvents((id, events, now) => statusFromEvents(store, id, events, now)),
      reports.onState((id, state, now) => {
        statusFromState(store, id, state, now);
        this.aheadOfHub(id, state.lastAppliedSeq, now);
        this.backendChanged(id, state);
      }),
    );
    this.signer.resume();
    if (!this.deps.renewalAsJob) await this.startRenewal();
  }

  /** Re-signs what is due now, then every renewEveryMs (started by start(), or by the lease holder); prunes old documents (renewal.ts). */
  startRenewal(): Promise<void> {
    return this.renewal.start();
  }

  /**
   * A device reports applying a document newer than any this hub holds: the hub's data is older than
   * what it issued (restored from a backup). It issues the device's current document above that seq, so
   * the device converges instead of refusing every later one as replayed (docs/operations.md "Backup and
   * restore"). The seq is the device's word: AheadOfHub (ahead.ts) allows one reissue per device every
   * few minutes and refuses a jump past SEQ_AHEAD_MAX (a stolen key's document, decision 0011).
   */
  private aheadOfHub(deviceId: string, applied: number, now: Date): void {
    const { store, logger } = this.deps;
    const last = store.desired.lastSeq(deviceId);
    if (applied <= last) return;
    if (store.devices.get(deviceId).revoked) return;
    if (!this.ahead.reissue(deviceId, applied, last, now)) return;
    this.issueDesiredMany([deviceId], applied).catch((err: unknown) => logger.error({ err, deviceId }, 'reissuing a desired document failed'));
  }

  /**
   * The device's backend changed (or was first seen since the hub started) so that a version it is assigned is now
   * held back, or sent again: its next document is issued (docs/decisions/0129-model-backends-checked.md, addendum).
   */
  private backendChanged(deviceId: string, state: ReportedState): void {
    if (!this.backends.changed(deviceId, state) || this.deps.store.devices.get(deviceId).revoked) return;
    this.issueDesiredMany([deviceId]).catch((err: unknown) => this.deps.logger.error({ err, deviceId }, 'issuing a desired document for a changed backend failed'));
  }

  /** How often a device's report of a seq above the hub's own was reissued or refused (since the hub started). */
  aheadCounts(deviceId: string): AheadCounts | undefined {
    return this.ahead.counts(deviceId);
  }

  stopRenewal(): void {
    this.renewal.stop();
  }

  /** A deployment being signed ahead gives up (NOT_READY, nothing stored) at its next turn, and new ones are refused: the hub's stop calls it first. */
  halt(): void {
    this.signer.halt();
  }

  /** The deploy, undeploy or capture being signed ahead (signed-ahead.ts): documents signed so far, of how many; null when none is. */
  signingAhead(): { kind: string; signed: number; devices: number } | null {
    return this.signer.progress();
  }

  /** Stores `job`, its documents signed ahead a chunk a turn for more than SIGN_CHUNK devices (signed-ahead.ts; OVERLOADED while another is, of any kind). */
  signAhead<T extends { docs: DesiredDocument[] }>(job: AheadJob<T>): Promise<T> {
    return this.signer.run(job);
  }

  async stop(): Promise<void> {
    this.stopRenewal();
    while (this.unsubs.length) this.unsubs.pop()?.();
    await this.signer.stop(); // at most SIGNING_STOP_MS
  }

  /** Assigns a model version to a target and issues a desired document to every device it reaches. */
  async deploy(req: DeploymentCreate, actor: string): Promise<Deployment> {
    const { id, docs } = await this.deployStored(req, actor);
    await this.publishDesired(docs);
    return this.deployments.get(id);
  }

  /**
   * The stored half of deploy (POST /deployments'): requireTrusted, then createDeployment, its documents signed ahead a
   * chunk a turn for more than SIGN_CHUNK devices (signed-ahead.ts; OVERLOADED while another is). Publish after it.
   */
  async deployStored(req: DeploymentCreate, actor: string, record?: (d: { id: number; devices: number }) => void): Promise<{ id: number; docs: DesiredDocument[] }> {
    return await this.signer.run(deployJob({
      store: this.deps.store, sealing: this.deps.sealing,
      check: () => this.requireTrusted(req.model, req.version, targetDeviceIds(this.deps.store.devices.targetable(), req.target)),
      plan: () => this.planDeploy(req),
      create: (at, id) => this.insertDeployment(req, actor, at, id),
      storeDesired: (ids, at) => this.storeDesired(ids, 0, at),
      commit: (ahead) => this.createDeployment(req, actor, record, ahead),
    }, req));
  }

  /** CONTENT_KEY_MISSING for an encrypted version whose content key the hub cannot give devices (deploys and rollouts alike). */
  requireContentKey(model: string, version: string): void {
    const m = this.deps.store.models.get(model, version).manifest;
    if (m.encryption && !this.deps.sealing?.hasContentKey(m)) {
      throw new AppError('CONTENT_KEY_MISSING', `${model}@${version} is encrypted and the hub holds no content key for it: "edgefleet model push BUNDLE --content-key KEY" first`);
    }
  }

  /**
   * VERSION_NOT_TRUSTED for a version no longer signed by a threshold of the current trust's release keys
   * (a key rotated out since it was pushed), unless every device in `holders` holds it already (trusted.ts).
   * Called before createDeployment, a rollout's create and each batch a rollout tells.
   */
  async requireTrusted(model: string, version: string, holders: readonly string[] = []): Promise<void> {
    if (this.deps.trust) await assertVersionTrusted(this.deps.store, this.deps.trust(), model, version, holders);
  }

  /** The devices a deploy reaches, after the checks that refuse it (NOT_FOUND, CONFLICT, CONTENT_KEY_MISSING, BACKEND_UNSUPPORTED). */
  private planDeploy(req: DeploymentCreate): string[] {
    const { store } = this.deps;
    store.models.assignable(req.model, req.version); // NOT_FOUND or CONFLICT (deprecated) with a clear message
    this.requireContentKey(req.model, req.version);
    const devices = targetDeviceIds(store.devices.targetable(), req.target);
    if (!req.allowBackendMismatch) refuseUnloadableBackends(store, req.model, req.version, devices, overrideHint('deploy'));
    refuseRolloutDevices(store, { model: req.model }, devices);
    return devices;
  }

  /**
   * The stored half of deploy (call requireTrusted first, or deployStored): the checks, the deployment, its devices and each
   * device's next desired document in one transaction, with `record` (the API's audit entry) inside it. `ahead`: documents
   * signed before (signed-ahead.ts), stored where the one built now is the same. Publish the documents after commit.
   */
  createDeployment(req: DeploymentCreate, actor: string, record?: (d: { id: number; devices: number }) => void, ahead?: SignedAhead): { id: number; docs: DesiredDocument[] } {
    const { store, clock } = this.deps;
    return store.db.transaction(() => {
      const devices = this.planDeploy(req);
      const now = ahead?.now ?? clock.now();
      const id = this.insertDeployment(req, actor, now);
      this.deployments.addDevices(id, req.model, devices, now);
      const docs = this.storeDesired(devices, 0, ahead);
      record?.({ id, devices: devices.length });
      return { id, docs };
    })();
  }

  private insertDeployment(req: DeploymentCreate, actor: string, at: Date, id?: number): number {
    return this.deployments.create({ model: req.model, version: req.version, target: req.target, reason: req.reason, createdBy: actor, at, window: req.window, allowBackendMismatch: req.allowBackendMismatch, id });
  }

  /** The stored half of a rollout's batch (membership.ts assignDevices; inside the caller's transaction). Publish after commit. */
  assignDevices(a: BatchAssignment, deviceIds: readonly string[]): { id: number; docs: DesiredDocument[] } {
    return assignDevices(this.membershipDeps(), a, deviceIds);
  }

  /** The stored half of a shadow stage's batch (membership.ts assignShadows; docs/rollouts.md "Shadow stage"). */
  assignShadows(a: ShadowAssignment, deviceIds: readonly string[]): DesiredDocument[] {
    return assignShadows(this.membershipDeps(), a, deviceIds);
  }

  /** Ends a rollout's shadow stage (membership.ts clearShadows): the documents to publish. */
  clearShadows(rolloutId: string): DesiredDocument[] {
    return clearShadows(this.membershipDeps(), rolloutId);
  }

  /**
   * The stored half of an undeploy (undeploy.ts; docs/hub.md "Undeploy"): the removals, each affected
   * device's next document and `record` (the API's audit entry) in one transaction. Publish the documents after commit.
   */
  undeploy(id: number, req: UndeployRequest, record?: (r: UndeployResult) => void): { result: UndeployResult; docs: DesiredDocument[] } {
    return undeploy(this.undeployDeps(), id, req, record);
  }

  /** undeploy() as DELETE /deployments/{id} runs it: for more than SIGN_CHUNK devices the documents are signed ahead, a chunk a turn (signAhead). */
  async undeployStored(id: number, req: UndeployRequest, record?: (r: UndeployResult) => void): Promise<{ result: UndeployResult; docs: DesiredDocument[] }> {
    return await this.signer.run(undeployJob(this.undeployDeps(), id, req, record));
  }

  private undeployDeps() {
    return { store: this.deps.store, now: this.deps.clock.now(), storeDesired: (ids: readonly string[], ahead?: SignedAhead) => this.storeDesired(ids, 0, ahead) };
  }

  /** A device enrolled or changed tags: it joins the tag/all deployments it now matches (and leaves the tag ones it no longer does). */
  async onDeviceChanged(deviceId: string): Promise<void> {
    await this.publishDesired(this.joinDeployments(deviceId, await this.untrustedTargets()));
  }

  /** The open deployments a device joining now skips (trusted.ts untrustedTargets). */
  untrustedTargets(): Promise<ReadonlySet<number>> {
    return untrustedTargets(this.deps.store, this.deps.trust, this.deployments.openTargets());
  }

  /** The stored half of onDeviceChanged (membership.ts joinDeployments; inside the caller's transaction, with the device write). */
  joinDeployments(deviceId: string, untrusted: ReadonlySet<number> = new Set()): DesiredDocument[] {
    return joinDeployments(this.membershipDeps(), deviceId, untrusted);
  }

  private membershipDeps(): MembershipDeps {
    const { store, clock, logger, config } = this.deps;
    return { store, clock, logger, config, storeDesired: (ids) => this.storeDesired(ids) };
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
  async issueDesiredMany(deviceIds: readonly string[], appliedFloor = 0): Promise<DesiredDocument[]> {
    const docs = this.storeDesired(deviceIds, appliedFloor);
    await this.publishDesired(docs);
    return docs;
  }

  /** Builds, signs and stores (one transaction, nested in the caller's if any) each device's next document; publish them after commit. `ahead`: desired.ts SignedAhead. */
  storeDesired(deviceIds: readonly string[], appliedFloor = 0, ahead?: SignedAhead): DesiredDocument[] {
    return storeDesired(this.deps, this.opts.desiredTtlMs, deviceIds, appliedFloor, ahead);
  }

  /** Publishes stored documents (retained), in batches; after the transaction that stored them committed. */
  async publishDesired(docs: readonly DesiredDocument[]): Promise<void> {
    for (let i = 0; i < docs.length; i += PUBLISH_BATCH) {
      await Promise.all(docs.slice(i, i + PUBLISH_BATCH).map((d) => this.deps.link.publish(d.signed.deviceId, 'desired', JSON.stringify(d), { retain: true })));
    }
  }

  /** Re-signs (as a new seq) every latest document that expires within the renewal margin (renewal.ts). */
  renewExpiring(): Promise<number> {
    return this.renewal.renewExpiring();
  }
}

