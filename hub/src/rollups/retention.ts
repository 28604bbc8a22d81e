// Raw window retention (docs/drift.md "Retention"), on a timer: summary windows older than `windowsDays`
// are deleted when it is set, and a device whose stored bytes passed EVICT_FROM of its bound
// (ingest.maxStoredBytesPerDevice) has its oldest raw windows deleted down to EVICT_TO of it
// (docs/decisions/0062-stored-history-rolls.md). The rollups made from them stay, so metrics and drift
// over any range stay exact. A device therefore keeps its newest history and never reaches the bound
// in normal traffic; the guard still refuses one that floods past it between two runs.
// Each run also expires hourly and daily rollups past `hourlyRollupDays` / `dailyRollupDays`
// (rollups/expiry.ts), 2,000 rows per turn of the event loop, and, when `historyDays` is set, deployments
// and rollouts no device uses any more (deployments/history-retention.ts), 2,000 rows per transaction,
// and the devices' events older than `eventsDays` (default a year; docs/decisions/0132-device-events-expire.md),
// 2,000 rows per turn of the event loop, and the raw windows and events of devices revoked more than
// `revokedDays` ago (default 90; docs/decisions/0133-revoked-devices-history-goes.md), likewise.
import type { Clock } from '../clock.js';
import { wantedHorizon, type RollupExpiry } from './expiry.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import { DELETE_BATCH, type StoredBytesRepo } from '../store/stored-bytes.js';
import type { HistoryDeleted, HistoryRetention } from '../deployments/history-retention.js';

export interface RetentionOptions {
  windowsDays?: number | undefined;
  everyMs?: number | undefined;
  /** Hourly rollups are deleted this many whole days back (default DEFAULT_HOURLY_ROLLUP_DAYS). */
  hourlyRollupDays?: number | undefined;
  /** Daily rollups likewise (default: kept). */
  dailyRollupDays?: number | undefined;
  /** Deployments and rollouts no device uses are deleted this many days after their last activity (default: kept). */
  historyDays?: number | undefined;
  /** Device events are deleted this many days after they were stamped (default DEFAULT_EVENTS_DAYS). */
  eventsDays?: number | undefined;
  /** A revoked device's raw windows and events are deleted this many days after its revocation (default DEFAULT_REVOKED_DAYS). */
  revokedDays?: number | undefined;
}

/** A revoked device's raw history stays three months (time to export it), then goes; its rollups stay. */
export const DEFAULT_REVOKED_DAYS = 90;

/** A year of each device's events (installs, switches, refusals): what `GET /devices/{id}/events` answers. */
export const DEFAULT_EVENTS_DAYS = 365;

/** Five weeks of hourly rollups: a month compared with the month before still reads hours. */
export const DEFAULT_HOURLY_ROLLUP_DAYS = 35;

/** A device's windows are evicted once it stores more than this share of its bound... */
export const EVICT_FROM = 0.9;
/** ...down to this share: each eviction frees a tenth of the bound (days of windows), not one batch. */
export const EVICT_TO = 0.8;

/** The time from which every raw window is still stored (windows starting earlier may be deleted); -Infinity without retention. */
export function retainedFrom(clock: Clock, windowsDays: number | undefined): () => number {
  return () => (windowsDays ? clock.now().getTime() - windowsDays * 86_400_000 : -Infinity);
}

export interface WindowRetentionDeps {
  stored: StoredBytesRepo;
  clock: Clock;
  logger: LoggerPort;
  metrics?: MetricsPort | undefined;
  /** Each device's bound (ingest.maxStoredBytesPerDevice). */
  maxStoredBytesPerDevice: number;
  /** Deletes rollups past their horizon (absent: rollups are kept). */
  rollups?: RollupExpiry | undefined;
  /** Deletes deployment and rollout history past historyDays (absent: kept). */
  history?: HistoryRetention | undefined;
}

export class WindowRetention {
  private timer: NodeJS.Timeout | null = null;
  private readonly busy = { expiringWindows: false, evicting: false, expiringEvents: false, expiringRollups: false, forgettingRevoked: false };
  private deletingHistory = false;
  private stopped = false;

  constructor(private readonly deps: WindowRetentionDeps, private readonly opts: RetentionOptions) {}

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    const run = () => {
      // One batch a turn of the event loop: an hour of 10,000 devices' windows is 600,000 rows (7.8 s
      // for 200,000 in one go on the 2-core VM, 2026-12-06, the hub answering nothing meanwhile).
      let pairs: Array<{ model: string; version: string }> | undefined;
      this.inTurns('expiringWindows', () => this.expire(1, () => (pairs ??= this.deps.stored.windowVersions())), (n) => this.logExpired(n));
      this.evictInTurns();
      this.expireRollupsInTurns();
      this.inTurns('expiringEvents', () => this.expireEvents(1), (n) => this.deps.logger.info({ deleted: n, eventsDays: this.eventsDays() }, 'expired device events past retention.eventsDays (docs/operations.md "What grows and what bounds it")'));
      this.inTurns('forgettingRevoked', () => this.forgetRevoked(1), (n) => this.deps.logger.info({ deleted: n, revokedDays: this.opts.revokedDays ?? DEFAULT_REVOKED_DAYS }, 'deleted the raw windows and events of devices revoked longer ago than retention.revokedDays (rollups kept)'));
      this.deleteHistory().catch((err: unknown) => this.deps.logger.error({ err }, 'deleting deployment history failed'));
    };
    this.timer = setInterval(run, this.opts.everyMs ?? 3600_000);
    this.timer.unref();
    run();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped = true;
  }

  /**
   * Deletes deployment and rollout history past `historyDays` (deployments/history-retention.ts), one
   * transaction per turn of the event loop until none is left or stopped; returns what went. Never throws.
   */
  async deleteHistory(): Promise<HistoryDeleted> {
    const none = { deployments: 0, rollouts: 0, deployment: 0, rollout: 0 };
    const { history } = this.deps;
    if (!history || this.opts.historyDays === undefined || this.deletingHistory) return none;
    this.deletingHistory = true;
    try {
      const before = new Date(this.deps.clock.now().getTime() - this.opts.historyDays * 86_400_000);
      const n = await history.run(before, () => new Promise((resolve) => setImmediate(() => resolve(!this.stopped))));
      if (n.deployments + n.rollouts > 0) this.deps.logger.info({ ...n, before: before.toISOString() }, 'deleted deployments and rollouts no device uses, past retention.historyDays (docs/decisions/0067-deployment-history-retention.md)');
      return n;
    } catch (err) {
      this.deps.logger.error({ err }, 'deleting deployment history failed');
      return none;
    } finally {
      this.deletingHistory = false;
    }
  }

  /**
   * Records the rollups' horizon, then runs up to `limit` steps (RollupExpiry.step: up to 2,000 rows)
   * before it; returns the rows deleted. Never throws.
   */
  expireRollups(limit = Infinity): number {
    const expiry = this.deps.rollups;
    if (!expiry) return 0;
    let rows = 0;
    try {
      const horizon = expiry.advance(wantedHorizon(this.deps.clock.now().getTime(), {
        hourlyDays: this.opts.hourlyRollupDays ?? DEFAULT_HOURLY_ROLLUP_DAYS, dailyDays: this.opts.dailyRollupDays,
      }));
      for (let i = 0; i < limit; i++) {
        const r = expiry.step(horizon);
        if (!r) break;
        rows += r.rows;
        this.deps.metrics?.inc('edgefleet_rollups_expired_total', { grain: r.grain === 3600 ? 'hour' : 'day' }, r.rows);
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'expiring rollups failed');
    }
    return rows;
  }

  /** Expires rollups one step per turn of the event loop until none is left (or stopped). */
  private expireRollupsInTurns(): void {
    if (!this.deps.rollups) return;
    this.inTurns('expiringRollups', () => this.expireRollups(1), (n) => this.deps.logger.info({ deleted: n }, 'expired hourly and daily rollups past retention (docs/drift.md "Retention")'));
  }

  /** Runs `step` once per turn of the event loop while it deletes rows (and the timer runs), then logs the total; one run of each `flag` at a time. */
  private inTurns(flag: keyof WindowRetention['busy'], step: () => number, done: (total: number) => void): void {
    if (this.busy[flag]) return;
    this.busy[flag] = true;
    let total = 0;
    const turn = () => {
      const n = this.timer ? step() : 0;
      total += n;
      if (n > 0) {
        setImmediate(turn);
        return;
      }
      if (total > 0) done(total);
      this.busy[flag] = false;
    };
    turn();
  }

  /**
   * Deletes the raw windows, then the events, of devices revoked more than revokedDays ago, at most
   * `batches` transactions of 2,000 rows (store/stored-bytes.ts); the rollups stay. Returns how many. Never throws.
   */
  forgetRevoked(batches = Infinity): number {
    const before = new Date(this.deps.clock.now().getTime() - (this.opts.revokedDays ?? DEFAULT_REVOKED_DAYS) * 86_400_000);
    let total = 0;
    try {
      for (let i = 0; i < batches; i++) {
        const n = this.deps.stored.forgetRevokedBatch(before);
        if (n === 0) break;
        total += n;
        this.deps.metrics?.inc('edgefleet_revoked_rows_deleted_total', {}, n);
      }
    } catch (err) {
      this.deps.logger.error({ err }, 'deleting the history of revoked devices failed');
    }
    return total;
  }

  private eventsDays(): number {
    return this.opts.eventsDays ?? DEFAULT_EVENTS_DAYS;
  }

  /**
   * Deletes device events stamped more than eventsDays ago, at most `batches` transactions of 2,000
   * (store/stored-bytes.ts), each device's stored bytes lowered by theirs; returns how many. Never throws.
   */
  expireEvents(batches = Infinity): number {
    const before = new Date(this.deps.clock.now().getTime() - this.eventsDays() * 86_400_000);
    try {
      const n = this.deps.stored.expireEvents(before, batches);
      if (n > 0) this.deps.metrics?.inc('edgefleet_events_expired_total', {}, n);
      return n;
    } catch (err) {
      this.deps.logger.error({ err }, 'expiring device events failed');
      return 0;
    }
  }

  /** Expires and evicts now, all at once; returns how many windows went each way. Never throws. */
  runOnce(): { expired: number; evicted: number } {
    const expired = this.expire();
    this.logExpired(expired);
    return { expired, evicted: this.evict() };
  }

  private logExpired(n: number): void {
    if (n > 0) this.deps.logger.info({ deleted: n, windowsDays: this.opts.windowsDays }, 'expired raw summary windows (rollups kept)');
  }

  /** Deletes raw windows past windowsDays, at most `batches` transactions of 2,000 (of `pairs`' versions); returns how many. Never throws. */
  private expire(batches = Infinity, pairs?: () => Array<{ model: string; version: string }>): number {
    if (!this.opts.windowsDays) return 0;
    const before = new Date(this.deps.clock.now().getTime() - this.opts.windowsDays * 86_400_000);
    try {
      return this.deps.stored.expireWindows(before, batches, pairs?.());
    } catch (err) {
      this.deps.logger.error({ err }, 'expiring raw summary windows failed');
      return 0;
    }
  }

  /** The devices past EVICT_FROM of their bound now, evicted one batch a turn of the event loop, one device after another. */
  private evictInTurns(): void {
    let over: Array<{ deviceId: string; bytes: number }> = [];
    let done = 0;
    if (!this.busy.evicting) over = this.devicesOver();
    this.inTurns('evicting', () => {
      while (over.length > 0) {
        const n = this.evictDevice(over[0]!, done, 1);
        if (n === DELETE_BATCH) {
          done += n; // more of this device at the next turn
          return n;
        }
        over.shift();
        done = 0;
        if (n > 0) return n;
      }
      return 0;
    }, () => undefined);
  }

  private devicesOver(): Array<{ deviceId: string; bytes: number }> {
    try {
      return this.deps.stored.devicesOver(Math.floor(this.deps.maxStoredBytesPerDevice * EVICT_FROM));
    } catch (err) {
      this.deps.logger.error({ err }, 'evicting raw summary windows failed');
      return [];
    }
  }

  /**
   * Evicts up to `batches` batches of the device's oldest windows; logs it once the device is done
   * (fewer than a batch went), with `before` evicted in earlier turns. Returns how many went. Never throws.
   */
  private evictDevice(d: { deviceId: string; bytes: number }, before: number, batches = Infinity): number {
    const bound = this.deps.maxStoredBytesPerDevice;
    try {
      const n = this.deps.stored.evictOldestWindows(d.deviceId, Math.floor(bound * EVICT_TO), batches);
      this.deps.metrics?.inc('edgefleet_windows_evicted_total', {}, n);
      if (n < DELETE_BATCH || batches === Infinity) {
        this.deps.logger.info({ deviceId: d.deviceId, evicted: before + n, storedBytes: d.bytes, maxStoredBytesPerDevice: bound },
          'evicted the oldest raw summary windows of a device near its stored-bytes bound (rollups kept)');
      }
      return n;
    } catch (err) {
      this.deps.logger.error({ err }, 'evicting raw summary windows failed');
      return 0;
    }
  }

  private evict(): number {
    let total = 0;
    for (const d of this.devicesOver()) total += this.evictDevice(d, 0);
    return total;
  }
}
