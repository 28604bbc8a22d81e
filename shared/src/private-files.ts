// Data directories and SQLite files that only the program's user may read: hub.db holds token
// hashes and the audit log, agent.db and credentials.json a device's identity (docs/security-operators.md).
// A directory or database found with looser modes (made by an older version, or by hand) is tightened.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
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

/** Creates `dir` (and parents) as 0700, or tightens an existing one to 0700. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700, 'data directory');
}

/**
 * Makes a SQLite database file 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
 * main file's mode, so they follow; leftovers from an earlier run are tightened too.
 */
export function ensurePrivateDbFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) tighten(f, 0o600, 'database file');
}
