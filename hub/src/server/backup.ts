// `edgefleet-hub backup` and `edgefleet-hub restore` (docs/operations.md "Backup and restore",
// docs/decisions/0020-backup-and-schema-refusal.md). A backup is taken while the hub runs: hub.db
// through SQLite's online backup API (better-sqlite3's db.backup(), a consistent snapshot while the
// hub keeps writing), then the blob files the snapshot's `blobs` table lists (content-addressed,
// written before their row and never changed, so every listed blob exists), then the other files of
// the data dir (trust.json, hub.key, admin.token, ...). backup.json lists every file with its sha256.
// Restore checks everything before it writes: the listed hashes, SQLite's integrity check, a schema
// this hub knows (SCHEMA_TOO_NEW otherwise); then fills an empty data dir. The hub migrates an older
// backup forward when it starts on it.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AppError, ensurePrivateDir, schemaTooNew } from '@edgefleet/shared';
import { optString, reqString, type CliContext, type Command } from '@edgefleet/shared/cli';
import { HUB_MIGRATIONS } from '../schema.js';
import { HUB_VERSION } from '../version.js';

export const BACKUP_FORMAT = 1;
const DB_FILES = new Set(['hub.db', 'hub.db-wal', 'hub.db-shm', 'hub.db-journal']);

export interface BackupFile {
  /** Relative to the data dir, '/'-separated. */
  path: string;
  size: number;
  sha256: string;
}

export interface BackupManifest {
  format: number;
  hubVersion: string;
  createdAt: string;
  /** Migration versions recorded in the backed-up hub.db. */
  schema: number[];
  files: BackupFile[];
}

function sha256File(path: string): { sha256: string; size: number } {
  const bytes = readFileSync(path);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/** An absent or empty directory, made private (0700); anything else is refused. */
function emptyPrivateDir(dir: string, what: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new AppError('CONFLICT', `${what} ${dir} is a file: expected a new or empty directory`);
    if (readdirSync(dir).length > 0) throw new AppError('CONFLICT', `${what} ${dir} is not empty: expected a new or empty directory (nothing is overwritten)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  ensurePrivateDir(dir);
}

/** Backups and restored data dirs hold the hub key and the device secrets' hashes: 0600 files in 0700 dirs. */
function copyPrivate(src: string, dst: string): void {
  mkdirSync(dirname(dst), { recursive: true, mode: 0o700 });
  copyFileSync(src, dst);
  chmodSync(dst, 0o600);
}

/** Every file under `dir` except hub.db itself, blob files (copied by the table) and staging temp files. */
function otherFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(base, p).split('\\').join('/');
    if (rel === 'blobs/sha256' || rel === 'blobs/tmp' || (dir === base && DB_FILES.has(name))) continue;
    const st = statSync(p);
    if (st.isDirectory()) otherFiles(p, base, out);
    else if (st.isFile()) out.push(rel);
  }
  return out;
}

function schemaOf(db: Database.Database): Array<{ version: number; name: string }> {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) throw new AppError('NOT_FOUND', `${db.name} has no schema_migrations table: not a hub database`);
  return db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as Array<{ version: number; name: string }>;
}

/** Backs up the hub data dir `dataDir` (the hub may be running) into the new or empty directory `out`. */
export async function backupHub(dataDir: string, out: string, now: Date = new Date()): Promise<BackupManifest> {
  const dbFile = join(dataDir, 'hub.db');
  if (!existsSync(dbFile)) {
    throw new AppError('NOT_FOUND', `${dbFile} does not exist: expected the data dir of a hub (--data-dir). A hub on PostgreSQL (--database) is backed up with pg_dump and a copy of its data dir (docs/operations.md "Running on PostgreSQL")`);
  }
  const rel = relative(resolve(dataDir), resolve(out));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new AppError('CONFLICT', `--out ${out} is inside the data dir ${dataDir}: expected a directory outside it (the backup would copy itself and every earlier backup)`);
  }
  emptyPrivateDir(out, '--out');
  const files: BackupFile[] = [];
  // 1. hub.db: SQLite's online backup API gives one consistent state of the database while the hub runs.
  const src = new Database(dbFile, { fileMustExist: true });
  let schema: number[];
  let blobs: Array<{ sha256: string; size: number }>;
  try {
    src.pragma('busy_timeout = 5000');
    // All remaining pages in one step, in one read transaction: under WAL the hub keeps writing meanwhile,
    // and the copy never restarts (small steps restart whenever another process writes between them,
    // which a busy hub does every few milliseconds).
    await src.backup(join(out, 'hub.db'), { progress: (p) => p.totalPages });
  } finally {
    src.close();
  }
  chmodSync(join(out, 'hub.db'), 0o600);
  const snap = new Database(join(out, 'hub.db'), { readonly: true });
  try {
    schema = schemaOf(snap).map((r) => r.version);
    blobs = snap.prepare('SELECT sha256, size FROM blobs ORDER BY sha256').all() as Array<{ sha256: string; size: number }>;
  } finally {
    snap.close();
  }
  files.push({ path: 'hub.db', ...sha256File(join(out, 'hub.db')) });
  // 2. The blobs the snapshot lists, each checked against its name while copied.
  for (const b of blobs) {
    const rel = `blobs/sha256/${b.sha256.slice(0, 2)}/${b.sha256}`;
    const from = join(dataDir, rel);
    if (!existsSync(from)) throw new AppError('IO_ERROR', `${from} is missing although hub.db lists blob ${b.sha256}: the data dir is damaged`);
    copyPrivate(from, join(out, rel));
    const got = sha256File(join(out, rel));
    if (got.sha256 !== b.sha256 || got.size !== b.size) throw new AppError('HASH_MISMATCH', `${from}: sha256 ${got.sha256} (${got.size} bytes), expected ${b.sha256} (${b.size} bytes) as hub.db lists: the data dir is damaged`);
    files.push({ path: rel, ...got });
  }
  // 3. Everything else in the data dir (trust, keys, the admin token, other parts' files).
  for (const rel of otherFiles(dataDir)) {
    copyPrivate(join(dataDir, rel), join(out, rel));
    files.push({ path: rel, ...sha256File(join(out, rel)) });
  }
  const manifest: BackupManifest = { format: BACKUP_FORMAT, hubVersion: HUB_VERSION, createdAt: now.toISOString(), schema, files };
  writeFileSync(join(out, 'backup.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

function readManifest(from: string): BackupManifest {
  const file = join(from, 'backup.json');
  if (!existsSync(file)) throw new AppError('NOT_FOUND', `${file} does not exist: expected a directory written by edgefleet-hub backup`);
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `${file}: not JSON (${(err as Error).message})`);
  }
  if (m?.format !== BACKUP_FORMAT || !Array.isArray(m.files)) throw new AppError('UNSUPPORTED_VERSION', `${file}: backup format ${String(m?.format)}, expected ${BACKUP_FORMAT}`);
  for (const f of m.files) {
    if (typeof f?.path !== 'string' || f.path.split('/').some((s) => s === '..' || s === '') || f.path.startsWith('/')) {
      throw new AppError('PATH_TRAVERSAL', `${file}: file path ${JSON.stringify(f?.path)} is not a relative path inside the backup`);
    }
  }
  return m;
}

/** Checks the backup in `from` completely, then fills the new or empty data dir `dataDir` from it. */
export function restoreHub(from: string, dataDir: string): BackupManifest {
  const m = readManifest(from);
  if (!m.files.some((f) => f.path === 'hub.db')) throw new AppError('NOT_FOUND', `${from}/backup.json lists no hub.db`);
  for (const f of m.files) {
    const p = join(from, f.path);
    if (!existsSync(p)) throw new AppError('NOT_FOUND', `${p} is missing: the backup is incomplete`);
    const got = sha256File(p);
    if (got.sha256 !== f.sha256 || got.size !== f.size) throw new AppError('HASH_MISMATCH', `${p}: sha256 ${got.sha256} (${got.size} bytes), expected ${f.sha256} (${f.size} bytes) from backup.json: the backup is damaged`);
  }
  const db = new Database(join(from, 'hub.db'), { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new AppError('IO_ERROR', `${from}/hub.db fails SQLite's integrity check: ${String(check)}`);
    const known = new Set(HUB_MIGRATIONS.map((x) => x.version));
    const unknown = schemaOf(db).filter((r) => !known.has(r.version));
    if (unknown.length > 0) throw schemaTooNew('hub.db', 'hub', join(from, 'hub.db'), unknown.map((r) => ({ id: r.version, name: r.name })));
  } finally {
    db.close();
  }
  emptyPrivateDir(dataDir, '--data-dir');
  // Staged inside the target, then moved into place: a failed copy leaves no half data dir behind.
  const staging = join(dataDir, '.restoring');
  mkdirSync(staging, { mode: 0o700 });
  try {
    for (const f of m.files) copyPrivate(join(from, f.path), join(staging, f.path));
    for (const name of readdirSync(staging)) renameSync(join(staging, name), join(dataDir, name));
  } catch (err) {
    for (const name of readdirSync(dataDir)) rmSync(join(dataDir, name), { recursive: true, force: true });
    throw err;
  }
  rmSync(staging, { recursive: true, force: true });
  return m;
}

export const backupCommand: Command = {
  summary: 'back up a hub data dir while the hub runs: hub.db (SQLite online backup), blobs, keys and trust',
  details:
    'Writes hub.db, the blob files it lists, the other files of the data dir and backup.json (every file\n'
    + 'with its sha256) into --out, a new or empty directory (0700: it holds the hub key if the data dir does).\n'
    + 'Restore it with `edgefleet-hub restore`. See docs/operations.md "Backup and restore".',
  options: {
    'data-dir': { type: 'string', required: true, value: 'DIR', description: 'the hub\'s data directory (the hub may be running)' },
    out: { type: 'string', required: true, value: 'DIR', description: 'a new or empty directory for the backup' },
    database: { type: 'string', value: 'URL', description: 'refused: a hub on PostgreSQL is backed up with pg_dump (docs/operations.md)' },
  },
  async run(args, ctx: CliContext) {
    if (optString(args, 'database') !== undefined) {
      throw new AppError('INVALID_INPUT', 'backup copies hub.db (SQLite); a hub on PostgreSQL (--database) is backed up with pg_dump -Fc plus a copy of its data dir (blobs, keys, trust): see docs/operations.md "Running on PostgreSQL"');
    }
    const out = resolve(ctx.cwd, reqString(args, 'out'));
    const m = await backupHub(resolve(ctx.cwd, reqString(args, 'data-dir')), out, ctx.now());
    const bytes = m.files.reduce((s, f) => s + f.size, 0);
    ctx.stdout.write(`backed up ${m.files.length} files (${bytes} bytes, schema ${m.schema.join(',')}) to ${out}\n`);
    return 0;
  },
};

export const restoreCommand: Command = {
  summary: 'restore a backup into a new or empty data dir, after checking every file and the schema',
  details:
    'Checks every file against backup.json, hub.db with SQLite\'s integrity check, and that this hub knows\n'
    + 'its schema (a backup from a newer hub is refused with SCHEMA_TOO_NEW), then fills --data-dir.\n'
    + 'Start the hub on it as usual; a backup from an older hub is migrated at that start.',
  options: {
    from: { type: 'string', required: true, value: 'DIR', description: 'a directory written by edgefleet-hub backup' },
    'data-dir': { type: 'string', required: true, value: 'DIR', description: 'the new or empty data directory to fill' },
  },
  async run(args, ctx: CliContext) {
    const dataDir = resolve(ctx.cwd, reqString(args, 'data-dir'));
    const m = restoreHub(resolve(ctx.cwd, reqString(args, 'from')), dataDir);
    ctx.stdout.write(`restored ${m.files.length} files (backup of ${m.createdAt} by hub ${m.hubVersion}, schema ${m.schema.join(',')}) into ${dataDir}\n`);
    return 0;
  },
};
