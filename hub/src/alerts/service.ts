// The alerts part of the hub (start/stop): evaluates the rules every evaluateEveryMs, sends due
// webhook deliveries every second (retries come due by backoff), every pruneEveryMs deletes deliveries
// delivered or failed more than deliveriesDays ago and alerts resolved more than historyDays ago
// (prune.ts), and keeps the fleet gauges on /metrics up to date.
// stop() clears the timers and gives in-flight deliveries a deadline. It runs on the lease holder only
// (server/cluster.ts), so one hub evaluates and prunes.
import { LogThrottle } from '../log-throttle.js';
import { AppError, type Alert } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Metrics } from '../metrics.js';
import { AlertsRepo } from './repo.js';
import { AlertEvaluator, type DriftSource, type RolloutFailedFn } from './evaluator.js';
import { gapToleranceMs } from './hold.js';
import { DEFAULT_WEBHOOK_OPTIONS, WebhookSender, type WebhookOptions } from './webhooks.js';

export interface AlertsOptions {
  evaluateEveryMs: number;
  sendEveryMs: number;
  webhook: WebhookOptions;
  /** Deliveries delivered or failed for good are deleted (with their attempts) this many days after they ended; pending ones never. */
  deliveriesDays: number;
  /** Resolved alerts are deleted (with their deliveries) this many days after they resolved; open ones never. */
  historyDays: number;
  /** How often those retentions run. */
  pruneEveryMs: number;
  /**
   * The longest gap between two evaluations of an alert that still counts toward its hold times
   * (hold.ts); default gapToleranceMs(evaluateEveryMs).
   */
  maxGapMs?: number | undefined;
  /**
   * How long after start() `devices_offline` rules are not read: devices reconnect to a hub that
   * started within their longest reconnect wait (60 s, jittered +25 %: docs/agent.md sync.reconnectMs).
   */
  presenceGraceMs?: number | undefined;
}

/** The default AlertsOptions.presenceGraceMs: the agents' longest reconnect wait (75 s) and a margin. */
export const PRESENCE_GRACE_MS = 90_000;

/** Bounds of AlertsOptions.deliveriesDays (the hub config's alerts.deliveriesDays). */
export const DELIVERIES_DAYS = { default: 30, min: 1, max: 3650 } as const;
/** Bounds of AlertsOptions.historyDays (the hub config's alerts.historyDays). */
export const HISTORY_DAYS = { default: 365, min: 1, max: 3650 } as const;

export const DEFAULT_ALERTS_OPTIONS: AlertsOptions = {
  evaluateEveryMs: 60_000, sendEveryMs: 1000, webhook: DEFAULT_WEBHOOK_OPTIONS, deliveriesDays: DELIVERIES_DAYS.default, historyDays: HISTORY_DAYS.default, pruneEveryMs: 3600_000,
};


/** What happened to an alert, as the live stream's `alert` event says it. */
export type AlertEvent = 'fired' | 'resolved' | 'acknowledged' | 'unacknowledged';

export interface AlertsDeps {
  store: Store;
  clock: Clock;
  logger: LoggerPort;
  metrics: Metrics;
  rolloutFailed?: RolloutFailedFn | undefined;
  /** Where drift reports are computed (default FleetAnalytics on the store). */
  analytics?: DriftSource | undefined;
}

export class Alerts {
  readonly repo: AlertsRepo;
  readonly evaluator: AlertEvaluator;
  readonly sender: WebhookSender;
  private evalTimer: NodeJS.Timeout | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly changeListeners = new Set<(a: Alert, event: AlertEvent) => void>();
  /** Timer failures (a database that is down) logged once a minute while they repeat. */
  private readonly failures: LogThrottle;
  /** Dropped deliveries logged once a minute per rule and action (at most MAX_RULES x 5 keys). */
  private readonly drops: LogThrottle;
  /** When start() ran (ms): device presence is known PRESENCE_GRACE_MS later. */
  private startedAt: number | null = null;

  constructor(private readonly deps: AlertsDeps, private readonly opts: AlertsOptions = DEFAULT_ALERTS_OPTIONS) {
    checkDays('deliveriesDays', opts.deliveriesDays, DELIVERIES_DAYS);
    checkDays('historyDays', opts.historyDays, HISTORY_DAYS);
    this.failures = new LogThrottle(() => deps.clock.now().getTime());
    this.drops = new LogThrottle(() => deps.clock.now().getTime(), 60_000, 2500);
    this.repo = deps.store.alerts;
    this.evaluator = new AlertEvaluator({
      store: deps.store, repo: this.repo, clock: deps.clock, logger: deps.logger, rolloutFailed: deps.rolloutFailed, analytics: deps.analytics,
      maxGapMs: opts.maxGapMs ?? gapToleranceMs(opts.evaluateEveryMs),
      presenceUnknownUntil: () => (this.startedAt === null ? null : this.startedAt + (opts.presenceGraceMs ?? PRESENCE_GRACE_MS)),
    });
    this.sender = new WebhookSender({
      repo: this.repo, clock: deps.clock, logger: deps.logger, metrics: deps.metrics,
      actionOf: (ruleId, i) => {
        try {
          return this.repo.rule(ruleId, { deleted: true }).actions[i] ?? null;
        } catch {
          return null;
        }
      },
    }, opts.webhook);
    const m = deps.metrics;
    m.describe('edgefleet_alerts_firing', 'gauge', 'Alerts firing now, by severity');
    m.describe('edgefleet_devices', 'gauge', 'Devices (not revoked) by presence');
    m.describe('edgefleet_alert_webhook_attempts_total', 'counter', 'Alert webhook attempts by result');
    m.describe('edgefleet_alert_webhook_deliveries_total', 'counter', 'Alert webhook deliveries ended, by result: delivered, failed (given up: the receiver did not get it) or dropped (not queued: its action had too many pending)');
    m.describe('edgefleet_alert_webhook_pending', 'gauge', 'Alert webhook deliveries pending (queued or being retried)');
    this.repo.onDropped((d) => {
      m.inc('edgefleet_alert_webhook_deliveries_total', { result: 'dropped' });
      // One line a minute per action while its receiver stays down (a flapping rule drops thousands).
      const unlogged = this.drops.take(`${d.ruleId}:${d.actionIndex}`);
      if (unlogged !== null) {
        deps.logger.error({ delivery: d.id, alert: d.alertId, event: d.event, rule: d.ruleId, action: d.actionIndex + 1, why: d.why, unloggedBefore: unlogged },
          `alert webhook dropped: alert ${d.alertId}'s ${d.event} was not queued (GET /api/v1/alerts/${d.alertId}/deliveries); logged once a minute per action while it repeats`);
      }
    });
    m.describe('edgefleet_alert_evaluations_total', 'counter', 'Alert rule evaluation passes');
  }

  start(): void {
    if (this.evalTimer) return;
    this.startedAt = this.deps.clock.now().getTime();
    this.sender.resume();
    this.evaluator.forgetSchedules(); // a run passed while stopped is not made up (another hub may have sent it)
    this.evalTimer = setInterval(() => {
      this.evaluate();
      this.send();
    }, this.opts.evaluateEveryMs);
    this.evalTimer.unref();
    this.sendTimer = setInterval(() => this.send(), this.opts.sendEveryMs);
    this.sendTimer.unref();
    this.pruneTimer = setInterval(() => this.prune(), this.opts.pruneEveryMs);
    this.pruneTimer.unref();
    this.evaluate();
    this.send();
    this.prune();
  }

  /**
   * Deletes the deliveries (and their attempts) delivered or failed for good more than deliveriesDays
   * ago, then the alerts resolved more than historyDays ago (with their deliveries), in small
   * transactions; pending deliveries and open alerts stay whatever their age. Returns how many of each
   * went; never throws.
   */
  prune(): { deliveries: number; alerts: number } {
    const now = this.deps.clock.now().getTime();
    const run = (what: string, days: number, fn: (before: Date) => number): number => {
      const before = new Date(now - days * 86_400_000);
      try {
        const n = fn(before);
        if (n > 0) this.deps.logger.info({ deleted: n, before: before.toISOString() }, `pruned ${what}`);
        return n;
      } catch (err) {
        this.deps.logger.error({ err }, `pruning ${what} failed`);
        return 0;
      }
    };
    return {
      deliveries: run('alert webhook deliveries', this.opts.deliveriesDays, (b) => this.repo.pruneDeliveries(b)),
      alerts: run('resolved alerts', this.opts.historyDays, (b) => this.repo.pruneResolved(b)),
    };
  }

  /**
   * Calls fn with each alert that fired or resolved in an evaluation pass, with each firing alert
   * resolved by deleting its rule and each one acknowledged, once that committed (the live stream's
   * source); returns the unsubscribe.
   */
  onChanged(fn: (a: Alert, event: AlertEvent) => void): () => void {
    this.changeListeners.add(fn);
    const offRemoved = this.repo.onCommitted((a, event) => {
      try {
        fn(a, event);
      } catch (err) {
        this.deps.logger.error({ err }, 'alert change listener failed');
      }
    });
    return () => {
      this.changeListeners.delete(fn);
      offRemoved();
    };
  }

  /** One evaluation pass and gauge update (deliveries it queues go out on the next send); never throws. */
  evaluate(): void {
    try {
      for (const a of this.evaluator.evaluateOnce()) for (const fn of this.changeListeners) fn(a, a.state === 'resolved' ? 'resolved' : 'fired');
      this.deps.metrics.inc('edgefleet_alert_evaluations_total');
      this.gauges();
    } catch (err) {
      this.failures.error(this.deps.logger, err, 'alert evaluation failed');
    }
  }

  /**
   * Starts the due deliveries that fit beside those in flight (WebhookSender.tick): not waiting for a
   * pass still running, so one receiver that hangs until the timeout does not hold back the others.
   */
  send(): void {
    this.sender.tick().catch((err: unknown) => this.failures.error(this.deps.logger, err, 'sending alert webhooks failed'));
  }

  gauges(): void {
    const m = this.deps.metrics;
    for (const [severity, n] of Object.entries(this.repo.firingBySeverity())) m.set('edgefleet_alerts_firing', n, { severity });
    m.set('edgefleet_alert_webhook_pending', (this.deps.store.db.prepare("SELECT COUNT(*) AS n FROM alert_deliveries WHERE state = 'pending'").get() as { n: number }).n);
    const r = this.deps.store.db.prepare('SELECT SUM(online) AS online, COUNT(*) AS total FROM devices WHERE revoked_at IS NULL').get() as { online: number | null; total: number };
    m.set('edgefleet_devices', r.online ?? 0, { state: 'online' });
    m.set('edgefleet_devices', r.total - (r.online ?? 0), { state: 'offline' });
  }

  async stop(deadlineMs: number): Promise<void> {
    if (this.evalTimer) clearInterval(this.evalTimer);
    if (this.sendTimer) clearInterval(this.sendTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.evalTimer = null;
    this.sendTimer = null;
    this.pruneTimer = null;
    await this.sender.stop(deadlineMs);
  }
}

function checkDays(field: string, days: number, bounds: { min: number; max: number }): void {
  if (!Number.isInteger(days) || days < bounds.min || days > bounds.max) {
    throw new AppError('CONFIG_INVALID', `alerts.${field} ${days}: expected whole days from ${bounds.min} to ${bounds.max}`);
  }
}
