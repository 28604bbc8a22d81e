// `edgefleet-hub restore` (docs/operations.md "Backup and restore",
// docs/decisions/0020-backup-and-schema-refusal.md): a backup written by backup.ts is checked completely
// (every hash, SQLite's integrity check and the schema: SCHEMA_TOO_NEW) before anything is written, then
// the empty data dir is marked (RESTORE_MARKER, which the hub refuses to start on: first-start.ts),
// filled through a staging dir inside it (the data dir may be a mount point) and unmarked last. Files
// are streamed, hashed while copied, and fsynced with their directories.
import {
  closeSync, existsSync, fsyncSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError, copyFileHashed, formatBytes, refuseUnreadableDir, storageError, fsyncPath, fsyncTree, sha256File } from '@edgefleet/shared';
import { reqString, type CliContext, type ParsedArgs } from '@edgefleet/shared/cli';
import {
  BACKUP_FORMAT, RESTORE_MARKER, STAGING, checkBackupDb, checkEmptyDir, emptyPrivateDir, mismatch, progressOn, quiet, type BackupManifest, type Progress,
} from './backup.js';

function readManifest(from: string): BackupManifest {
  const file = join(from, 'backup.json');
  refuseUnreadableDir(from, 'backup directory (--from)'); // a 0700 backup read as another user did finish
  if (!existsSync(file)) throw new AppError('NOT_FOUND', `${file} does not exist: expected a directory written by edgefleet-hub backup; a backup that did not finish has none (it is written last)`);
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `${file}: not JSON (${(err as Error).message})`);
  }
  if (m?.format !== BACKUP_FORMAT || !Array.isArray(m.files)) throw new AppError('UNSUPPORTED_VERSION', `${file}: backup format ${String(m?.format)}, expected ${BACKUP_FORMAT}`);
  for (const f of m.files) {
    const top = typeof f?.path === 'string' ? f.path.split('/')[0] : undefined;
    if (typeof f?.path !== 'string' || f.path.split('/').some((s) => s === '..' || s === '') || f.path.startsWith('/') || top === RESTORE_MARKER || top === STAGING) {
      throw new AppError('PATH_TRAVERSAL', `${file}: file path ${JSON.stringify(f?.path)} is not a relative path inside the backup`);
    }
  }
  return m;
}

/** Creates the marker first thing in the empty data dir (not via a temp file: its name alone marks the dir). */
function markRestore(dataDir: string, from: string, now: Date): void {
  const fd = openSync(join(dataDir, RESTORE_MARKER), 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ from, startedAt: now.toISOString() })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncPath(dataDir);
}

interface Owner { uid: number; gid: number }

/**
 * Root restoring into an existing data dir another user owns (the installed unit's `edgefleet`,
 * docs/operations.md "Backup and restore"): the restored files get that owner, else the hub running as
 * that user cannot read them (IO_ERROR EACCES at its start).
 */
function ownerToKeep(dataDir: string): Owner | undefined {
  if (process.getuid?.() !== 0 || !existsSync(dataDir)) return undefined;
  const { uid, gid } = statSync(dataDir);
  return uid === 0 ? undefined : { uid, gid };
}

function chownTree(p: string, o: Owner): void {
  lchownSync(p, o.uid, o.gid);
  if (lstatSync(p).isDirectory()) for (const name of readdirSync(p)) chownTree(join(p, name), o);
}

/** Checks the backup in `from` completely, then fills the new or empty data dir `dataDir` from it. */
export async function restoreHub(from: string, dataDir: string, progress: Progress = quiet, now: Date = new Date()): Promise<BackupManifest & { owner?: Owner }> {
  const m = readManifest(from);
  if (!m.files.some((f) => f.path === 'hub.db')) throw new AppError('NOT_FOUND', `${from}/backup.json lists no hub.db`);
  checkEmptyDir(dataDir, '--data-dir'); // refused now rather than after the hashing
  const total = m.files.reduce((n, f) => n + f.size, 0);
  const check = progress('verifying', total);
  for (const f of m.files) {
    const p = join(from, f.path);
    if (!existsSync(p)) throw new AppError('NOT_FOUND', `${p} is missing: the backup is incomplete`);
    const got = await sha256File(p, (n) => check.tick(n));
    if (got.sha256 !== f.sha256 || got.size !== f.size) throw mismatch(p, got, f, 'from backup.json: the backup is damaged');
  }
  check.done();
  progress.note?.(`checking the integrity of ${from}/hub.db (${formatBytes(m.files.find((f) => f.path === 'hub.db')?.size ?? 0)}) and its schema`);
  checkBackupDb(from);
  const owner = ownerToKeep(dataDir);
  emptyPrivateDir(dataDir, '--data-dir');
  // Marked first, staged inside the target, moved into place, unmarked last: a restore killed at any
  // point leaves the marker, and the hub refuses to start on the dir.
  const staging = join(dataDir, STAGING);
  try {
    markRestore(dataDir, from, now);
    mkdirSync(staging, { mode: 0o700 });
    const copy = progress('restoring', total);
    for (const f of m.files) {
      const got = await copyFileHashed(join(from, f.path), join(staging, f.path), (n) => copy.tick(n));
      if (got.sha256 !== f.sha256 || got.size !== f.size) throw mismatch(join(from, f.path), got, f, 'from backup.json: the backup changed while it was restored');
    }
    copy.done();
    if (owner) chownTree(staging, owner);
    fsyncTree(staging);
    for (const name of readdirSync(staging)) renameSync(join(staging, name), join(dataDir, name));
    rmSync(staging, { recursive: true });
    fsyncPath(dataDir);
  } catch (err) {
    // A failed restore leaves the dir empty again; the marker goes last.
    for (const name of readdirSync(dataDir)) if (name !== RESTORE_MARKER) rmSync(join(dataDir, name), { recursive: true, force: true });
    rmSync(join(dataDir, RESTORE_MARKER), { force: true });
    throw storageError(err, `restore: cannot write it to --data-dir ${dataDir}`, () => `room there for ${total} bytes, the backup's size; the data dir was left empty`);
  }
  rmSync(join(dataDir, RESTORE_MARKER));
  fsyncPath(dataDir);
  return owner ? { ...m, owner } : m;
}

/** `edgefleet-hub restore` once parsed (its options and help: main.ts). */
export async function runRestore(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const dataDir = resolve(ctx.cwd, reqString(args, 'data-dir'));
  const m = await restoreHub(resolve(ctx.cwd, reqString(args, 'from')), dataDir, progressOn(ctx.stderr), ctx.now());
  const owned = m.owner ? `, owned by uid ${m.owner.uid} gid ${m.owner.gid} as the data dir is` : '';
  ctx.stdout.write(`restored ${m.files.length} files (backup of ${m.createdAt} by hub ${m.hubVersion}, schema ${m.schema.join(',')}) into ${dataDir}${owned}\n`);
  return 0;
}
