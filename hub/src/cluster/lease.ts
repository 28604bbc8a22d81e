// The hub lease (docs/hub.md "Several hubs", docs/decisions/0041-several-hubs.md): with several hub
// processes on one database, exactly one runs the singleton jobs (rollout engine, desired-document
// renewal, alert evaluation and webhooks, window retention, fleet rows). Each hub tries to take or renew
// the lease every renewEveryMs; the holder starts the jobs when it wins the lease and stops them when it
// loses it (a renewal found another holder, or its own lease ran out because renewals failed). The jobs
// start and stop beside the renewals, never inside a renewal turn (singleton-jobs.ts), so a slow start
// does not let the lease run out. A job's writes can also be fenced: fence() checks, inside the job's
// transaction, that this hub still holds it.
import { AppError, settleWithin } from '@edgefleet/shared';
import type { Clock } from '../clock.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import { SingletonJobs, type SingletonJob } from './singleton-jobs.js';
import type { DependencyWatch } from '../health.js';

export type { SingletonJob } from './singleton-jobs.js';

export interface LeaseOptions {
  /** How long a taken or renewed lease lasts: a killed holder's jobs move to another hub after at most this. */
  ttlMs: number;
  /** How often each hub tries to take or renew it (well under ttlMs). */
  renewEveryMs: number;
}

export const DEFAULT_LEASE_OPTIONS: LeaseOptions = { ttlMs: 15_000, renewEveryMs: 5_000 };

/** The lease's one name: every singleton job runs on its holder. */
export const HUB_LEASE = 'singletons';

export interface LeaseStatus {
  hubId: string;
  /** This hub holds the lease (and runs the singleton jobs). */
  leader: boolean;
  /** The lease as the database has it (another hub's, possibly expired), null before any hub took it. */
  lease: { holder: string; term: number; expiresAt: string; acquiredAt: string; renewedAt: string; sole: boolean } | null;
}

export interface HubLeaseDeps {
  repo: LeaseRepo;
  hubId: string;
  clock: Clock;
  logger: LoggerPort;
  metrics?: MetricsPort;
  jobs: readonly SingletonJob[];
  /** A hub without `cluster` holds the lease for its whole life (docs/decisions/0074-one-hub-per-database.md). */
  sole?: boolean;
  /** Told each renewal's outcome: the renewal is the hub's periodic database write (GET /api/v1/ready). */
  database?: DependencyWatch;
}

export class HubLease {
  private readonly opts: LeaseOptions;
  private readonly jobs: SingletonJobs;
  /** The start sequence begun when this hub last took the lease (not awaited by renewals). */
  private starting: Promise<void> = Promise.resolve();
  private held = false;
  /** Until when this hub's own last successful take or renewal holds the lease (its clock). */
  private heldUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private turn: Promise<void> | null = null;
  private stopped = true;
  /** The lease as the last successful take or renewal returned it (status() asks the database nothing). */
  private row: LeaseRow | null = null;

  constructor(private readonly deps: HubLeaseDeps, opts: Partial<LeaseOptions> = {}) {
    this.opts = { ...DEFAULT_LEASE_OPTIONS, ...opts };
    if (this.opts.renewEveryMs >= this.opts.ttlMs) {
      throw new AppError('CONFIG_INVALID', `cluster.renewEveryMs (${this.opts.renewEveryMs}) must be below cluster.leaseTtlMs (${this.opts.ttlMs}): expected renewals well inside the lease`);
    }
    // A start that takes longer than a lease lasts does not hold back the jobs after it.
    this.jobs = new SingletonJobs(deps.jobs, deps.logger, this.opts.ttlMs);
  }

  /**
   * Tries once at once, then every renewEveryMs. If this hub won, the jobs have started before start
   * resolves (each waited for up to ttlMs; renewals go on meanwhile).
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.renew();
    this.schedule();
    await this.starting;
  }

  /** True while this hub holds the lease by its last renewal (the jobs check it before each step). */
  isLeader(): boolean {
    return this.held && this.deps.clock.now().getTime() < this.heldUntil;
  }

  /** Throws unless the database says this hub holds the lease now; call it inside a job's write transaction. */
  fence(): void {
    if (!this.deps.repo.holds(HUB_LEASE, this.deps.hubId, this.deps.clock.now().getTime())) {
      throw new AppError('CONFLICT', `hub ${this.deps.hubId} no longer holds the hub lease: the write is left to the hub that holds it`);
    }
  }

  /** As of the last successful renewal: a public GET /health costs the database nothing. */
  status(): LeaseStatus {
    const row = this.row;
    return {
      hubId: this.deps.hubId,
      leader: this.isLeader(),
      lease: row ? { holder: row.holder, term: row.term, expiresAt: new Date(row.expiresAt).toISOString(), acquiredAt: row.acquiredAt, renewedAt: row.renewedAt, sole: row.sole } : null,
    };
  }

  /**
   * Stops renewing, stops the jobs (each within its share of deadlineMs, after a renewal in progress) and
   * releases the lease so another hub takes it at once, unless a job is still starting or stopping past
   * deadlineMs: then the lease is left to expire, so no other hub runs the jobs beside it before that.
   */
  async stop(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const warn = (what: string) => (err: unknown) => this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `stopping: ${what}`);
    await settleWithin(this.turn, deadlineMs, 'a lease renewal in progress', warn('a lease renewal in progress'));
    const held = this.held;
    if (held) await this.stopJobs(Math.max(1, Math.floor(deadlineMs / Math.max(1, this.deps.jobs.length))));
    // Also a job stopped at a lost lease when its start returns: wait for it, within the deadline.
    const idle = await this.jobs.idle(Math.max(1, until - Date.now()));
    if (!held) return;
    if (!idle) {
      this.deps.logger.warn({ hubId: this.deps.hubId }, 'a singleton job is still starting or stopping: not releasing the hub lease, it expires instead');
      return;
    }
    try {
      this.deps.repo.release(HUB_LEASE, this.deps.hubId, this.deps.clock.now().getTime());
      this.deps.logger.info({ hubId: this.deps.hubId }, 'released the hub lease');
    } catch (err) {
      warn('releasing the hub lease')(err);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.renew().catch((err: unknown) => this.deps.logger.error({ err }, 'renewing the hub lease failed')).finally(() => this.schedule());
    }, this.opts.renewEveryMs);
    this.timer.unref();
  }

  /** One take-or-renew; starts or stops the jobs when the outcome changed. Turns never overlap. */
  private renew(): Promise<void> {
    this.turn ??= this.renewOnce().finally(() => {
      this.turn = null;
    });
    return this.turn;
  }

  private async renewOnce(): Promise<void> {
    const { repo, hubId, clock, logger } = this.deps;
    const now = clock.now().getTime();
    let row: LeaseRow | null = null;
    try {
      row = repo.acquire(HUB_LEASE, hubId, now, this.opts.ttlMs, this.deps.sole === true);
      this.row = row;
      this.deps.database?.up();
    } catch (err) {
      this.deps.database?.down(err);
      // The database is unreachable or busy: keep what we had until it runs out, then let go.
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not take or renew the hub lease');
    }
    const mine = row !== null && row.holder === hubId && row.expiresAt > now;
    if (mine) this.heldUntil = now + this.opts.ttlMs;
    const holding = mine || (row === null && this.held && now < this.heldUntil);
    this.deps.metrics?.set('edgefleet_hub_lease_held', holding ? 1 : 0);
    if (holding && !this.stopped && !(this.held && this.jobs.allStarted())) {
      if (!this.held) logger.info({ hubId, term: row?.term ?? null }, 'took the hub lease: running the singleton jobs');
      this.held = true;
      // Not awaited: the next renewals run while the jobs start, and each job starts only while they keep the
      // lease. Called again at each renewal until all started, since a start sequence that found the lease run
      // out by this hub's clock (the event loop held past it, say) ends early and a later renewal may still hold it.
      this.starting = this.jobs.startAll(() => !this.stopped && this.isLeader());
    } else if (!holding && this.held) {
      logger.warn({ hubId, holder: row?.holder ?? null }, 'lost the hub lease: stopping the singleton jobs');
      await this.stopJobs(this.opts.renewEveryMs);
    }
  }

  /** Stops the started jobs (one still starting: when its start returns) and starts no more of them. */
  private async stopJobs(deadlineMs: number): Promise<void> {
    this.held = false;
    this.heldUntil = 0;
    await this.jobs.stopAll(deadlineMs);
  }
}
