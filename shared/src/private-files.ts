// Data directories and SQLite files that only the program's user may read: hub.db holds token
// hashes and the audit log, agent.db and credentials.json a device's identity (docs/security.md "Operators and their records").
// A directory or database found with looser modes (made by an older version, or by hand) is tightened.
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppError } from './errors.js';

function tighten(path: string, mode: number, what: string): void {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((current & ~mode) === 0) return;
  try {
    chmodSync(path, mode);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${what} ${path} has mode 0${current.toString(8)} (readable by others) and cannot be made 0${mode.toString(8)}: ${(err as Error).message}; chmod it yourself or choose another data directory`, { cause: err });
  }
}

/**
 * Creates `dir` (and parents) as 0700, or tightens an existing one to 0700. A directory this process may
 * not write in (another user's, as when a service's data dir is used from a shell as someone else, or
 * the other way round) is refused naming both users, rather than the first write's bare EACCES.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    // The directory it could not make in: another user's (/var/lib, root's) from an unprivileged shell.
    let parent = dirname(resolve(dir));
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    const st = statSync(parent);
    throw new AppError('CONFIG_INVALID', `cannot create data directory ${dir}: this process, uid ${process.getuid?.() ?? '?'}, may not write in ${parent} `
      + `(uid ${st.uid}'s, mode 0${(st.mode & 0o777).toString(8)}; EACCES): `
      + `expected a data directory this user may make, or one made for it (install.sh makes the service's), or run as that directory's user (e.g. sudo -u)`, { cause: err });
  }
  tighten(dir, 0o700, 'data directory');
  ensureOwnDir(dir);
}

/**
 * Refuses an existing directory this process may not write in, naming both users (ensurePrivateDir's
 * check alone: a command that only reads calls it before looking inside, where another user's 0700 dir
 * shows no files at all).
 */
export function ensureOwnDir(dir: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    const st = statSync(dir);
    const uid = process.getuid?.();
    throw new AppError('CONFIG_INVALID', `data directory ${dir} belongs to uid ${st.uid} (mode 0${(st.mode & 0o777).toString(8)}) and this process, uid ${uid ?? '?'}, may not write in it: `
      + `expected a data directory of this process's user: run as uid ${st.uid} (the service's user, e.g. sudo -u), or give it to this user (chown -R ${uid ?? 'USER'} ${dir})`, { cause: err });
  }
}

/**
 * Makes a SQLite database file 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
 * main file's mode, so they follow; leftovers from an earlier run are tightened too.
 */
export function ensurePrivateDbFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) tighten(f, 0o600, 'database file');
}
