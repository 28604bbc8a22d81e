// Retention of the alerts part's history (docs/drift.md "Webhooks" and "Alert history"): deliveries
// delivered or failed for good are deleted with their attempts some days after they ended, resolved
// alerts with their deliveries some days after they resolved. Nothing still in progress goes: a pending
// delivery, or an alert that is pending, firing, or has a delivery still pending. Both delete at most
// PRUNE_BATCH rows a transaction, so a long backlog never holds the write lock for long.
import type { Db } from '../store/db.js';

/** Deliveries (or alerts) deleted per transaction when pruning. */
export const PRUNE_BATCH = 500;

const marks = (ids: readonly number[]): string => ids.map(() => '?').join(', ');

/** Repeats one batch until a batch deletes fewer than PRUNE_BATCH; returns the total. */
function inBatches(db: Db, batch: () => number): number {
  let total = 0;
  for (;;) {
    const n = db.transaction(batch)();
    total += n;
    if (n < PRUNE_BATCH) return total;
  }
}

/**
 * Deletes the deliveries delivered or failed for good before `before`, with their attempts; a pending
 * delivery is never deleted, whatever its age. Returns how many.
 */
export function pruneDeliveries(db: Db, before: Date): number {
  const pick = db.prepare("SELECT id FROM alert_deliveries WHERE state != 'pending' AND done_at < ? ORDER BY done_at, id LIMIT ?");
  return inBatches(db, () => {
    const ids = (pick.all(before.toISOString(), PRUNE_BATCH) as Array<{ id: number }>).map((r) => Number(r.id));
    if (ids.length === 0) return 0;
    db.prepare(`DELETE FROM alert_delivery_attempts WHERE delivery_id IN (${marks(ids)})`).run(...ids);
    return db.prepare(`DELETE FROM alert_deliveries WHERE state != 'pending' AND id IN (${marks(ids)})`).run(...ids).changes;
  });
}

/**
 * Deletes the alerts resolved before `before`, with their deliveries and those deliveries' attempts, and
 * the drift reports the alerts part stored for them (created by `alerts`: one per firing of a drift or
 * accuracy alert, one per scheduled retrain request, each linked by that one alert): made by no one's
 * hand, they would otherwise pile up for ever, one by device at every firing. Reports an operator
 * made (POST /drift-reports, a retrain request by hand) stay. An alert with a delivery still pending
 * (its `resolved` webhook being retried) stays until that delivery ends. Returns how many alerts.
 */
export function pruneResolvedAlerts(db: Db, before: Date): number {
  const pick = db.prepare(`SELECT a.id FROM alerts a WHERE a.state = 'resolved' AND a.resolved_at < ?
      AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.state = 'pending')
    ORDER BY a.resolved_at, a.id LIMIT ?`);
  return inBatches(db, () => {
    const ids = (pick.all(before.toISOString(), PRUNE_BATCH) as Array<{ id: number }>).map((r) => Number(r.id));
    if (ids.length === 0) return 0;
    const reports = (db.prepare(`SELECT report_id FROM alerts WHERE report_id IS NOT NULL AND id IN (${marks(ids)})`).all(...ids) as Array<{ report_id: number }>).map((r) => Number(r.report_id));
    db.prepare(`DELETE FROM alert_delivery_attempts WHERE delivery_id IN (SELECT id FROM alert_deliveries WHERE alert_id IN (${marks(ids)}))`).run(...ids);
    db.prepare(`DELETE FROM alert_deliveries WHERE alert_id IN (${marks(ids)})`).run(...ids);
    const n = db.prepare(`DELETE FROM alerts WHERE state = 'resolved' AND id IN (${marks(ids)})`).run(...ids).changes;
    if (reports.length > 0) db.prepare(`DELETE FROM drift_reports WHERE created_by = 'alerts' AND id IN (${marks(reports)})`).run(...reports);
    return n;
  });
}
