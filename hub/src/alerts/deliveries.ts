// The webhook delivery queue of alerts (docs/drift.md "Alerts"): one row per action of a rule an alert's
// firing or resolving is told to (alert_deliveries), and every attempt at it (alert_delivery_attempts).
// repo.ts (AlertsRepo) queues them; webhooks.ts sends what is due and records each attempt; prune.ts
// deletes ended ones. The pending deliveries of one action are bounded (PENDING_PER_ACTION): a receiver
// that is down while alerts flap would otherwise grow the queue for good; one past the bound is recorded
// as dropped, never sent (docs/drift.md "Webhooks").
import type { Alert, AlertAction, Delivery, WebhookEvent } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import { redactUrl } from './webhooks.js';
import type { StoredRule } from './rules.js';

export interface DueDelivery {
  id: number;
  alertId: number;
  /** What it tells: firing, resolved or retrain (alert_deliveries.event). */
  event: string;
  ruleId: number;
  actionIndex: number;
  url: string;
  body: string;
  attempts: number;
}

/** A delivery to queue: the alert and the action of its rule it tells, what, and from when. */
export type NewDelivery = { alertId: number; ruleId: number; actionIndex: number; action: AlertAction['type']; url: string; event: 'firing' | 'resolved'; body: string; at: Date };

/**
 * Pending deliveries to one action of a rule at most, and the characters of their bodies (a retrain
 * body carries a drift report, ~1.3 MB at most). A `resolved` is queued past them when its firing was
 * queued (a receiver told of a firing is told of its end), so an action's pending deliveries are at most
 * `deliveries` and one `resolved` per alert of the rule open at once.
 */
export const PENDING_PER_ACTION = { deliveries: 1000, bodyChars: 64 * 1024 * 1024 } as const;

/** A delivery queued (dropped null), or recorded as dropped, never sent, saying why. */
export type Queued = { id: number; dropped: string | null };

/** One attempt at a delivery and the state it leaves it in (pending with nextAt, or delivered or failed). */
export type Attempt = { at: Date; status: number | null; error: string | null; ms: number; state: Delivery['state']; nextAt: Date | null };

/**
 * Queues one delivery per action of `rule` for `alert` firing or resolving (a retrain action only
 * on firing, with the drift report `report()` gives). Call in the transaction that changed the alert.
 */
export function queueActions(db: Db, rule: StoredRule, alert: Alert, event: 'firing' | 'resolved', now: Date, report?: (id: number) => unknown): Array<Queued & NewDelivery> {
  const out: Array<Queued & NewDelivery> = [];
  rule.actions.forEach((action, i) => {
    if (action.type === 'retrain' && event !== 'firing') return;
    const body: WebhookEvent = {
      schema: 'edgefleet.alert/v1',
      type: action.type === 'retrain' ? 'retrain.requested' : event === 'firing' ? 'alert.firing' : 'alert.resolved',
      at: now.toISOString(),
      alert,
      links: { alert: `/api/v1/alerts?rule=${rule.id}`, ...(alert.reportId ? { report: `/api/v1/drift-reports/${alert.reportId}` } : {}) },
      ...(action.type === 'retrain' && alert.reportId && report ? { report: report(alert.reportId) } : {}),
    };
    const d: NewDelivery = { alertId: alert.id, ruleId: rule.id, actionIndex: i, action: action.type, url: action.url, event, body: JSON.stringify(body), at: now };
    out.push({ ...d, ...enqueueDelivery(db, d) });
  });
  return out;
}

/** Why `d` finds no room in its action's pending deliveries (PENDING_PER_ACTION), or null. */
function noRoom(db: Db, d: NewDelivery): string | null {
  // A resolved follows its firing unless that firing was dropped (failed with no attempt).
  if (d.event === 'resolved' && !db.prepare("SELECT 1 FROM alert_deliveries WHERE alert_id = ? AND action_index = ? AND event = 'firing' AND state = 'failed' AND attempts = 0").get(d.alertId, d.actionIndex)) return null;
  const r = db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(body)), 0) AS chars FROM alert_deliveries WHERE state = 'pending' AND rule_id = ? AND action_index = ?")
    .get(d.ruleId, d.actionIndex) as { n: number; chars: number };
  const { deliveries, bodyChars } = PENDING_PER_ACTION;
  if (Number(r.n) >= deliveries) return `${r.n} deliveries to this action already pending (its receiver is down or slow): expected at most ${deliveries}`;
  if (Number(r.chars) + d.body.length > bodyChars) return `the pending deliveries to this action hold ${r.chars} characters of bodies, ${d.body.length} more would pass the bound of ${bodyChars}`;
  return null;
}

/**
 * Queues a delivery, pending from `d.at`; one with no room in its action's pending deliveries
 * (PENDING_PER_ACTION) is recorded as dropped: failed at once, with no attempt made, an attempt log line
 * saying why and no body kept. Returns its id and why it was dropped (or null).
 */
export function enqueueDelivery(db: Db, d: NewDelivery): Queued {
  const dropped = noRoom(db, d);
  const res = db.prepare(
    'INSERT INTO alert_deliveries (alert_id, rule_id, action_index, action, url, event, body, state, next_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(d.alertId, d.ruleId, d.actionIndex, d.action, d.url, d.event, dropped ? '' : d.body, dropped ? 'failed' : 'pending', dropped ? null : d.at.toISOString(), dropped ? d.at.toISOString() : null);
  const id = Number(res.lastInsertRowid);
  if (dropped) db.prepare('INSERT INTO alert_delivery_attempts (delivery_id, at, status, error, ms) VALUES (?, ?, NULL, ?, 0)').run(id, d.at.toISOString(), `not queued: ${dropped}`);
  return { id, dropped };
}

/**
 * Deliveries due at `now`. One still pending before it for the same alert and action (a firing being
 * retried) holds it back: a receiver gets an alert's events in order and ends on its last state. Taken in
 * turns across actions (each action's first due delivery, then each one's second, ...; oldest first within
 * a turn): a receiver that is down with a backlog does not hold every slot while another rule's page waits.
 */
export function dueDeliveries(db: Db, now: Date, limit: number): DueDelivery[] {
  const at = now.toISOString();
  const actions = db.prepare("SELECT DISTINCT rule_id, action_index FROM alert_deliveries WHERE state = 'pending' AND next_at <= ?").all(at) as Array<{ rule_id: number; action_index: number }>;
  // Each action's first `limit` due, from its index (migration 107) in order: a backlog is not read whole each tick.
  const firstOf = db.prepare(
    `SELECT id, alert_id, event, rule_id, action_index, url, body, attempts, next_at FROM alert_deliveries d
      WHERE d.state = 'pending' AND d.rule_id = ? AND d.action_index = ? AND d.next_at <= ?
        AND NOT EXISTS (SELECT 1 FROM alert_deliveries p WHERE p.state = 'pending' AND p.alert_id = d.alert_id AND p.action_index = d.action_index AND p.id < d.id)
      ORDER BY d.next_at, d.id LIMIT ?`);
  type Row = { id: number; alert_id: number; event: string; rule_id: number; action_index: number; url: string; body: string; attempts: number; next_at: string };
  const queues = actions.map((a) => firstOf.all(a.rule_id, a.action_index, at, limit) as Row[]);
  const out: Row[] = [];
  for (let turn = 0; out.length < limit && queues.some((q) => q.length > turn); turn++) {
    const round = queues.flatMap((q) => q.slice(turn, turn + 1)).sort((a, b) => (a.next_at < b.next_at ? -1 : a.next_at > b.next_at ? 1 : a.id - b.id));
    out.push(...round.slice(0, limit - out.length));
  }
  return out.map((r) => ({ id: r.id, alertId: r.alert_id, event: r.event, ruleId: r.rule_id, actionIndex: r.action_index, url: r.url, body: r.body, attempts: r.attempts }));
}

/** Records one attempt and the delivery's next state (pending with next_at, or delivered or failed: done at `at`). */
export function recordAttempt(db: Db, id: number, a: Attempt): void {
  db.transaction(() => {
    db.prepare('INSERT INTO alert_delivery_attempts (delivery_id, at, status, error, ms) VALUES (?, ?, ?, ?, ?)').run(id, a.at.toISOString(), a.status, a.error, a.ms);
    db.prepare('UPDATE alert_deliveries SET attempts = attempts + 1, state = ?, next_at = ?, done_at = ? WHERE id = ?')
      .run(a.state, a.nextAt?.toISOString() ?? null, a.state === 'pending' ? null : a.at.toISOString(), id);
  })();
}

/** An alert's deliveries, oldest first, each with its attempts; URLs redacted. */
export function deliveriesOf(db: Db, alertId: number): Delivery[] {
  const rows = db.prepare('SELECT id, alert_id, event, action, url, state, next_at FROM alert_deliveries WHERE alert_id = ? ORDER BY id').all(alertId) as Array<{
    id: number; alert_id: number; event: Delivery['event']; action: Delivery['action']; url: string; state: Delivery['state']; next_at: string | null;
  }>;
  const attempts = db.prepare('SELECT at, status, error, ms FROM alert_delivery_attempts WHERE delivery_id = ? ORDER BY rowid');
  return rows.map((r) => ({
    id: r.id, alertId: r.alert_id, event: r.event, action: r.action, url: redactUrl(r.url), state: r.state, nextAt: r.state === 'pending' ? r.next_at : null,
    attempts: attempts.all(r.id) as Delivery['attempts'],
  }));
}
