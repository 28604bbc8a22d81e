// agent.db: one SQLite file (WAL, synchronous=FULL so an acknowledged switch of
// the active model survives a power cut) with numbered migrations recorded in
// a `migrations` table. Other parts (summaries, sync) export their migrations
// and the composition root (agent.ts) passes them in: store/ depends on nothing above it.
import type BetterSqlite3 from 'better-sqlite3';
import { AppError, MIGRATION_VERSION_COLUMN as VERSION_COL, WAL_SIZE_LIMIT, ensurePrivateDbFile, ensurePrivateDir, schemaTooNew } from '@edgefleet/shared/core';
import { AGENT_VERSION } from '../version.js';
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { createWhole, refuseEmpty, refuseNotAFile, wayBack } from './db-file.js';
import { Database } from './sqlite.js';

export type Db = BetterSqlite3.Database;

/** WAL bytes a reset WAL is cut back to (PRAGMA journal_size_limit). */
export const JOURNAL_SIZE_LIMIT = WAL_SIZE_LIMIT;

export interface Migration {
  /** Unique, applied in ascending order; 1–99 core, 100–199 summaries, 200+ sync. */
  id: number;
  name: string;
  up(db: Db): void;
}

export const coreMigration: Migration = {
  id: 1,
  name: 'core: trust, models, active versions, events, kv',
  up(db) {
    db.exec(`
      CREATE TABLE trust (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        document TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE model_versions (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        manifest TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        signatures TEXT NOT NULL,
        installed_at TEXT NOT NULL,
        PRIMARY KEY (name, version)
      );
      CREATE TABLE active_models (
        name TEXT PRIMARY KEY,
        active_version TEXT NOT NULL,
        previous_version TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        model TEXT,
        version TEXT,
        code TEXT,
        message TEXT NOT NULL,
        data TEXT
      );
      CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  },
};

/**
 * Opens (creating) the database and applies every migration not yet applied, each in its own
 * transaction. `migrations` is the whole program's list (core plus what each part registers).
 */
export function openDb(path: string, migrations: readonly Migration[]): Db {
  // The data dir (with credentials.json) 0700 and agent.db with its -wal/-shm 0600, tightened if looser.
  ensurePrivateDir(dirname(path));
  refuseNotAFile(path);
  // Made whole before it has its name, so an agent.db found without tables is refused (db-file.ts).
  if (!existsSync(path)) createWhole(path, (db) => migrate(db, migrations));
  ensurePrivateDbFile(path);
  let db: Db;
  try {
    db = new Database(path);
  } catch (err) {
    throw damagedDb(err, path);
  }
  try {
    refuseEmpty(db, path);
    // Refused before anything about the file changes, not even its journal mode (docs/operations.md "Upgrades").
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").get()) refuseNewer(db, migrations);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // A reset WAL is cut back to this size (store/wal.ts truncates it once a long reader has gone).
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw damagedDb(err, path);
  }
}

/**
 * SQLite's "database disk image is malformed" / "file is not a database" as an IO_ERROR that names the file
 * and the way back (docs/agent.md "Database"); anything else passes as it is. The daemon's start maps
 * what it reads later the same way (main.ts).
 */
export function damagedDb(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'SQLITE_CORRUPT' && code !== 'SQLITE_NOTADB') return err;
  return new AppError('IO_ERROR', `${path} is damaged (${code}: ${(err as Error).message}): expected the SQLite database the agent `
    + `wrote. ${wayBack(path)}`, { cause: err });
}

/**
 * Applies every migration not yet recorded, in ascending id order. Refuses (SCHEMA_TOO_NEW) a database
 * that records an id this program's list lacks: a newer agent wrote it (docs/operations.md "Upgrades").
 */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const ids = new Set<number>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`migration id ${m.id} is used twice (${m.name})`);
    ids.add(m.id);
  }
  const applied = new Set(refuseNewer(db, migrations));
  // Which agent applied each migration, so an older agent's refusal names it (docs/operations.md "Upgrades").
  // Checked again under the write lock: a command (status) may open agent.db as the daemon starts.
  db.transaction(() => {
    if (!db.prepare('SELECT 1 FROM pragma_table_info(\'migrations\') WHERE name = ?').get(VERSION_COL)) db.exec(`ALTER TABLE migrations ADD COLUMN ${VERSION_COL} TEXT`);
  }).immediate();
  for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      m.up(db);
      db.prepare(`INSERT INTO migrations (id, name, applied_at, ${VERSION_COL}) VALUES (?, ?, ?, ?)`).run(m.id, m.name, new Date().toISOString(), AGENT_VERSION);
    })();
  }
}

/**
 * The ids recorded in the migrations table. A migration this agent does not know was applied by a newer
 * agent: SCHEMA_TOO_NEW, thrown before anything changes (this reads only).
 */
function refuseNewer(db: Db, migrations: readonly Migration[]): number[] {
  const ids = new Set(migrations.map((m) => m.id));
  const rows = db.prepare('SELECT * FROM migrations ORDER BY id').all() as Array<{ id: number; name: string; [VERSION_COL]?: string | null }>;
  const unknown = rows.filter((r) => !ids.has(r.id)).map((r) => ({ id: r.id, name: r.name, programVersion: r[VERSION_COL] ?? null }));
  if (unknown.length > 0) throw schemaTooNew('agent.db', 'agent', db.name, unknown, AGENT_VERSION);
  return rows.map((r) => r.id);
}
