// Alert rules, alerts (one open alert per rule and key: fire once, update, resolve) and the webhook delivery
// queue with every attempt logged (deliveries.ts), in hub.db (migrations 30-32 in migrations.ts; docs/drift.md
// "Alerts"). Ended deliveries and resolved alerts are pruned after their retentions (prune.ts).
import { AppError, notFound, type Alert, type AlertRuleCreate, type Delivery } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import { urlProblem } from './webhooks.js';
import { MAX_RULES, storedRule, type NewRule, type RuleRow, type StoredRule } from './rules.js';
import { pruneDeliveries, pruneResolvedAlerts } from './prune.js';
import { deliveriesOf, dueDeliveries, enqueueDelivery, queueActions, recordAttempt, type Attempt, type DueDelivery, type NewDelivery, type Queued } from './deliveries.js';
import { storedTagKeyProblem } from '../drift/tag-keys.js';

interface AlertRow {
  id: number; rule_id: number; key: string; state: Alert['state']; value: number | null; started_at: string; fired_at: string | null;
  resolved_at: string | null; last_evaluated_at: string; clear_since: string | null; report_id: number | null; rule: string;
  acked_at: string | null; acked_by: string | null; ack_reason: string | null;
}

/** A delivery recorded as dropped (no room in its action's pending deliveries: deliveries.ts), once committed. */
export type DroppedDelivery = NewDelivery & { id: number; why: string };

/** What the repo announces once committed (the evaluator announces firing and its own resolutions). */
type CommittedEvent = 'resolved' | 'acknowledged' | 'unacknowledged';

export class AlertsRepo {
  private readonly listeners = new Set<(a: Alert, event: CommittedEvent) => void>();
  private readonly dropListeners = new Set<(d: DroppedDelivery) => void>();

  constructor(private readonly db: Db) {}

  /**
   * Calls `fn` with each firing alert that resolved because its rule was deleted, and each one
   * acknowledged, once that committed (a change rolled back with its transaction is never reported). The evaluator's own resolutions
   * come from evaluateOnce; Alerts.onChanged joins both for the live stream.
   */
  onCommitted(fn: (a: Alert, event: CommittedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls `fn` with each delivery recorded as dropped, once that committed; returns the unsubscribe. */
  onDropped(fn: (d: DroppedDelivery) => void): () => void {
    this.dropListeners.add(fn);
    return () => this.dropListeners.delete(fn);
  }

  /** Announces the deliveries of `queued` that were dropped, once committed (one rolled back is not). */
  private announceDropped(queued: ReadonlyArray<Queued & NewDelivery>): void {
    const dropped = queued.filter((q) => q.dropped !== null);
    if (!this.dropListeners.size || dropped.length === 0) return;
    queueMicrotask(() => {
      for (const d of dropped) {
        try {
          if (!this.db.prepare("SELECT 1 FROM alert_deliveries WHERE id = ? AND state = 'failed'").get(d.id)) continue; // rolled back
        } catch {
          continue; // the store closed meanwhile
        }
        for (const fn of [...this.dropListeners]) fn({ ...d, why: d.dropped ?? '' });
      }
    });
  }

  /** Announces `ids` once committed: resolved by a rule's removal, acknowledged (ack), or that taken back (unack). */
  private announce(ids: number[], event: CommittedEvent = 'resolved'): void {
    if (!this.listeners.size || ids.length === 0) return;
    // better-sqlite3 transactions are synchronous: a microtask runs after the outermost one ended.
    queueMicrotask(() => {
      for (const id of ids) {
        let a: Alert;
        try {
          a = this.alert(id);
        } catch {
          continue; // the store closed meanwhile
        }
        if (event === 'resolved' ? a.state !== 'resolved' : event === 'acknowledged' ? !a.acknowledged : a.acknowledged) continue; // rolled back
        for (const fn of [...this.listeners]) fn(a, event);
      }
    });
  }

  /**
   * Records that `by.actor` took firing alert `id` (docs/decisions/0106-alert-acknowledgement.md): 404 for no
   * such alert, 409 for one not firing or already acknowledged (naming by whom). Announced once committed.
   */
  ack(id: number, by: { actor: string; at: Date; reason: string }): Alert {
    // One guarded write: of two operators acknowledging at once, the second is told who won.
    const n = this.db.prepare("UPDATE alerts SET acked_at = ?, acked_by = ?, ack_reason = ? WHERE id = ? AND state = 'firing' AND acked_at IS NULL")
      .run(by.at.toISOString(), by.actor, by.reason, id).changes;
    const a = this.alert(id);
    if (n === 0 && a.state !== 'firing') throw new AppError('CONFLICT', `alert ${id} is ${a.state}: only a firing alert can be acknowledged`);
    if (n === 0) throw new AppError('CONFLICT', `alert ${id} is already acknowledged by ${a.acknowledged?.by ?? '?'} at ${a.acknowledged?.at ?? '?'}`);
    this.announce([id], 'acknowledged');
    return a;
  }

  /**
   * Takes back the acknowledgement of firing alert `id` (an ack by mistake, or the operator handing it on):
   * 404 for no such alert, 409 NOTHING_TO_UNDO for one not acknowledged, or no longer firing (a resolved
   * alert keeps who took it, as history). Returns the acknowledgement taken back. Announced once committed.
   */
  unack(id: number): { alert: Alert; was: NonNullable<Alert['acknowledged']> } {
    const before = this.alert(id);
    const was = before.acknowledged;
    if (!was) throw new AppError('NOTHING_TO_UNDO', `alert ${id} is not acknowledged: expected an alert an operator acknowledged (alerts ack)`, { details: { alert: id, state: before.state } });
    if (before.state !== 'firing') {
      throw new AppError('NOTHING_TO_UNDO', `alert ${id} is ${before.state}: expected a firing alert; a ${before.state} alert keeps who took it (${was.by} at ${was.at})`, { details: { alert: id, state: before.state } });
    }
    // Guarded by the acknowledgement read: of two operators taking it back at once, the second is told.
    const n = this.db.prepare("UPDATE alerts SET acked_at = NULL, acked_by = NULL, ack_reason = NULL WHERE id = ? AND state = 'firing' AND acked_at = ? AND acked_by = ?")
      .run(id, was.at, was.by).changes;
    if (n === 0) throw new AppError('NOTHING_TO_UNDO', `alert ${id} changed meanwhile: expected it still acknowledged by ${was.by} at ${was.at}; look again (alerts ls)`, { details: { alert: id } });
    this.announce([id], 'unacknowledged');
    return { alert: this.alert(id), was };
  }

  addRule(rule: NewRule, by: { actor: string; at: Date }): StoredRule {
    const r: AlertRuleCreate = { ...rule, keepFiringForSec: rule.keepFiringForSec ?? 0 };
    const n = (this.db.prepare('SELECT COUNT(*) AS n FROM alert_rules WHERE deleted_at IS NULL').get() as { n: number }).n;
    if (n >= MAX_RULES) throw new AppError('CONFLICT', `there are already ${n} alert rules: expected at most ${MAX_RULES} (remove some first)`);
    r.actions.forEach((a, i) => {
      const problem = urlProblem(a.url);
      if (problem) throw new AppError('BAD_REQUEST', `alert rule "${r.name}": the URL of action ${i + 1} ${problem}`);
    });
    // A scope by a tag key no device carries (a typo) matches no device: the rule would never have a value.
    for (const key of Object.keys(r.scope?.tags ?? {})) {
      const problem = storedTagKeyProblem(this.db, key, (k) => k, 'a tag');
      if (problem) throw new AppError('BAD_REQUEST', `alert rule "${r.name}": scope.tags: ${problem}; a rule scoped by it would match no device and never fire`);
    }
    if (this.db.prepare('SELECT 1 FROM alert_rules WHERE name = ? AND deleted_at IS NULL').get(r.name)) {
      throw new AppError('CONFLICT', `an alert rule named "${r.name}" already exists`);
    }
    const res = this.db.prepare('INSERT INTO alert_rules (name, rule, created_at, created_by) VALUES (?, ?, ?, ?)').run(r.name, JSON.stringify(r), by.at.toISOString(), by.actor);
    return this.rule(Number(res.lastInsertRowid));
  }

  rule(id: number, opts: { deleted?: boolean } = {}): StoredRule {
    const row = this.db.prepare(`SELECT id, rule, created_at, created_by FROM alert_rules WHERE id = ?${opts.deleted ? '' : ' AND deleted_at IS NULL'}`).get(id) as RuleRow | undefined;
    if (!row) throw notFound('alert_rule', id, `no alert rule ${id}`);
    return storedRule(row);
  }

  /** Whether rule `id` exists and is not deleted. */
  isLive(id: number): boolean {
    return !!this.db.prepare('SELECT 1 FROM alert_rules WHERE id = ? AND deleted_at IS NULL').get(id);
  }

  rules(): StoredRule[] {
    const rows = this.db.prepare('SELECT id, rule, created_at, created_by FROM alert_rules WHERE deleted_at IS NULL ORDER BY id').all() as RuleRow[];
    return rows.map(storedRule);
  }

  /**
   * Deletes a rule (kept for the history of its alerts). Its firing alerts resolve and queue their
   * `alert.resolved` deliveries (a receiver that was told of the firing would otherwise keep the
   * incident open for good; the sender still finds a deleted rule's secrets); pending ones never
   * fired and are dropped, as when their breach ends. The resolutions are announced after commit
   * (onCommitted: the live stream shows them as the evaluator's).
   */
  removeRule(id: number, at: Date): StoredRule {
    const resolved: number[] = [];
    const r = this.db.transaction(() => {
      const rule = this.rule(id);
      this.db.prepare('UPDATE alert_rules SET deleted_at = ? WHERE id = ?').run(at.toISOString(), id);
      for (const open of this.openFor(id)) {
        if (open.state === 'pending') {
          this.drop(open.id);
          continue;
        }
        this.queue(rule, this.update(open.id, { state: 'resolved', at }), 'resolved', at);
        resolved.push(open.id);
      }
      return rule;
    })();
    this.announce(resolved);
    return r;
  }

  /** Queues one delivery per action of `rule` for `alert` firing or resolving (deliveries.ts queueActions); call in the transaction that changed the alert. */
  queue(rule: StoredRule, alert: Alert, event: 'firing' | 'resolved', now: Date, report?: (id: number) => unknown): void {
    this.announceDropped(queueActions(this.db, rule, alert, event, now, report));
  }

  open(ruleId: number, key: string): Alert | null {
    const row = this.db.prepare(`SELECT a.*, r.rule FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.rule_id = ? AND a.key = ? AND a.state != 'resolved'`).get(ruleId, key) as AlertRow | undefined;
    return row ? toAlert(row) : null;
  }

  openFor(ruleId: number): Alert[] {
    const rows = this.db.prepare(`SELECT a.*, r.rule FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.rule_id = ? AND a.state != 'resolved'`).all(ruleId) as AlertRow[];
    return rows.map(toAlert);
  }

  /**
   * A retrain request of a rule (manual or scheduled, retrain.ts): an alert that fired and resolved at
   * `at`, so its deliveries have an alert to belong to and it shows in the rule's history.
   */
  recordRequest(ruleId: number, key: string, at: Date, reportId: number): Alert {
    const t = at.toISOString();
    const res = this.db.prepare("INSERT INTO alerts (rule_id, key, state, value, started_at, fired_at, resolved_at, last_evaluated_at, report_id) VALUES (?, ?, 'resolved', NULL, ?, ?, ?, ?, ?)")
      .run(ruleId, key, t, t, t, t, reportId);
    return this.alert(Number(res.lastInsertRowid));
  }

  start(ruleId: number, key: string, value: number, at: Date): Alert {
    const res = this.db.prepare("INSERT INTO alerts (rule_id, key, state, value, started_at, last_evaluated_at) VALUES (?, ?, 'pending', ?, ?, ?)").run(ruleId, key, value, at.toISOString(), at.toISOString());
    return this.alert(Number(res.lastInsertRowid));
  }

  /**
   * Records an evaluation of an open alert at `at` (its last_evaluated_at) and what changed: its state,
   * value, report, the start of a pending alert's hold (`startedAt`, restarted after a gap in the
   * evaluations) and the end of a firing one's breach (`clearSince`: a time, or null when breached again).
   * Leaving the firing state clears `clearSince`.
   */
  update(id: number, patch: { state?: Alert['state']; value?: number | null; at: Date; reportId?: number; startedAt?: Date; clearSince?: Date | null }): Alert {
    const at = patch.at.toISOString();
    const clear = patch.state === 'resolved' ? null : patch.clearSince === undefined ? undefined : patch.clearSince?.toISOString() ?? null;
    this.db.prepare(
      `UPDATE alerts SET state = COALESCE(?, state), value = CASE WHEN ? THEN ? ELSE value END, last_evaluated_at = ?,
         fired_at = CASE WHEN ? = 'firing' THEN ? ELSE fired_at END, resolved_at = CASE WHEN ? = 'resolved' THEN ? ELSE resolved_at END,
         report_id = COALESCE(?, report_id), started_at = COALESCE(?, started_at), clear_since = CASE WHEN ? THEN ? ELSE clear_since END WHERE id = ?`,
    ).run(patch.state ?? null, patch.value !== undefined ? 1 : 0, patch.value ?? null, at, patch.state ?? null, at, patch.state ?? null, at, patch.reportId ?? null,
      patch.startedAt?.toISOString() ?? null, clear !== undefined ? 1 : 0, clear ?? null, id);
    return this.alert(id);
  }

  /** A pending alert whose breach ended before it fired is dropped (it never fired). */
  drop(id: number): void {
    this.db.prepare("DELETE FROM alerts WHERE id = ? AND state = 'pending'").run(id);
  }

  alert(id: number): Alert {
    const row = this.db.prepare('SELECT a.*, r.rule FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = ?').get(id) as AlertRow | undefined;
    if (!row) throw notFound('alert', id, `no alert ${id}`);
    return toAlert(row);
  }

  alerts(q: { state?: Alert['state'] | undefined; rule?: number | undefined; limit?: number | undefined }): Alert[] {
    const rows = this.db.prepare(
      `SELECT a.*, r.rule FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE (? IS NULL OR a.state = ?) AND (? IS NULL OR a.rule_id = ?) ORDER BY a.id DESC LIMIT ?`,
    ).all(q.state ?? null, q.state ?? null, q.rule ?? null, q.rule ?? null, q.limit ?? 100) as AlertRow[];
    return rows.map(toAlert);
  }

  /** Firing alerts by severity (the /metrics gauge). */
  firingBySeverity(): Record<string, number> {
    const rows = this.db.prepare("SELECT a.rule_id, r.rule FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.state = 'firing'").all() as Array<{ rule: string }>;
    const out: Record<string, number> = { info: 0, warning: 0, critical: 0 };
    for (const r of rows) {
      const s = (JSON.parse(r.rule) as AlertRuleCreate).severity;
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }

  /** Queues one delivery (deliveries.ts); returns its id. */
  enqueue(d: NewDelivery): number {
    return this.queueOne(d).id;
  }

  /** Queues one delivery (deliveries.ts); returns its id and why it was dropped (or null). */
  queueOne(d: NewDelivery): Queued {
    const q = enqueueDelivery(this.db, d);
    this.announceDropped([{ ...d, ...q }]);
    return q;
  }

  /** Deliveries due at `now`, in order per alert and action (deliveries.ts). */
  due(now: Date, limit: number): DueDelivery[] {
    return dueDeliveries(this.db, now, limit);
  }

  /** Records one attempt and the delivery's next state (deliveries.ts). */
  attempt(id: number, a: Attempt): void {
    recordAttempt(this.db, id, a);
  }

  /** Deletes deliveries ended before `before`, with their attempts (prune.ts); returns how many. */
  pruneDeliveries(before: Date): number {
    return pruneDeliveries(this.db, before);
  }

  /** Deletes alerts resolved before `before`, with their deliveries (prune.ts); returns how many alerts. */
  pruneResolved(before: Date): number {
    return pruneResolvedAlerts(this.db, before);
  }

  /** An alert's deliveries with their attempts, URLs redacted (deliveries.ts). */
  deliveries(alertId: number): Delivery[] {
    return deliveriesOf(this.db, alertId);
  }
}

function toAlert(r: AlertRow): Alert {
  const rule = JSON.parse(r.rule) as AlertRuleCreate;
  return {
    id: r.id, ruleId: r.rule_id, rule: rule.name, metric: rule.metric, severity: rule.severity, key: r.key, state: r.state, value: r.value,
    threshold: rule.threshold, startedAt: r.started_at, firedAt: r.fired_at, resolvedAt: r.resolved_at, lastEvaluatedAt: r.last_evaluated_at,
    clearSince: r.clear_since ?? null, reportId: r.report_id,
    acknowledged: r.acked_at ? { by: r.acked_by ?? '', at: r.acked_at, reason: r.ack_reason ?? '' } : null,
  };
}
