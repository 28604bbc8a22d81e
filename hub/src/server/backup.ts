// `edgefleet-hub backup` (docs/operations.md "Backup and restore",
// docs/decisions/0020-backup-and-schema-refusal.md). Backup, while the hub runs: hub.db through SQLite's
// online backup API (one consistent snapshot), the blob files that snapshot lists (content-addressed,
// written before their row, never changed), then the other files of the data dir; backup.json (every file
// with its sha256) is written last, and a failed backup is removed. Files are streamed (a blob may be
// over 2 GiB), hashed while copied, and fsynced with their directories. `edgefleet-hub restore` is
// restore.ts; what both use (the backup format, the restore marker, the checks of a backup's hub.db) is here.
import { chmodSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AppError, copyFileHashed, formatBytes, ensurePrivateDir, refuseUnreadableDir, storageError, fsyncPath, fsyncTree, schemaTooNew, sha256File, writeFileAtomic } from '@edgefleet/shared';
import { optString, progressOn, quietProgress as quiet, reqString, type CliContext, type ParsedArgs, type Progress } from '@edgefleet/shared/cli';
import { HUB_MIGRATIONS } from '../schema.js';
import { hubDb, unknownMigrations } from '../store/db.js';
import { HUB_VERSION } from '../version.js';
import { KEPT_BLOBS_SQL } from '../store/bundle-drop.js';

export const BACKUP_FORMAT = 1;
const DB_FILES = new Set(['hub.db', 'hub.db-wal', 'hub.db-shm', 'hub.db-journal']);
/** In a data dir while a restore fills it; removed last. The hub refuses a dir that holds it. */
export const RESTORE_MARKER = 'restore-unfinished.json';
/** The dir inside the data dir a restore fills before moving its files into place (restore.ts). */
export const STAGING = '.restoring';
/**
 * A file being made right now: createFileOnce's `.NAME.tmp-PID-HEX` (sealing/file-once.ts: hub.key, admin.token
 * and content-keys.key at a first start, linked into place once written) and writeFileAtomic's
 * `NAME.tmp-PID-RANDOM` (hub.pub, trust.json; renamed into place). Never copied: it is gone a moment later
 * (a copy would fail on it), and the file it becomes is copied by a later backup.
 */
const IN_THE_MAKING = /\.tmp-\d+-[0-9a-z]+$/;

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

// What a long step reports its bytes to, and a step without bytes to count what it waits for (`note`: SQLite copying
// or checking hub.db), docs/cli.md "Progress": shared/src/cli/progress.ts.
export { progressOn, quietProgress as quiet, type Progress } from '@edgefleet/shared/cli';

/** The unfinished restore a data dir holds (its marker, or a staging dir left by an older restore), or null. */
export function unfinishedRestore(dataDir: string): { from: string; startedAt: string } | null {
  const marker = join(dataDir, RESTORE_MARKER);
  if (!existsSync(marker) && !existsSync(join(dataDir, STAGING))) return null;
  try {
    const m = JSON.parse(readFileSync(marker, 'utf8')) as { from?: unknown; startedAt?: unknown };
    if (typeof m.from === 'string' && typeof m.startedAt === 'string') return { from: m.from, startedAt: m.startedAt };
  } catch {
    // Killed while the marker was being written (or an older restore's staging dir): it is still unfinished.
  }
  return { from: 'BACKUP', startedAt: 'at an unknown time' };
}

/** Refuses anything but an absent or empty directory. */
export function checkEmptyDir(dir: string, what: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new AppError('CONFLICT', `${what} ${dir} is a file: expected a new or empty directory`);
  const u = unfinishedRestore(dir);
  if (u) throw new AppError('CONFLICT', `${what} ${dir} holds an unfinished restore (from ${u.from}, started ${u.startedAt}): empty it (remove everything in it) and run this restore again`);
  if (readdirSync(dir).length > 0) throw new AppError('CONFLICT', `${what} ${dir} is not empty: expected a new or empty directory (nothing is overwritten)`);
}

/** An absent or empty directory, made private (0700); anything else is refused. */
export function emptyPrivateDir(dir: string, what: string): void {
  checkEmptyDir(dir, what);
  ensurePrivateDir(dir, what);
}

/** HASH_MISMATCH naming the file, what it holds, what was expected and why. */
export const mismatch = (p: string, got: { sha256: string; size: number }, want: { sha256: string; size: number }, why: string) =>
  new AppError('HASH_MISMATCH', `${p}: sha256 ${got.sha256} (${got.size} bytes), expected ${want.sha256} (${want.size} bytes) ${why}`);

/** Every file under `dir` except hub.db itself, blob files (copied by the table), staging temp files and files being made. */
function otherFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(base, p).split('\\').join('/');
    if (rel === 'blobs/sha256' || rel === 'blobs/tmp' || (dir === base && DB_FILES.has(name)) || IN_THE_MAKING.test(name)) continue;
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

/** A backup's hub.db (in `from`): IO_ERROR when it fails SQLite's integrity check, SCHEMA_TOO_NEW when this hub does not know its schema. */
export function checkBackupDb(from: string): void {
  const db = new Database(join(from, 'hub.db'), { readonly: true, fileMustExist: true });
  try {
    let integrity: unknown;
    try {
      integrity = db.pragma('integrity_check', { simple: true });
    } catch (err) {
      // Not a database at all (SQLITE_NOTADB): was INTERNAL "file is not a database", naming nothing.
      integrity = (err as Error).message;
    }
    if (integrity !== 'ok') {
      throw new AppError('IO_ERROR', `${from}/hub.db fails SQLite's integrity check: ${String(integrity)}: expected the hub.db edgefleet-hub backup wrote (the backup is damaged: take another)`);
    }
    const unknown = unknownMigrations(db, HUB_MIGRATIONS);
    if (unknown.length > 0) throw schemaTooNew('hub.db', 'hub', join(from, 'hub.db'), unknown, HUB_VERSION);
  } finally {
    db.close();
  }
}

/** `p` with every symlink followed; the part that does not exist yet is appended to its nearest existing ancestor's real path. */
function realPath(p: string): string {
  let head = resolve(p);
  const tail: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    tail.unshift(basename(head));
    head = dirname(head);
  }
  return join(realpathSync(head), ...tail);
}

/** Backs up the hub data dir `dataDir` (the hub may be running) into the new or empty directory `out`. */
export async function backupHub(dataDir: string, out: string, now: Date = new Date(), progress: Progress = quiet): Promise<BackupManifest> {
  const dbFile = join(dataDir, 'hub.db');
  refuseUnreadableDir(dataDir); // the hub's 0700 dir, read as another user, is not "a dir without hub.db"
  if (!existsSync(dbFile)) {
    throw new AppError('NOT_FOUND', `${dbFile} does not exist: expected the data dir of a hub (--data-dir). A hub on PostgreSQL (--database) is backed up with pg_dump and a copy of its data dir (docs/operations.md "Running on PostgreSQL")`);
  }
  const u = unfinishedRestore(dataDir);
  if (u) throw new AppError('CONFLICT', `--data-dir ${dataDir} holds an unfinished restore (from ${u.from}, started ${u.startedAt}): expected a hub's data dir; finish the restore first`);
  // Compared with symlinks followed: a data dir reached through a link (/var/lib/edgefleet-hub -> /mnt/disk/hub)
  // holds an --out named by its real path, and an --out through a link may land inside the data dir.
  const rel = relative(realPath(dataDir), realPath(out));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new AppError('CONFLICT', `--out ${out} is inside the data dir ${dataDir}: expected a directory outside it (the backup would copy itself and every earlier backup)`);
  }
  const created = !existsSync(out);
  emptyPrivateDir(out, '--out');
  try {
    return await writeBackup(dataDir, out, now, progress);
  } catch (err) {
    // Nothing that looks like a backup is left: an --out this call made goes, a given one is emptied.
    if (created) rmSync(out, { recursive: true, force: true });
    else for (const name of readdirSync(out)) rmSync(join(out, name), { recursive: true, force: true });
    throw storageError(err, `backup: cannot write it to --out ${out}`, () => `room there for about ${bytesUnder(dataDir)} bytes, the data dir's size; nothing of the backup was kept`);
  }
}

/** The bytes of the files under `dir` (what a backup of it copies, about). */
function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

async function writeBackup(dataDir: string, out: string, now: Date, progress: Progress): Promise<BackupManifest> {
  const files: BackupFile[] = [];
  // 1. hub.db: SQLite's online backup API gives one consistent state of the database while the hub runs.
  const src = new Database(join(dataDir, 'hub.db'), { fileMustExist: true });
  let schema: number[];
  let blobs: Array<{ sha256: string; size: number }>;
  try {
    // An emptied hub.db is named, not copied as a backup with no tables (docs/decisions/0151-agent-db-made-whole-before-named.md).
    hubDb.refuseEmpty(src, join(dataDir, 'hub.db'));
    src.pragma('busy_timeout = 5000');
    progress.note?.(`copying hub.db (${formatBytes(statSync(join(dataDir, 'hub.db')).size)}) as one consistent snapshot`);
    // All remaining pages in one step, in one read transaction: under WAL the hub keeps writing meanwhile,
    // and the copy never restarts (small steps restart whenever another process writes between them,
    // which a busy hub does every few milliseconds).
    await src.backup(join(out, 'hub.db'), { progress: (p) => p.totalPages });
  } finally {
    src.close();
  }
  chmodSync(join(out, 'hub.db'), 0o600);
  // The copy keeps the hub's WAL mode; opened read-only it would leave hub.db-wal and hub.db-shm beside it,
  // files backup.json does not list (and restore, opening it read-only, would make them in the backup).
  // A rollback-journal copy is one self-contained file; the restored hub switches it back to WAL.
  const snap = new Database(join(out, 'hub.db'));
  try {
    snap.pragma('journal_mode = DELETE');
    // The running hub's lease is not copied: a hub started on the restored copy takes it at once
    // (docs/decisions/0074-one-hub-per-database.md).
    if (snap.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hub_leases'").get()) snap.exec('DELETE FROM hub_leases');
    schema = schemaOf(snap).map((r) => r.version);
    // A dropped bundle's row stays without its file (store/bundle-drop.ts): not copied.
    blobs = snap.prepare(KEPT_BLOBS_SQL).all() as Array<{ sha256: string; size: number }>;
  } finally {
    snap.close();
  }
  fsyncPath(join(out, 'hub.db'));
  const others = otherFiles(dataDir);
  const dbBytes = statSync(join(out, 'hub.db')).size;
  const bar = progress('backing up', dbBytes + blobs.reduce((n, b) => n + b.size, 0) + others.reduce((n, f) => n + statSync(join(dataDir, f)).size, 0));
  files.push({ path: 'hub.db', ...await sha256File(join(out, 'hub.db'), (n) => bar.tick(n)) });
  // 2. The blobs the snapshot lists, each checked against its name while copied. Copies are 0600 files in
  // 0700 dirs: a backup holds the hub key and the device secrets' hashes.
  for (const b of blobs) {
    const rel = `blobs/sha256/${b.sha256.slice(0, 2)}/${b.sha256}`;
    const from = join(dataDir, rel);
    if (!existsSync(from)) throw new AppError('IO_ERROR', `${from} is missing although hub.db lists blob ${b.sha256}: the data dir is damaged`);
    const got = await copyFileHashed(from, join(out, rel), (n) => bar.tick(n));
    if (got.sha256 !== b.sha256 || got.size !== b.size) throw mismatch(from, got, b, 'as hub.db lists: the data dir is damaged');
    files.push({ path: rel, ...got });
  }
  // 3. Everything else in the data dir (trust, keys, the admin token, other parts' files).
  for (const rel of others) files.push({ path: rel, ...await copyFileHashed(join(dataDir, rel), join(out, rel), (n) => bar.tick(n)) });
  bar.done();
  // 4. backup.json last, once every file and directory is on disk: only a complete backup has one.
  fsyncTree(out);
  const manifest: BackupManifest = { format: BACKUP_FORMAT, hubVersion: HUB_VERSION, createdAt: now.toISOString(), schema, files };
  writeFileAtomic(join(out, 'backup.json'), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  fsyncPath(out);
  return manifest;
}

/**
 * The key files a hub that has run keeps outside its data dir (--hub-key, --content-keys), which the backup
 * therefore lacks: said after it, since a restore without them cannot sign (docs/operations.md "Backup and restore").
 */
export function leftOut(m: BackupManifest): string[] {
  const has = new Set(m.files.map((f) => f.path));
  if (!has.has('trust.json')) return []; // no hub has run on it yet: nothing is known to be elsewhere
  const notes: string[] = [];
  if (!has.has('hub.key')) {
    notes.push('the hub key is not in the backup: the data dir holds no hub.key, so the hub runs with --hub-key FILE. ' +
      'Keep a copy of that file (0600) beside the backups: a hub started on the restore needs it (--hub-key FILE) and refuses to start without it');
  }
  if (!has.has('content-keys.key')) {
    notes.push('the content-keys key file is not in the backup: the data dir holds no content-keys.key, so the hub runs with --content-keys FILE. ' +
      'Keep a copy of that file (0600) beside the backups: without it the sealed models\' content keys in this hub.db do not open');
  }
  return notes;
}

/** `edgefleet-hub backup` once parsed (its options and help: main.ts). */
export async function runBackup(args: ParsedArgs, ctx: CliContext): Promise<number> {
  if (optString(args, 'database') !== undefined) {
    throw new AppError('INVALID_INPUT', 'backup copies hub.db (SQLite); a hub on PostgreSQL (--database) is backed up with pg_dump -Fc plus a copy of its data dir (blobs, keys, trust): see docs/operations.md "Running on PostgreSQL"');
  }
  const out = resolve(ctx.cwd, reqString(args, 'out'));
  const m = await backupHub(resolve(ctx.cwd, reqString(args, 'data-dir')), out, ctx.now(), progressOn(ctx.stderr));
  const bytes = m.files.reduce((s, f) => s + f.size, 0);
  ctx.stdout.write(`backed up ${m.files.length} files (${bytes} bytes, schema ${m.schema.join(',')}) to ${out}\n`);
  for (const note of leftOut(m)) ctx.stderr.write(`note: ${note}\n`);
  return 0;
}
