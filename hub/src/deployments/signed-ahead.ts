// A deployment to more devices than one chunk signs their documents ahead, a chunk a turn of the event loop, then
// commits in one transaction that builds every document again from what the store holds then and stores the one
// signed ahead only where it is the same (desired.ts SignedAhead): the REST API, MQTT keepalives and acks are
// served between the chunks, and the deployment, its documents and its audit entry stay atomic
// (docs/decisions/0170-deployments-signed-ahead-in-chunks.md).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AppError, settleWithin, type DeploymentCreate, type DesiredDocument } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { Sealing } from '../sealing/service.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { SignedAhead } from './desired.js';

/** Documents signed in one turn of the event loop (~0.15–0.2 ms each: 15–20 ms a turn); a deployment to at most this many commits at once. */
export const SIGN_CHUNK = 100;

/** How long stop() waits for a deployment being signed to give up (it does at its next turn, within a chunk's time). */
export const SIGNING_STOP_MS = 1000;

/** What a deploy's stored half is, built by DeploymentService. */
export interface AheadDeps {
  store: Store;
  clock: Clock;
  logger: LoggerPort;
  sealing?: Sealing | undefined;
  /** The devices `req` reaches, after the checks that refuse it (NOT_FOUND, CONFLICT, CONTENT_KEY_MISSING, BACKEND_UNSUPPORTED). */
  plan(req: DeploymentCreate): string[];
  /** VERSION_NOT_TRUSTED (DeploymentService.requireTrusted) for the devices the target reaches now. */
  requireTrusted(req: DeploymentCreate): Promise<void>;
  /** The deployment row (and `at`, its time) in the store; `id` for a row rolled back. */
  create(req: DeploymentCreate, actor: string, at: Date, id?: number): number;
  /** DeploymentService.storeDesired with documents signed ahead. */
  storeDesired(deviceIds: readonly string[], ahead: SignedAhead): DesiredDocument[];
  /** The one transaction of a deploy (DeploymentService.createDeployment): checks, rows, documents, audit entry. */
  commit(req: DeploymentCreate, actor: string, record: ((d: { id: number; devices: number }) => void) | undefined, ahead?: SignedAhead): { id: number; docs: DesiredDocument[] };
}

interface Signing {
  /** stop() began: give up at the next turn. */
  stopped: boolean;
  /** Settles when the deployment is stored or refused. */
  done: Promise<unknown>;
  signed: number;
  devices: number;
}

/** Thrown inside a trial transaction to roll it back, carrying the documents it signed. */
class RolledBack {
  constructor(readonly docs: DesiredDocument[]) {}
}

export class AheadSigner {
  /** The deployment being signed ahead (at most one: a second is refused, OVERLOADED). */
  private signing: Signing | null = null;
  private stopped = false;

  constructor(private readonly deps: AheadDeps) {}

  /**
   * The stored half of a deploy: checks, the deployment, its devices, each device's next document and `record` (the API's
   * audit entry), in one transaction; for more than SIGN_CHUNK devices the documents are signed ahead first, a chunk a
   * turn. OVERLOADED while another deployment is being signed; NOT_READY once stop() began (nothing stored either way).
   */
  async create(req: DeploymentCreate, actor: string, record?: (d: { id: number; devices: number }) => void): Promise<{ id: number; docs: DesiredDocument[] }> {
    await this.deps.requireTrusted(req);
    this.refuseStopped();
    const devices = this.deps.plan(req);
    if (devices.length <= SIGN_CHUNK) return this.deps.commit(req, actor, record);
    if (this.signing) {
      throw new AppError('OVERLOADED', `another deployment to more than ${SIGN_CHUNK} devices is being signed: try this one (${req.model} ${req.version}, ${devices.length} devices) again in a few seconds`,
        { details: { model: req.model, version: req.version, devices: devices.length } });
    }
    const state: Signing = { stopped: false, done: Promise.resolve(), signed: 0, devices: devices.length };
    this.signing = state;
    const work = this.signAhead(req, actor, devices, state, record);
    state.done = work.catch(() => undefined);
    try {
      return await work;
    } finally {
      this.signing = null;
    }
  }

  /** The deployment being signed ahead: documents signed so far, of how many; null when none is. */
  progress(): { signed: number; devices: number } | null {
    return this.signing && { signed: this.signing.signed, devices: this.signing.devices };
  }

  private async signAhead(req: DeploymentCreate, actor: string, devices: string[], state: Signing, record?: (d: { id: number; devices: number }) => void) {
    const ahead: SignedAhead = { now: this.deps.clock.now(), docs: new Map(), reused: 0 };
    const docs = ahead.docs as Map<string, DesiredDocument>;
    for (let i = 0; i < devices.length; i += SIGN_CHUNK) {
      await nextTurn();
      if (state.stopped) throw stopping();
      for (const d of this.trial(req, actor, devices.slice(i, i + SIGN_CHUNK), ahead.now)) docs.set(d.signed.deviceId, d);
      state.signed = docs.size;
    }
    // What changed while they were signed (trust, target, devices, other documents) is read again at commit.
    await this.deps.requireTrusted(req);
    if (state.stopped) throw stopping();
    const out = this.deps.commit(req, actor, record, ahead);
    this.deps.logger.info({ deployment: out.id, devices: out.docs.length, signedAhead: docs.size, reused: ahead.reused }, 'deployment signed ahead and stored');
    return out;
  }

  /**
   * The documents `deviceIds` get from the deployment, signed: the deployment and its rows stored and their documents
   * built, signed and stored in a transaction rolled back (as if committed, but nothing is). The content keys sealed to
   * them are kept (a cache, sealing/service.ts), so the commit builds the same bodies.
   */
  private trial(req: DeploymentCreate, actor: string, deviceIds: string[], now: Date): DesiredDocument[] {
    const { store, sealing } = this.deps;
    const manifest = store.models.get(req.model, req.version).manifest;
    if (manifest.encryption && sealing) store.db.transaction(() => { for (const id of deviceIds) sealing.sealedFor(id, manifest); })();
    try {
      // Status changes of the rows (a hold for the device's backend) reach no listener: held, and dropped on the throw.
      store.deployments.holdStatus(() => store.db.transaction(() => {
        // An id above every deployment's, given: PostgreSQL's identity is not advanced by a row rolled back.
        const top = store.db.prepare('SELECT MAX(id) AS id FROM deployments').get() as { id: number | null } | undefined;
        const id = this.deps.create(req, actor, now, Number(top?.id ?? 0) + 1);
        store.deployments.addDevices(id, req.model, deviceIds, now);
        throw new RolledBack(this.deps.storeDesired(deviceIds, { now, docs: new Map(), reused: 0 }));
      })());
    } catch (err) {
      if (err instanceof RolledBack) return err.docs;
      throw err;
    }
    throw new Error('unreachable: the trial transaction ends by throwing');
  }

  /** NOT_READY once stop() began. */
  private refuseStopped(): void {
    if (this.stopped) throw stopping();
  }

  /** A deployment being signed gives up at its next turn (NOT_READY, nothing stored); later ones are refused. Synchronous: the hub calls it first. */
  halt(): void {
    this.stopped = true;
    if (this.signing) this.signing.stopped = true;
  }

  /** Deployments are taken again (DeploymentService.start). */
  resume(): void {
    this.stopped = false;
  }

  /** halt(), and waits (at most SIGNING_STOP_MS) for the deployment being signed to end. */
  async stop(): Promise<void> {
    this.halt();
    const s = this.signing;
    if (s) await settleWithin(s.done, SIGNING_STOP_MS, 'a deployment being signed', (err) => this.deps.logger.warn({ err }, 'stopping: a deployment being signed did not end in time'));
  }
}

const stopping = (): AppError => new AppError('NOT_READY', 'the hub is stopping: the deployment was not stored; create it again once the hub is back');
