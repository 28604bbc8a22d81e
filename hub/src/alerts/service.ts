// The alerts part of the hub (start/stop): evaluates the rules every evaluateEveryMs, sends due
// webhook deliveries every second (retries come due by backoff), and keeps the fleet gauges on
// /metrics up to date. stop() clears the timers and gives in-flight deliveries a deadline.
import type { Alert } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Metrics } from '../metrics.js';
import { AlertsRepo } from './repo.js';
import { AlertEvaluator, type RolloutFailedFn } from './evaluator.js';
import { DEFAULT_WEBHOOK_OPTIONS, WebhookSender, type WebhookOptions } from './webhooks.js';

export interface AlertsOptions {
  evaluateEveryMs: number;
  sendEveryMs: number;
  webhook: WebhookOptions;
}

export const DEFAULT_ALERTS_OPTIONS: AlertsOptions = { evaluateEveryMs: 60_000, sendEveryMs: 1000, webhook: DEFAULT_WEBHOOK_OPTIONS };

export interface AlertsDeps {
  store: Store;
  clock: Clock;
  logger: LoggerPort;
  metrics: Metrics;
  rolloutFailed?: RolloutFailedFn | undefined;
}

export class Alerts {
  readonly repo: AlertsRepo;
  readonly evaluator: AlertEvaluator;
  readonly sender: WebhookSender;
  private evalTimer: NodeJS.Timeout | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private readonly changeListeners = new Set<(a: Alert) => void>();

  constructor(private readonly deps: AlertsDeps, private readonly opts: AlertsOptions = DEFAULT_ALERTS_OPTIONS) {
    this.repo = deps.store.alerts;
    this.evaluator = new AlertEvaluator({ store: deps.store, repo: this.repo, clock: deps.clock, logger: deps.logger, rolloutFailed: deps.rolloutFailed });
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
    m.describe('edgefleet_alert_evaluations_total', 'counter', 'Alert rule evaluation passes');
  }

  start(): void {
    if (this.evalTimer) return;
    this.sender.resume();
    this.evalTimer = setInterval(() => {
      this.evaluate();
      this.send();
    }, this.opts.evaluateEveryMs);
    this.evalTimer.unref();
    this.sendTimer = setInterval(() => this.send(), this.opts.sendEveryMs);
    this.sendTimer.unref();
    this.evaluate();
    this.send();
  }

  /**
   * Calls fn with each alert that fired or resolved in an evaluation pass, and with each firing alert
   * resolved by deleting its rule once that committed (the live stream's source); returns the unsubscribe.
   */
  onChanged(fn: (a: Alert) => void): () => void {
    this.changeListeners.add(fn);
    const offRemoved = this.repo.onRuleRemoved((a) => {
      try {
        fn(a);
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
      for (const a of this.evaluator.evaluateOnce()) for (const fn of this.changeListeners) fn(a);
      this.deps.metrics.inc('edgefleet_alert_evaluations_total');
      this.gauges();
    } catch (err) {
      this.deps.logger.error({ err }, 'alert evaluation failed');
    }
  }

  /** Starts a send pass unless one is running. */
  send(): void {
    if (this.sending) return;
    this.sending = this.sender.tick()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'sending alert webhooks failed'))
      .finally(() => { this.sending = null; });
  }

  gauges(): void {
    const m = this.deps.metrics;
    for (const [severity, n] of Object.entries(this.repo.firingBySeverity())) m.set('edgefleet_alerts_firing', n, { severity });
    const r = this.deps.store.db.prepare('SELECT SUM(online) AS online, COUNT(*) AS total FROM devices WHERE revoked_at IS NULL').get() as { online: number | null; total: number };
    m.set('edgefleet_devices', r.online ?? 0, { state: 'online' });
    m.set('edgefleet_devices', r.total - (r.online ?? 0), { state: 'offline' });
  }

  async stop(deadlineMs: number): Promise<void> {
    if (this.evalTimer) clearInterval(this.evalTimer);
    if (this.sendTimer) clearInterval(this.sendTimer);
    this.evalTimer = null;
    this.sendTimer = null;
    await this.sender.stop(deadlineMs);
  }
}
