// A program's SQLite database file (agent.db, hub.db) before and after SQLite opens it
// (docs/decisions/0151-agent-db-made-whole-before-named.md). A new database is built under a name of its own
// (NAME.new-PID), its tables written and synced, and only then linked to its name: a database found at start always
// held the program's tables. One that is empty (0 bytes), or a SQLite file without tables, was cut short or replaced
// after the program wrote it (a copy or restore that did not finish, a disk that filled, a file system repaired by
// fsck) and is refused: opened as it was, it made the program start anew (the box a new one; the hub without its
// devices, registry and audit) with no word. A directory where the file or its -wal/-shm belongs is refused too (a
// container's volume mount of a host file that did not exist makes one). Shared by the agent and the hub; SQLite
// itself is the caller's (shared loads no native module): `open` makes the connection.
import { existsSync, linkSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError } from './errors.js';
import { ensurePrivateDbFile } from './private-files.js';
import { fsyncPath } from './atomic-file.js';

const DECISION = 'docs/decisions/0151-agent-db-made-whole-before-named.md';

/** What these checks need of a better-sqlite3 connection. */
export interface SqliteFileDb {
  prepare(sql: string): { get(): unknown };
  pragma(source: string): unknown;
  close(): void;
}

/** Whose database file it is: the program its messages name, how to open a connection, and the ways back. */
export interface SqliteFileOwner<D extends SqliteFileDb> {
  program: 'agent' | 'hub';
  open(path: string): D;
  /** The ways back from a file that cannot be used, and what each costs (every refusal of the file ends with it). */
  wayBack(path: string): string;
}

export interface SqliteFile<D extends SqliteFileDb> {
  /** Refuses a directory (or any other non-file) where the database or its -wal/-shm belongs, before SQLite sees it. */
  refuseNotAFile(path: string): void;
  /** Refuses an opened database that holds no table (the module header). Reads only: the file is left as it was found. */
  refuseEmpty(db: D, path: string): void;
  /**
   * Makes `path` when there is none: `build` writes its tables into PATH.new-PID (no journal file, no syncs: a crash
   * leaves only that name, which the next creation removes once its process is gone), which is synced and then linked
   * to `path`. Another process that made `path` meanwhile wins (several hubs on one new hub.db): its file is kept, this
   * one dropped. A file system without hard links gets a rename when no `path` is there.
   */
  createWhole(path: string, build: (db: D) => void): void;
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

/** Whether process `pid` is alive (EPERM: another user's, alive). PIDs name processes of this machine only: SQLite's files are never shared across machines. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The checks and the creation of `owner`'s database file. */
export function sqliteFile<D extends SqliteFileDb>(owner: SqliteFileOwner<D>): SqliteFile<D> {
  const { program, wayBack } = owner;
  return {
    refuseNotAFile(path) {
      const kind = kindOf(path);
      if (kind) {
        throw new AppError('IO_ERROR', `${path} is ${kind}: expected the SQLite database file the ${program} writes (a container's volume `
          + `mount of a host file that did not exist makes a directory). ${wayBack(path)}`, { details: { path } });
      }
      for (const f of [`${path}-wal`, `${path}-shm`]) {
        const k = kindOf(f);
        if (k) {
          throw new AppError('IO_ERROR', `${f} is ${k}: expected the file SQLite keeps beside ${basename(path)} (it makes it itself): `
            + `move it aside (mv ${f} ${f}.aside) and start again; ${basename(path)} keeps what it holds`, { details: { path: f } });
        }
      }
    },

    refuseEmpty(db, path) {
      if (db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get()) return;
      const bytes = statSync(path).size;
      throw new AppError('IO_ERROR', `${path} ${bytes === 0 ? 'is empty (0 bytes)' : `holds no tables (${bytes} bytes)`}: expected the SQLite `
        + `database the ${program} wrote, which holds its tables from the moment it has this name (${DECISION}); it was cut short or `
        + `replaced (a copy or restore that did not finish, a disk that filled, a file system repaired by fsck). ${wayBack(path)}`, { details: { path, bytes } });
    },

    createWhole(path, build) {
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
        const db = owner.open(tmp);
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
    },
  };
}
