// Documents for more devices than one chunk (a deploy, an undeploy, a capture start) are signed ahead, a chunk a turn
// of the event loop, then committed in one transaction that builds every document again from what the store holds
// then and stores the one signed ahead only where it is the same (desired.ts SignedAhead): the REST API, MQTT
// keepalives and acks are served between the chunks, and the change, its documents and its audit entry stay atomic
// (docs/decisions/0170-deployments-signed-ahead-in-chunks.md, and its addendum for undeploys and captures).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AppError, settleWithin, type DesiredDocument } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { SignedAhead } from './desired.js';

/** Documents signed in one turn of the event loop (~0.15–0.2 ms each: 15–20 ms a turn); a change reaching at most this many commits at once. */
export const SIGN_CHUNK = 100;

/** How long stop() waits for a signing to give up (it does at its next turn, within a chunk's time). */
export const SIGNING_STOP_MS = 1000;

/** What is signed ahead, in its messages and log line. */
export type AheadKind = 'deployment' | 'undeploy' | 'capture';

/**
 * One change that issues documents to many devices, as AheadSigner runs it: built after the checks that refuse it
 * (DeploymentService.deployStored, undeploy.ts undeployJob, capture/service.ts createStored).
 */
export interface AheadJob<T extends { docs: DesiredDocument[] }> {
  kind: AheadKind;
  /** Names it in an OVERLOADED refusal: "audio-energy 1.0.0", "deployment 3". */
  what: string;
  /** The refusal's details (with `devices`). */
  details: Record<string, unknown>;
  /** The devices whose documents it issues. */
  devices: readonly string[];
  /** Before each chunk's trial, outside its transaction: what the commit must find the same (a content key sealed to each device). */
  prepare?(deviceIds: readonly string[]): void;
  /**
   * Inside a transaction that is rolled back: stores what the commit stores for `deviceIds` and returns their documents
   * (storeDesired with `at`: issued at the time the signing began, no document signed before).
   */
  trial(deviceIds: readonly string[], at: SignedAhead): DesiredDocument[];
  /** Checks that are awaited (a deploy's trust): before the documents are signed, and again before the commit. */
  check?(): Promise<void>;
  /** The one transaction: the checks again, the rows, each document built again (storeDesired with `ahead`), the audit entry. */
  commit(ahead?: SignedAhead): T;
  /** The log line's fields naming what was stored. */
  logged(out: T): Record<string, unknown>;
}

interface Signing {
  kind: AheadKind;
  what: string;
  /** stop() began: give up at the next turn. */
  stopped: boolean;
  /** Settles when the change is stored or refused. */
  done: Promise<unknown>;
  signed: number;
  devices: number;
}

/** Thrown inside a trial transaction to roll it back, carrying the documents it signed. */
class RolledBack {
  constructor(readonly docs: DesiredDocument[]) {}
}

export class AheadSigner {
  /** The change being signed ahead (at most one across deploys, undeploys and captures: another is refused, OVERLOADED). */
  private signing: Signing | null = null;
  private stopped = false;

  constructor(private readonly deps: { store: Store; clock: Clock; logger: LoggerPort }) {}

  /**
   * Stores `job` (its commit: checks, rows, documents, audit entry in one transaction); for more than SIGN_CHUNK devices
   * its documents are signed ahead first, a chunk a turn. OVERLOADED while another is being signed (the slot is taken
   * before anything is awaited); NOT_READY once stop() began (nothing stored either way).
   */
  async run<T extends { docs: DesiredDocument[] }>(job: AheadJob<T>): Promise<T> {
    if (this.stopped) throw stopping(job.kind);
    if (job.devices.length <= SIGN_CHUNK) {
      await job.check?.();
      if (this.stopped) throw stopping(job.kind);
      return job.commit();
    }
    const busy = this.signing;
    if (busy) {
      throw new AppError('OVERLOADED', `${busy.kind === job.kind ? 'another' : an(busy.kind)} ${busy.kind} to more than ${SIGN_CHUNK} devices is being signed (${busy.what}): try this ${job.kind} (${job.what}, ${job.devices.length} devices) again in a few seconds`,
        { details: { kind: job.kind, ...job.details, devices: job.devices.length, signing: busy.kind } });
    }
    const state: Signing = { kind: job.kind, what: job.what, stopped: false, done: Promise.resolve(), signed: 0, devices: job.devices.length };
    this.signing = state;
    const work = this.signAhead(job, state);
    state.done = work.catch(() => undefined);
    try {
      return await work;
    } finally {
      this.signing = null;
    }
  }

  /** The change being signed ahead: what it is, documents signed so far, of how many; null when none is. */
  progress(): { kind: AheadKind; signed: number; devices: number } | null {
    return this.signing && { kind: this.signing.kind, signed: this.signing.signed, devices: this.signing.devices };
  }

  private async signAhead<T extends { docs: DesiredDocument[] }>(job: AheadJob<T>, state: Signing): Promise<T> {
    await job.check?.();
    const ahead: SignedAhead = { now: this.deps.clock.now(), docs: new Map(), reused: 0 };
    const docs = ahead.docs as Map<string, DesiredDocument>;
    for (let i = 0; i < job.devices.length; i += SIGN_CHUNK) {
      await nextTurn();
      if (state.stopped) throw stopping(job.kind);
      for (const d of this.trial(job, job.devices.slice(i, i + SIGN_CHUNK), ahead.now)) docs.set(d.signed.deviceId, d);
      state.signed = docs.size;
    }
    // What changed while they were signed (trust, target, devices, other documents) is read again at commit.
    await job.check?.();
    if (state.stopped) throw stopping(job.kind);
    const out = job.commit(ahead);
    this.deps.logger.info({ ...job.logged(out), devices: out.docs.length, signedAhead: docs.size, reused: ahead.reused }, `${job.kind} signed ahead and stored`);
    return out;
  }

  /**
   * The documents `deviceIds` get from the job, signed: what its commit stores for them stored and their documents
   * built, signed and stored in a transaction rolled back (as if committed, but nothing is).
   */
  private trial<T extends { docs: DesiredDocument[] }>(job: AheadJob<T>, deviceIds: readonly string[], now: Date): DesiredDocument[] {
    const { store } = this.deps;
    job.prepare?.(deviceIds);
    try {
      // Status changes of the rows (a hold for the device's backend) reach no listener: held, and dropped on the throw.
      store.deployments.holdStatus(() => store.db.transaction(() => {
        throw new RolledBack(job.trial(deviceIds, { now, docs: new Map(), reused: 0 }));
      })());
    } catch (err) {
      if (err instanceof RolledBack) return err.docs;
      throw err;
    }
    throw new Error('unreachable: the trial transaction ends by throwing');
  }

  /** A change being signed gives up at its next turn (NOT_READY, nothing stored); later ones are refused. Synchronous: the hub calls it first. */
  halt(): void {
    this.stopped = true;
    if (this.signing) this.signing.stopped = true;
  }

  /** Changes are taken again (DeploymentService.start). */
  resume(): void {
    this.stopped = false;
  }

  /** halt(), and waits (at most SIGNING_STOP_MS) for the change being signed to end. */
  async stop(): Promise<void> {
    this.halt();
    const s = this.signing;
    if (s) await settleWithin(s.done, SIGNING_STOP_MS, `a ${s.kind} being signed`, (err) => this.deps.logger.warn({ err }, `stopping: a ${s.kind} being signed did not end in time`));
  }
}

const an = (kind: AheadKind): string => (/^[aeiou]/.test(kind) ? 'an' : 'a');

const AGAIN: Record<AheadKind, string> = { deployment: 'create it again', undeploy: 'undeploy again', capture: 'start it again' };

const stopping = (kind: AheadKind): AppError => new AppError('NOT_READY', `the hub is stopping: the ${kind} was not stored; ${AGAIN[kind]} once the hub is back`);
