// The alerts part's tables in hub.db (or PostgreSQL: store/pg/dialect.ts translates them). 30: rules,
// alerts, the webhook delivery queue and its attempt log (docs/decisions/0025-alert-webhooks.md). 31: the
// hold state of a firing alert whose breach is over (keepFiringForSec) and when a delivery ended, which
// the delivery retention prunes by (docs/decisions/0060-alert-hysteresis-pruning-and-query-ids.md). 32:
// indexes for the retention of resolved alerts (prune.ts). 83: who acknowledged a firing alert, when and
// why (docs/decisions/0106-alert-acknowledgement.md). 107: an action's pending deliveries by when they fall
// due, counted at each enqueue against their bound and read in turns (deliveries.ts).
import type { Migration } from '../store/migrations.js';

export const ALERTS_MIGRATION: Migration = {
  version: 30,
  name: 'alert rules, alerts, webhook deliveries',
  sql: `
    CREATE TABLE alert_rules (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL,
      rule TEXT NOT NULL,
      created_at TEXT NOT NULL,
      created_by TEXT NOT NULL,
      deleted_at TEXT
    );
    CREATE UNIQUE INDEX alert_rules_live_name ON alert_rules(name) WHERE deleted_at IS NULL;
    CREATE TABLE alerts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      rule_id INTEGER NOT NULL REFERENCES alert_rules(id),
      key TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
      value REAL,
      started_at TEXT NOT NULL,
      fired_at TEXT,
      resolved_at TEXT,
      last_evaluated_at TEXT NOT NULL,
      report_id INTEGER
    );
    CREATE UNIQUE INDEX alerts_open ON alerts(rule_id, key) WHERE state != 'resolved';
    CREATE INDEX alerts_by_state ON alerts(state, id);
    CREATE TABLE alert_deliveries (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      alert_id INTEGER NOT NULL REFERENCES alerts(id),
      rule_id INTEGER NOT NULL,
      action_index INTEGER NOT NULL,
      action TEXT NOT NULL,
      url TEXT NOT NULL,
      event TEXT NOT NULL,
      body TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at TEXT
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries(state, next_at);
    CREATE TABLE alert_delivery_attempts (
      delivery_id INTEGER NOT NULL REFERENCES alert_deliveries(id),
      at TEXT NOT NULL,
      status INTEGER,
      error TEXT,
      ms REAL NOT NULL
    );
    CREATE INDEX alert_delivery_attempts_by_delivery ON alert_delivery_attempts(delivery_id);
  `,
};

/**
 * `alerts.clear_since`: a firing alert whose breach is over, since when (null otherwise). Pending
 * alerts keep their `started_at`, so both hold times live in the database and a restart goes on with
 * them. `alert_deliveries.done_at`: when a delivery was delivered or failed for good (null while
 * pending), filled for those already done from their last attempt.
 */
export const ALERTS_HOLD_MIGRATION: Migration = {
  version: 31,
  name: 'alert hold state, delivery end times',
  sql: `
    ALTER TABLE alerts ADD COLUMN clear_since TEXT;
    ALTER TABLE alert_deliveries ADD COLUMN done_at TEXT;
    UPDATE alert_deliveries SET done_at = COALESCE(
        (SELECT MAX(t.at) FROM alert_delivery_attempts t WHERE t.delivery_id = alert_deliveries.id),
        (SELECT a.started_at FROM alerts a WHERE a.id = alert_deliveries.alert_id))
      WHERE state != 'pending';
    CREATE INDEX alert_deliveries_done ON alert_deliveries(done_at) WHERE state != 'pending';
  `,
};

/**
 * What the history retention (prune.ts) looks up: resolved alerts by when they resolved, and an alert's
 * deliveries (also what GET /alerts/{id}/deliveries lists).
 */
export const ALERTS_HISTORY_MIGRATION: Migration = {
  version: 32,
  name: 'alert history retention indexes',
  sql: `
    CREATE INDEX alerts_resolved ON alerts(resolved_at) WHERE state = 'resolved';
    CREATE INDEX alert_deliveries_by_alert ON alert_deliveries(alert_id, state);
  `,
};

/** `alerts.acked_at`, `acked_by`, `ack_reason`: a firing alert an operator took (POST /alerts/{id}/ack); null until then. */
export const ALERTS_ACK_MIGRATION: Migration = {
  version: 83,
  name: 'alert acknowledgements',
  sql: `
    ALTER TABLE alerts ADD COLUMN acked_at TEXT;
    ALTER TABLE alerts ADD COLUMN acked_by TEXT;
    ALTER TABLE alerts ADD COLUMN ack_reason TEXT;
  `,
};

/**
 * The pending deliveries of one action of a rule in the order they fall due: counted at each enqueue
 * against PENDING_PER_ACTION, and read an action's first due ones at a time (deliveries.ts).
 */
export const ALERTS_PENDING_MIGRATION: Migration = {
  version: 107,
  name: 'alert deliveries pending by action',
  sql: `
    CREATE INDEX alert_deliveries_pending_by_action ON alert_deliveries(rule_id, action_index, next_at, id) WHERE state = 'pending';
  `,
};
