// hub.db's rollup tables (docs/decisions/0023-rollups.md): the migrations that made them and grew them.
// The rows they hold are written by rollups-writer.ts and read by rollups-repo.ts.
import type { Migration } from './migrations.js';

/** A rollup's values, the same in a device's row and the fleet's (the sum of its hour's or day's device rows). */
const VALUE_COLUMNS = `windows INTEGER NOT NULL,
      count INTEGER NOT NULL,
      err_model INTEGER NOT NULL,
      err_input INTEGER NOT NULL,
      err_load INTEGER NOT NULL,
      errors TEXT NOT NULL,
      dist BLOB NOT NULL,
      mom BLOB NOT NULL,
      lat BLOB NOT NULL`;

/** hub.db migration 20: rollups per device and the fleet's, each of a series (a model version and its layout). */
export const ROLLUPS_MIGRATION: Migration = {
  version: 20,
  name: 'hourly and daily rollups per model version and device',
  sql: `
    CREATE TABLE rollup_series (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      model TEXT NOT NULL,
      version TEXT NOT NULL,
      layout TEXT NOT NULL,
      UNIQUE (model, version)
    );
    -- A rowid table: a row of 1-2 KB stays on its page (a WITHOUT ROWID row over ~1 KB spills into
    -- overflow pages that every scan then reads).
    CREATE TABLE rollups (
      id INTEGER PRIMARY KEY,
      series INTEGER NOT NULL,
      grain INTEGER NOT NULL,
      start INTEGER NOT NULL,
      device_id TEXT NOT NULL,
      ${VALUE_COLUMNS}
    );
    CREATE UNIQUE INDEX rollups_key ON rollups(series, grain, start, device_id);
    -- The whole fleet's rollup of a version per hour and day: the sum of that hour's (day's) device
    -- rows, written by the first query that needs it and deleted by every ingest transaction that
    -- changes the hour (day), so it is either absent or exact.
    CREATE TABLE rollup_fleet (
      id INTEGER PRIMARY KEY,
      series INTEGER NOT NULL,
      grain INTEGER NOT NULL,
      start INTEGER NOT NULL,
      ${VALUE_COLUMNS}
    );
    CREATE UNIQUE INDEX rollup_fleet_key ON rollup_fleet(series, grain, start);
  `,
};

/**
 * A migration adding `columns` (name and type) to both rollup tables: a fleet row is the sum of its
 * hour's (day's) device rows and carries what they carry.
 */
function bothTables(version: number, name: string, columns: readonly string[]): Migration {
  return { version, name, sql: ['rollups', 'rollup_fleet'].flatMap((t) => columns.map((c) => `ALTER TABLE ${t} ADD COLUMN ${c};`)).join('\n') };
}

/**
 * Labels and CBPE in rollups (docs/drift.md "Accuracy"): one more blob per rollup, the perf vector of
 * rollups/values.ts, NULL while a rollup has none (every rollup written before this migration).
 */
export const ROLLUPS_PERF_MIGRATION = bothTables(22, 'rollups: labels, confusion counts and confidence sums', ['perf BLOB']);

/**
 * The span each rollup's windows cover (the first one's start, the last one's end, ms), which the
 * request rate of a version is over (docs/decisions/0117-rate-over-reported-span.md). NULL in rows
 * written before: those read their own hour (day) instead (`SPAN_COLUMNS`, rollups-writer.ts).
 */
export const ROLLUPS_SPAN_MIGRATION = bothTables(85, 'rollups: the first window start and last window end of each rollup', ['first_ms INTEGER', 'last_ms INTEGER']);

/**
 * The summed length of each rollup's windows (ms): the time its devices served, gaps between windows
 * left out, which a version's request rate is over (docs/decisions/0117-rate-over-reported-span.md,
 * addendum). NULL in rows written before: those read their span instead (`SPAN_COLUMNS`, rollups-writer.ts).
 */
export const ROLLUPS_ACTIVE_MIGRATION = bothTables(100, 'rollups: the summed window length of each rollup', ['active_ms INTEGER']);
