// Data directories and SQLite files that only the program's user may read: hub.db holds token
// hashes and the audit log, agent.db and credentials.json a device's identity (docs/security.md "Operators and their records").
// A directory or database found with looser modes (made by an older version, or by hand) is tightened.
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppError } from './errors.js';

/** IO_ERROR: `path` is on a read-only file system, so this process may not `may` (EROFS). */
function readOnly(what: string, path: string, may: string, cause: unknown): AppError {
  return new AppError('IO_ERROR', `${what} ${path} is on a read-only file system and this process may not ${may} (EROFS): `
    + 'expected a writable one: remount it read-write (a disk the kernel remounted read-only after errors needs fsck first), or under systemd list it in ReadWritePaths=', { cause });
}

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
    if ((err as NodeJS.ErrnoException).code === 'EROFS') throw readOnly(what, path, 'make it private', err);
    throw new AppError('CONFIG_INVALID', `${what} ${path} has mode 0${current.toString(8)} (readable by others) and cannot be made 0${mode.toString(8)}: ${(err as Error).message}; chmod it yourself or choose another directory`, { cause: err });
  }
}

/**
 * Refuses a directory others may make files in (sticky or writable by all, as /tmp): made 0700 it would lock
 * every other user out of it, and a data dir's files would sit among theirs.
 */
function refuseShared(dir: string, what: string): void {
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & 0o1000) === 0 && (mode & 0o002) === 0) return;
  throw new AppError('CONFIG_INVALID', `${what} ${dir} is shared with other users (mode 0${mode.toString(8)}${mode & 0o1000 ? ', sticky' : ''}): `
    + `expected a directory of its own, such as ${resolve(dir, 'edgefleet')}; it is not made 0700, which would lock every other user out of it`);
}

/** The nearest directory above `dir` that exists: the one a new `dir` is made in. */
function existingParent(dir: string): string {
  let parent = dirname(resolve(dir));
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  return parent;
}

/**
 * `mkdir -p` with the errno of the step that failed: Node's recursive mkdir reports ENOENT where the first
 * directory it makes is refused as EROFS (a read-only mount), so each missing one is made on its own.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const missing: string[] = [];
    for (let d = resolve(dir); !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
    for (const d of missing) mkdirSync(d, { mode: 0o700 });
  }
}

/**
 * Creates `dir` (and parents) as 0700, or tightens an existing one to 0700. A directory this process may
 * not write in (another user's, as when a service's data dir is used from a shell as someone else, or
 * the other way round) is refused naming both users, rather than the first write's bare EACCES; one that
 * cannot be made on a read-only file system names it, rather than a bare ENOENT. `what` names `dir` in
 * errors (`--out` of a backup, say).
 */
export function ensurePrivateDir(dir: string, what = 'data directory'): void {
  try {
    makeDirs(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new AppError('CONFIG_INVALID', `${what} ${dir} cannot be made: it, or a directory above it, is a file (${code}): `
        + 'expected a directory (or a path where one can be made); the file is left as it is', { cause: err });
    }
    if (code === 'EROFS') throw readOnly(what, dir, `create it in ${existingParent(dir)}`, err);
    if (code !== 'EACCES') throw err;
    // The directory it could not make in: another user's (/var/lib, root's) from an unprivileged shell.
    const parent = existingParent(dir);
    const st = statSync(parent);
    throw new AppError('CONFIG_INVALID', `cannot create ${what} ${dir}: this process, uid ${process.getuid?.() ?? '?'}, may not write in ${parent} `
      + `(uid ${st.uid}'s, mode 0${(st.mode & 0o777).toString(8)}; EACCES): `
      + `expected a data directory this user may make, or one made for it (install.sh makes the service's), or run as that directory's user (e.g. sudo -u)`, { cause: err });
  }
  refuseShared(dir, what);
  tighten(dir, 0o700, what);
  refuseOthers(dir, constants.W_OK | constants.X_OK, 'write in it', what,
    (owner, uid) => `expected a data directory of this process's user: run as ${owner} (the service's user, e.g. sudo -u), or give it to this user (chown -R ${uid ?? 'USER'} ${dir})`);
}

/**
 * Refuses an existing `dir` this process may not read (another user's 0700 data dir, as when a command that
 * only reads, `edgefleet-agent status` or `edgefleet-hub backup`, is run from a shell as someone else; a
 * 0700 backup) naming both users, rather than taking it for a directory that holds nothing. A missing `dir` passes.
 * A file is refused as one (before, root was told a 0644 file's mode kept it from reading it, and to chmod it).
 */
export function refuseUnreadableDir(dir: string, what: 'data directory' | 'backup directory (--from)' = 'data directory'): void {
  let isFile = false;
  try {
    isFile = !statSync(dir).isDirectory();
  } catch { /* missing, or above it unreadable: refuseOthers says which */ }
  if (isFile) {
    throw new AppError('CONFIG_INVALID', `${what} ${dir} is a file, not a directory: expected ${what === 'data directory'
      ? 'the directory the program keeps its data in (--data-dir)' : 'the directory edgefleet-hub backup wrote (--out)'}`);
  }
  refuseOthers(dir, constants.R_OK | constants.X_OK, 'read it', what, (owner) => what === 'data directory'
    ? `expected a data directory of this process's user: run as ${owner} (the service's user, e.g. sudo -u) or as root (the service still needs it as it is)`
    : `expected a backup this process may read: run as ${owner} or as root (docs/operations.md "Backup and restore" restores as root)`);
}

/** `path` (a directory or a file) as `mode` allows; `expected(owner, uid)`: what to do, `owner` being "uid N" (the directory's), or "its owner" when it cannot be read. */
function refuseOthers(path: string, mode: number, may: string, what: string, expected: (owner: string, uid: number | undefined) => string): void {
  try {
    accessSync(path, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // nothing there: the caller says what it expected
    if (code === 'EROFS') throw readOnly(what, path, may, err);
    if (code !== 'EACCES') throw err;
    const uid = process.getuid?.();
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      throw new AppError('CONFIG_INVALID', `${what} ${path} cannot be reached by this process, uid ${uid ?? '?'}: a directory above it keeps this user out (EACCES); `
        + expected('its owner', uid), { cause: err });
    }
    if (st.uid === uid) {
      const fix = st.isDirectory() ? 'chmod 700' : 'chmod 600';
      throw new AppError('CONFIG_INVALID', `${what} ${path} has mode 0${(st.mode & 0o777).toString(8)} and this process, its owner (uid ${uid}), may not ${may}: `
        + `expected its owner to read and write it: ${fix} ${path}`, { cause: err });
    }
    throw new AppError('CONFIG_INVALID', `${what} ${path} belongs to uid ${st.uid} (mode 0${(st.mode & 0o777).toString(8)}) and this process, uid ${uid ?? '?'}, may not ${may}: `
      + expected(`uid ${st.uid}`, uid), { cause: err });
  }
}

/**
 * Makes a SQLite database file 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
 * main file's mode, so they follow; leftovers from an earlier run are tightened too.
 */
export function ensurePrivateDbFile(file: string): void {
  const files = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
  // A file this user may not write (made by a command run as root in the service's data dir) is refused naming
  // its owner, before SQLite's "unable to open database file" (a -wal or -shm) or a bare EACCES (the file itself).
  for (const f of files) refuseOthers(f, constants.R_OK | constants.W_OK, 'write it', 'database file', (owner, uid) =>
    `expected the data directory's files to be this process's user's (one made by a command run as another user, e.g. root): `
    + `give it back (chown ${uid ?? 'USER'} ${f}), or run as ${owner}`);
  closeSync(openSync(file, 'a', 0o600));
  for (const f of files) tighten(f, 0o600, 'database file');
}

/**
 * A secret file (a signing key, a device key, a token) that its group or others may read is refused, as
 * ssh refuses such a private key: CONFIG_INVALID naming the file, its mode and the chmod that fixes it
 * (docs/security.md "Operators and their records"). It is never tightened for the operator: a key
 * someone else could read may have been read, and the operator decides whether to rotate it.
 * `holds` says what is in it ("the hub's signing key"); `or` adds another way out.
 */
export function refuseSecretOpenToOthers(path: string, holds: string, or = ''): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  const who = [mode & 0o070 ? 'its group' : '', mode & 0o007 ? 'other users' : ''].filter(Boolean).join(' and ');
  throw new AppError('CONFIG_INVALID', `${path} has mode 0${mode.toString(8)}; expected 0600 (it holds ${holds}, and ${who} may open it): chmod 600 ${path}${or}`);
}
