// Opens the hub's database — hub.db (SQLite, WAL, the default) or a PostgreSQL database
// (docs/decisions/0040-postgresql.md) — and applies the numbered migrations that are not yet
// applied, each in its own transaction, recording them in schema_migrations.
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AppError, MIGRATION_VERSION_COLUMN as VERSION_COL, WAL_SIZE_LIMIT, ensurePrivateDbFile, schemaTooNew as tooNew, sqliteFile, type SqliteFile, type UnknownMigration } from '@edgefleet/shared';
import { HUB_VERSION } from '../version.js';
import type { Migration } from './migrations.js';
import type { HubDb } from './hub-db.js';
import { MIGRATION_STATEMENT_MS, PgDb, PgDbError, type PgOptions } from './pg/facade.js';

export type Db = HubDb;

/** A `--database` value that names a PostgreSQL server rather than hub.db. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export interface OpenDbOptions {
  /**
   * Other processes write this file too (several hubs, docs/hub.md "Several hubs"): every transaction
   * begins IMMEDIATE, so it waits (busy_timeout) for another process's write instead of failing with
   * SQLITE_BUSY when a read inside it would have to become a write after that process committed.
   */
  shared?: boolean;
  /** Told before each migration applied to a database that had some already (an upgrade), docs/cli.md "Progress". */
  onMigration?: MigrationNote | undefined;
}

/** What a start that upgrades the database is told before each migration: which, and how far along. */
export type MigrationNote = (m: Pick<Migration, 'version' | 'name'>, step: { index: number; pending: number }) => void;

/** A log line before each migration of an upgrade (the hub's log, one line a step: a big database takes a while). */
export function migrationLog(logger: { info(o: object, msg: string): void } | undefined): MigrationNote | undefined {
  return logger && ((m, step) => logger.info({ migration: m.version, name: m.name, step: step.index, of: step.pending }, `applying migration ${m.version} (${m.name}), ${step.index} of ${step.pending}: the hub starts once they are applied`));
}

/** The ways back from a hub.db that cannot be used, and what each costs (every refusal of the file ends with it). */
export function hubDbWayBack(path: string): string {
  return `Restore a backup of it (edgefleet-hub restore --from DIR --data-dir NEW, docs/operations.md "Backup and restore"), `
    + `or move it aside (mv ${path} ${path}.damaged, with its -wal and -shm files) and start again: the hub then starts as a new `
    + 'one, without its devices, models, deployments, tokens and audit (every device enrolled again)';
}

/** hub.db's checks and creation (shared/src/db-file.ts): also used by `edgefleet-hub backup` on the file it copies. */
export const hubDb: SqliteFile<Database.Database> = sqliteFile({ program: 'hub', open: (path) => new Database(path), wayBack: hubDbWayBack });

/**
 * Opens hub.db, made whole first when there is none (docs/decisions/0151-agent-db-made-whole-before-named.md, "The hub
 * too"): built under hub.db.new-PID with every migration and in WAL mode, then linked to its name, so a hub.db found
 * without tables (0 bytes: a copy or restore that did not finish, a full disk, fsck) is refused as IO_ERROR, left as it
 * was, instead of making the hub a new one. Hubs opening a new hub.db at once (several hubs) each build their own: the
 * first link wins and the others open its file (the link never replaces one).
 */
export function openDb(file: string, migrations: readonly Migration[], opts: OpenDbOptions = {}): Db {
  refuseNoDir(file);
  hubDb.refuseNotAFile(file);
  if (!existsSync(file)) {
    hubDb.createWhole(file, (db) => {
      db.pragma('foreign_keys = ON');
      migrate(db, migrations);
      db.pragma('journal_mode = WAL'); // in the file's header: the hubs that open it need not switch it
    });
  }
  ensurePrivateDbFile(file);
  const db = new Database(file);
  try {
    hubDb.refuseEmpty(db, file);
    db.pragma('busy_timeout = 5000');
    // Refused before anything about the file changes, not even its journal mode (docs/operations.md "Upgrades").
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get()) refuseNewer(db, migrations);
    walMode(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // A reset WAL is cut back to this size; the store's WalKeeper truncates it once a long reader has gone.
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    if (opts.shared) beginImmediate(db);
    migrate(db, migrations, opts.onMigration);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * A database file whose directory is missing or a file (Store.open's `database` given a file path; DATA is made
 * before): CONFIG_INVALID naming both, instead of readdir's bare ENOENT or stat's ENOTDIR. Its directories are not
 * made: a path with a typo would start a new hub elsewhere.
 */
function refuseNoDir(file: string): void {
  const dir = dirname(file);
  let what: string | null = null;
  try {
    if (!statSync(dir).isDirectory()) what = 'is a file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') what = 'does not exist';
    else if (code === 'ENOTDIR') what = 'is below a file';
    else throw err;
  }
  if (what === null) return;
  throw new AppError('CONFIG_INVALID', `database file ${file}: its directory ${dir} ${what}: `
    + 'expected an existing directory for it (the hub makes the file, not the directories above it)', { details: { path: file } });
}

/** How long opening waits for another process that is switching the same new file to WAL. */
const WAL_SWITCH_WAIT_MS = 5000;

/**
 * Puts the file in WAL mode. Hubs opening a new hub.db at once (docs/hub.md "Several hubs") each switch
 * it, which needs the file to themselves, and SQLite answers SQLITE_BUSY at once there, without its busy
 * timeout: retried for up to WAL_SWITCH_WAIT_MS.
 */
function walMode(db: Database.Database): void {
  const deadline = Date.now() + WAL_SWITCH_WAIT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/** Makes db.transaction(fn)() begin IMMEDIATE (its .deferred variant stays available); nested calls are savepoints as before. */
function beginImmediate(db: Database.Database): void {
  const make = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const t = make(fn);
    return Object.assign((...args: never[]) => t.immediate(...args), { default: t.immediate, deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive });
  }) as Database.Database['transaction'];
}

/** Opens a PostgreSQL database (postgres://user@host:port/db) through the synchronous facade and migrates it. */
export function openPgDb(url: string, migrations: readonly Migration[], opts: PgOptions = {}, onMigration?: MigrationNote): Db {
  const db = new PgDb(url, opts);
  try {
    migrate(db, migrations, onMigration);
    return db;
  } catch (err) {
    db.close();
    throw tablesRefused(db.name, err);
  }
}

/**
 * The server refusing to take the hub's tables: no CREATE on the schema (42501: PostgreSQL 15 grants it on
 * `public` to the database's owner only) or a read-only server (25006: a standby). Named with what to do,
 * instead of PostgreSQL's words alone as INTERNAL.
 */
function tablesRefused(name: string, err: unknown): unknown {
  if (!(err instanceof PgDbError) || (err.pgCode !== '42501' && err.pgCode !== '25006')) return err;
  return new AppError('DATABASE_UNAVAILABLE', `cannot set up the hub's tables in the PostgreSQL database ${name}: ${err.message}. `
    + 'Expected a database the URL\'s user owns (createdb -O USER …, or ALTER DATABASE … OWNER TO USER) on a server that takes writes '
    + '(not a standby) (docs/operations.md "Running on PostgreSQL")', { cause: err });
}

/**
 * The migration lock of PostgreSQL, held to the transaction's end. Another hub's migrations may hold it for
 * longer than a statement waits for a lock (LOCK_TIMEOUT_MS): waited for without a lock_timeout.
 */
const MIGRATION_LOCK = 'SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock(7710150)';

/**
 * Applies every migration of `migrations` not yet recorded, in ascending order, each in its own
 * transaction; returns the versions applied. Versions are pre-assigned per part (docs/hub.md), so an
 * unapplied lower version is applied even when a higher one is recorded. A database holding a version
 * this program does not know was written by a newer hub: it is refused (SCHEMA_TOO_NEW) before anything changes.
 * On PostgreSQL a migration's SQL is translated (store/pg/dialect.ts) unless it carries a `postgres` override.
 */
export function migrate(db: Db, migrations: readonly Migration[], onMigration?: MigrationNote): number[] {
  const pg = db instanceof PgDb ? db : null;
  const table = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;
  // Under the migration lock on PostgreSQL: of two hubs creating it at once on a new database, the second
  // failed with a duplicate key in pg_type once the first committed (store/pg/migrate-race.test.ts).
  if (pg) pg.slowTransaction(MIGRATION_STATEMENT_MS, () => pg.execNative(MIGRATION_LOCK).exec(table));
  else db.exec(table);
  const applied = new Set(refuseNewer(db, migrations));
  // Which hub applied each migration, so an older hub's refusal names it (docs/operations.md "Upgrades").
  if (pg) pg.slowTransaction(MIGRATION_STATEMENT_MS, () => pg.execNative(MIGRATION_LOCK).execNative(`ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS ${VERSION_COL} TEXT`));
  else if (!db.prepare('SELECT 1 FROM pragma_table_info(\'schema_migrations\') WHERE name = ?').get(VERSION_COL)) {
    // Hubs started at once on one file (several hubs on SQLite) may both find it missing: one adds it.
    try {
      db.exec(`ALTER TABLE schema_migrations ADD COLUMN ${VERSION_COL} TEXT`);
    } catch (err) {
      if (!/duplicate column name/.test(String(err))) throw err;
    }
  }
  const done: number[] = [];
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
  for (const [index, m] of pending.entries()) {
    // A new database's migrations are its creation, not news; an upgrade's may take long on a big one: said first.
    if (applied.size > 0) onMigration?.(m, { index: index + 1, pending: pending.length });
    // Checked again inside: another hub process opening the same database may have applied it meanwhile
    // (SQLite shared: the transaction begins IMMEDIATE; PostgreSQL: an advisory lock held to its commit).
    const apply = (): boolean => {
      if (pg) pg.execNative(MIGRATION_LOCK);
      if (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)) return false;
      if (pg && m.postgres !== undefined) pg.execNative(m.postgres);
      else db.exec(m.sql);
      db.prepare(`INSERT INTO schema_migrations (version, name, applied_at, ${VERSION_COL}) VALUES (?, ?, ?, ?)`).run(m.version, m.name, new Date().toISOString(), HUB_VERSION);
      return true;
    };
    // On PostgreSQL a migration's statements may run longer than the hub's own (MIGRATION_STATEMENT_MS).
    const ran = pg ? pg.slowTransaction(MIGRATION_STATEMENT_MS, apply) : db.transaction(apply)();
    if (ran) done.push(m.version);
  }
  return done;
}

/** The versions recorded in schema_migrations; throws SCHEMA_TOO_NEW when one is not in `migrations`. Reads only. */
function refuseNewer(db: Db, migrations: readonly Migration[]): number[] {
  const unknown = unknownMigrations(db, migrations);
  if (unknown.length > 0) throw tooNew(db instanceof PgDb ? 'the hub\'s PostgreSQL database' : 'hub.db', 'hub', db.name, unknown, HUB_VERSION);
  return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version);
}

/** The migrations recorded in `db` (hub.db, a backup's, the PostgreSQL database) that `migrations` lacks, with the hub version that applied each when recorded. Reads only. */
export function unknownMigrations(db: Pick<Db, 'prepare'>, migrations: readonly Migration[]): UnknownMigration[] {
  const rows = db.prepare('SELECT * FROM schema_migrations ORDER BY version').all() as Array<{ version: number; name: string; [VERSION_COL]?: string | null }>;
  const known = new Set(migrations.map((m) => m.version));
  return rows.filter((r) => !known.has(r.version)).map((r) => ({ id: r.version, name: r.name, programVersion: r[VERSION_COL] ?? null }));
}

export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}


