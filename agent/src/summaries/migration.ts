// SQL for the summary windows, the outbox the sync sends from, and the batch
// jobs' processed-files ledger: migration 100, registered by the composition root (agent.ts).
// Every statement is idempotent (IF NOT EXISTS) so a CLI can ensure the tables
// on a data dir opened read-mostly without running the whole migrator.

import type Database from 'better-sqlite3';

export interface SqlMigration {
  id: number;
  name: string;
  sql: string;
  up(db: Database.Database): void;
}

const SQL = `
CREATE TABLE IF NOT EXISTS summary_windows (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  length_sec INTEGER NOT NULL,
  resolution TEXT NOT NULL CHECK (resolution IN ('minute', 'hour', 'day')),
  count INTEGER NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS summary_windows_by_time ON summary_windows (resolution, start_ms);
CREATE INDEX IF NOT EXISTS summary_windows_by_model ON summary_windows (model, version, start_ms);

CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('window', 'event')),
  payload TEXT NOT NULL,
  created TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS processed_files (
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  job TEXT NOT NULL,
  output TEXT NOT NULL,
  rows INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  processed_at TEXT NOT NULL,
  PRIMARY KEY (path, size, mtime_ms, sha256)
);
`;

/** id 100 (store/db.ts reserves 100–199 for summaries). */
export const summariesMigration: SqlMigration = {
  id: 100,
  name: 'summaries, outbox, processed files',
  sql: SQL,
  up(db) {
    db.exec(SQL);
  },
};

// The open windows' checkpoint (docs/agent-summaries.md "Crashes"): the recorder replaces these
// rows every summaries.checkpointSec and in the same transaction as every closed-window write, and
// the agent turns what it finds here at start into closed windows, so a kill -9 loses seconds.
const OPEN_SQL = `
CREATE TABLE IF NOT EXISTS open_windows (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  json TEXT NOT NULL,
  saved_at TEXT NOT NULL
);
`;

/** id 101: the open windows' checkpoint (an agent.db from before it gets the table on open). */
export const openWindowsMigration: SqlMigration = {
  id: 101,
  name: 'summaries: open window checkpoints',
  sql: OPEN_SQL,
  up(db) {
    db.exec(OPEN_SQL);
  },
};

// Retention finds the outbox windows it may merge by their start and length (retention-groups.ts): this
// index holds both for every window, so a pass reads the finer windows of ended periods only, not every
// unsent window (docs/performance.md "Retention passes"). The expressions are the ones its query uses.
export const OUTBOX_LEN = "json_extract(payload, '$.lengthSec')";
export const OUTBOX_START = "unixepoch(json_extract(payload, '$.start'))";
const OUTBOX_INDEX_SQL = `CREATE INDEX IF NOT EXISTS outbox_windows_by_start ON outbox (${OUTBOX_START}, ${OUTBOX_LEN}) WHERE kind = 'window';`;

/** id 102: the outbox windows by start and length (an agent.db from before gets the index on open). */
export const outboxWindowsMigration: SqlMigration = {
  id: 102,
  name: 'summaries: outbox windows by start and length',
  sql: OUTBOX_INDEX_SQL,
  up(db) {
    db.exec(OUTBOX_INDEX_SQL);
  },
};

/** Ensures the tables on a db opened without the agent's migrator (idempotent). */
export function ensureSummaryTables(db: Database.Database): void {
  db.exec(SQL);
  db.exec(OPEN_SQL);
  db.exec(OUTBOX_INDEX_SQL);
}
