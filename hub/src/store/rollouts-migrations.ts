// hub.db's rollouts tables (docs/rollouts.md): the migrations that made them and grew them. The rows they
// hold are read and written by rollouts-repo.ts.
import type { Migration } from './migrations.js';

/** hub.db migration 10: rollouts (their state machine, one row each) and each one's devices. */
export const ROLLOUTS_MIGRATION: Migration = {
  version: 10,
  name: 'rollouts and their devices',
  sql: `
    CREATE TABLE rollouts (
      id TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      version TEXT NOT NULL,
      from_version TEXT,
      target TEXT NOT NULL,
      waves TEXT NOT NULL,
      gates TEXT NOT NULL,
      advance TEXT NOT NULL,
      on_failure TEXT NOT NULL,
      state TEXT NOT NULL,
      current_wave INTEGER NOT NULL,
      progress TEXT NOT NULL,
      deployment_id INTEGER,
      reason TEXT NOT NULL,
      state_reason TEXT,
      created_by TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX rollouts_by_state ON rollouts(state);
    CREATE TABLE rollout_devices (
      rollout_id TEXT NOT NULL REFERENCES rollouts(id),
      device_id TEXT NOT NULL REFERENCES devices(id),
      place REAL NOT NULL,
      previous TEXT,
      notified_at TEXT,
      PRIMARY KEY (rollout_id, device_id)
    );
  `,
};

/** hub.db migration 14: a rollout's maintenance window, given to the deployment it grows (docs/rollouts.md). */
export const ROLLOUT_WINDOW_MIGRATION: Migration = {
  version: 14,
  name: 'maintenance window of a rollout',
  sql: 'ALTER TABLE rollouts ADD COLUMN maintenance TEXT;',
};

/**
 * hub.db migration 81: a rollout's revision, so a save of a rollout loaded before another hub's step or
 * operator action saved it is refused (several hubs, docs/decisions/0041-several-hubs.md).
 */
export const ROLLOUT_REVISION_MIGRATION: Migration = {
  version: 81,
  name: 'revision of a rollout (several hubs)',
  sql: 'ALTER TABLE rollouts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;',
};

/**
 * hub.db migration 90: configuration rollouts (docs/decisions/0045-config-rollouts-and-replay-gate.md): the
 * scope and document versions a rollout rolls, and each device's agent start count when it was told.
 */
export const ROLLOUT_CONFIG_MIGRATION: Migration = {
  version: 90,
  name: 'configuration rollouts',
  sql: 'ALTER TABLE rollouts ADD COLUMN config TEXT; ALTER TABLE rollout_devices ADD COLUMN starts INTEGER;',
};

/** hub.db migration 95: who made a rollout's last state change (an operator, or `hub` for the engine's own) and when. */
export const ROLLOUT_STATE_BY_MIGRATION: Migration = {
  version: 95,
  name: 'who changed a rollout\'s state',
  sql: 'ALTER TABLE rollouts ADD COLUMN state_by TEXT; ALTER TABLE rollouts ADD COLUMN state_at TEXT;',
};
