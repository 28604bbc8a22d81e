// The agent.db file itself, before and after SQLite opens it (docs/decisions/0151-agent-db-made-whole-before-named.md).
// A new agent.db is built under a name of its own (agent.db.new-PID), its tables written and synced, and only then
// linked to agent.db: an agent.db found at start always held the agent's tables. One that is empty (0 bytes), or a
// SQLite file without tables, was cut short or replaced after the agent wrote it (a copy or restore that did not
// finish, a disk that filled, a file system repaired by fsck) and is refused: opened as it was, it made the box a new
// one, its identity on the hub's side, outbox and counters gone, with no word. A directory where agent.db or its
// -wal/-shm belongs is refused too (a container's volume mount of a host file that did not exist makes one).
import { existsSync, linkSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError, ensurePrivateDbFile, fsyncPath } from '@edgefleet/shared/core';
import type BetterSqlite3 from 'better-sqlite3';
import { Database } from './sqlite.js';

const DECISION = 'docs/decisions/0151-agent-db-made-whole-before-named.md';

/** The ways back from an agent.db that cannot be used, and what each costs (every refusal of the file ends with it). */
export function wayBack(path: string): string {
  return `Restore a backup of it, or move it aside (mv ${path} ${path}.damaged, with its -wal and -shm files) and start `
    + 'again: an enrolled box takes its models and settings from its hub again (its enrollment is in credentials.json), '
    + 'a standalone box needs "trust set" and "install" again; what it had not sent to the hub is lost';
}

function kindOf(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (st.isFile()) return undefined;
  return st.isDirectory() ? 'a directory' : 'not a regular file';
}

/** Refuses a directory (or any other non-file) where the database or its -wal/-shm belongs, before SQLite sees it. */
export function refuseNotAFile(path: string): void {
  const kind = kindOf(path);
  if (kind) {
    throw new AppError('IO_ERROR', `${path} is ${kind}: expected the SQLite database file the agent writes (a container's volume `
      + `mount of a host file that did not exist makes a directory). ${wayBack(path)}`, { details: { path } });
  }
  for (const f of [`${path}-wal`, `${path}-shm`]) {
    const k = kindOf(f);
    if (k) {
      throw new AppError('IO_ERROR', `${f} is ${k}: expected the file SQLite keeps beside ${basename(path)} (it makes it itself): `
        + `move it aside (mv ${f} ${f}.aside) and start again; ${basename(path)} keeps what it holds`, { details: { path: f } });
    }
  }
}

/**
 * Refuses an opened database that holds no table: an agent.db is never without its tables under its name, so this
 * one was emptied or cut short (module header). Reads only: the file is left as it was found.
 */
export function refuseEmpty(db: BetterSqlite3.Database, path: string): void {
  if (db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get()) return;
  const bytes = statSync(path).size;
  throw new AppError('IO_ERROR', `${path} ${bytes === 0 ? 'is empty (0 bytes)' : `holds no tables (${bytes} bytes)`}: expected the SQLite `
    + `database the agent wrote, which holds its tables from the moment it has this name (${DECISION}); it was cut short or `
    + `replaced (a copy or restore that did not finish, a disk that filled, a file system repaired by fsck). ${wayBack(path)}`, { details: { path, bytes } });
}

/** Whether process `pid` is alive (EPERM: another user's, alive). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Makes `path` when there is none: `build` writes its tables into PATH.new-PID (no journal file, no syncs: a crash
 * leaves only that name, which the next creation removes once its process is gone), which is synced and then linked
 * to `path`. Another process that made `path` meanwhile wins: its file is kept, this one dropped.
 */
export function createWhole(path: string, build: (db: BetterSqlite3.Database) => void): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.new-`;
  for (const name of readdirSync(dir)) {
    const pid = name.startsWith(prefix) ? Number.parseInt(name.slice(prefix.length), 10) : NaN;
    if (Number.isInteger(pid) && (pid === process.pid || !alive(pid))) rmSync(join(dir, name), { force: true });
  }
  const tmp = `${path}.new-${process.pid}`;
  const drop = () => {
    for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  };
  try {
    ensurePrivateDbFile(tmp);
    const db = new Database(tmp);
    try {
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
      build(db);
    } finally {
      db.close();
    }
    fsyncPath(tmp);
    try {
      linkSync(tmp, path); // never over a file another process made meanwhile
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      if (!existsSync(path)) renameSync(tmp, path); // a file system without hard links (vfat)
    }
  } finally {
    drop();
  }
  fsyncPath(dir);
}

