// Private data dirs and database files: created 0700/0600, and tightened when found looser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDbFile, ensurePrivateDir } from './private-files.js';
import type { AppError } from './errors.js';

const mode = (p: string) => statSync(p).mode & 0o777;

/** Runs `body` (with this module's exports in scope as `m`) in a process run as nobody; its stdout. */
function asNobody(cwd: string, body: string): string {
  // This module as the test runs it (built .js, or .ts from source through tsx).
  const fromSource = import.meta.url.endsWith('.ts');
  const self = new URL(`./private-files${fromSource ? '.ts' : '.js'}`, import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(self)}); ${body}`;
  const r = spawnSync(process.execPath, [...(fromSource ? ['--import', import.meta.resolve('tsx')] : []), '--input-type=module', '-e', code], { uid: 65534, gid: 65534, encoding: 'utf8', cwd, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a new data dir is 0700 and a new database file 0600', () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-priv-'));
  try {
    const dir = join(root, 'a', 'data');
    ensurePrivateDir(dir);
    assert.equal(mode(dir), 0o700);
    ensurePrivateDbFile(join(dir, 'x.db'));
    assert.equal(mode(join(dir, 'x.db')), 0o600);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an existing world-readable data dir and database files are tightened', () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-priv-'));
  try {
    const dir = join(root, 'data');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    for (const f of ['x.db', 'x.db-wal', 'x.db-shm']) {
      writeFileSync(join(dir, f), '');
      chmodSync(join(dir, f), 0o644);
    }
    ensurePrivateDir(dir);
    ensurePrivateDbFile(join(dir, 'x.db'));
    assert.equal(mode(dir), 0o700);
    for (const f of ['x.db', 'x.db-wal', 'x.db-shm']) assert.equal(mode(join(dir, f)), 0o600, f);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a data dir of another user is refused naming both users and what to do, not a bare EACCES at the first write', { skip: process.getuid?.() !== 0 && 'needs root, to run a process as another user' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-priv-'));
  try {
    chmodSync(root, 0o755); // others may reach the dir, not write in it
    const dir = join(root, 'data');
    ensurePrivateDir(dir); // root's, 0700: as a service's data dir used from another account
    // And a new one under a directory of root's that others may read, not write in (/var/lib from a shell): it said "EACCES: permission denied, mkdir".
    const under = join(root, 'shared');
    mkdirSync(under, { mode: 0o755 });
    const out = asNobody(root, `for (const d of ${JSON.stringify([dir, join(under, 'new', 'data')])}) try { m.ensurePrivateDir(d); console.log('ok'); } catch (e) { console.log(e.code + ': ' + e.message); }`);
    assert.match(out, new RegExp(`^CONFIG_INVALID: data directory ${dir} belongs to uid 0 \\(mode 0700\\) and this process, uid 65534, may not write in it: expected .*run as uid 0 .*chown -R 65534 ${dir}\\)$`, 'm'), out);
    assert.match(out, new RegExp(`^CONFIG_INVALID: cannot create data directory ${under}/new/data: this process, uid 65534, may not write in ${under} \\(uid 0's, mode 0755; EACCES\\): expected a data directory this user may make, .* or run as that directory's user \\(e\\.g\\. sudo -u\\)$`, 'm'), out);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a data dir shared with other users (sticky, or writable by all, as /tmp) is refused and left as it was', () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-priv-'));
  try {
    for (const m of [0o1777, 0o777, 0o1755]) {
      const dir = join(root, `shared-${m.toString(8)}`);
      mkdirSync(dir);
      chmodSync(dir, m);
      assert.throws(() => ensurePrivateDir(dir), (e: AppError) => e.code === 'CONFIG_INVALID'
        && e.message === `data directory ${dir} is shared with other users (mode 0${m.toString(8)}${m & 0o1000 ? ', sticky' : ''}): `
          + `expected a directory of its own, such as ${join(dir, 'edgefleet')}; it is not made 0700, which would lock every other user out of it`);
      assert.equal(statSync(dir).mode & 0o7777, m, 'its mode is unchanged');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a database file this user may not write is refused naming the file, its owner and what to do, not SQLite\'s "unable to open database file"', { skip: process.getuid?.() !== 0 && 'needs root, to run a process as another user' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-priv-'));
  try {
    chmodSync(root, 0o755);
    // The service's data dir (nobody's here) where a command run as root made agent.db, or (sqlite3 as root) its -wal.
    const cases = ['db', 'wal', 'readonly'].map((name) => {
      const dir = join(root, name);
      mkdirSync(dir, { mode: 0o700 });
      for (const f of ['x.db', 'x.db-wal']) writeFileSync(join(dir, f), '', { mode: 0o600 });
      spawnSync('chown', ['-R', '65534:65534', dir]);
      if (name === 'db') spawnSync('chown', ['0:0', join(dir, 'x.db')]);
      if (name === 'wal') spawnSync('chown', ['0:0', join(dir, 'x.db-wal')]);
      if (name === 'readonly') chmodSync(join(dir, 'x.db'), 0o444);
      return join(dir, 'x.db');
    });
    const out = asNobody(root, `for (const f of ${JSON.stringify(cases)}) try { m.ensurePrivateDbFile(f); console.log('ok'); } catch (e) { console.log(e.code + ': ' + e.message); }`);
    const [db, wal, readonly] = cases as [string, string, string];
    assert.deepEqual(out.trim().split('\n'), [
      `CONFIG_INVALID: database file ${db} belongs to uid 0 (mode 0600) and this process, uid 65534, may not write it: expected the data directory's files to be this process's user's (one made by a command run as another user, e.g. root): give it back (chown 65534 ${db}), or run as uid 0`,
      `CONFIG_INVALID: database file ${wal}-wal belongs to uid 0 (mode 0600) and this process, uid 65534, may not write it: expected the data directory's files to be this process's user's (one made by a command run as another user, e.g. root): give it back (chown 65534 ${wal}-wal), or run as uid 0`,
      `CONFIG_INVALID: database file ${readonly} has mode 0444 and this process, its owner (uid 65534), may not write it: expected its owner to read and write it: chmod 600 ${readonly}`,
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a data dir on a read-only file system is refused with EROFS and what to do', { skip: process.getuid?.() !== 0 && 'needs root, to mount' }, (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ef-priv-'));
  const ro = join(root, 'ro');
  mkdirSync(join(root, 'src'), { mode: 0o700 });
  mkdirSync(ro);
  try {
    const bind = spawnSync('mount', ['--bind', join(root, 'src'), ro]);
    if (bind.status !== 0) return t.skip('mount --bind is not allowed here');
    try {
      assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status, 0);
      assert.throws(() => ensurePrivateDir(ro), (e: AppError) => e.code === 'IO_ERROR'
        && e.message === `data directory ${ro} is on a read-only file system and this process may not write in it (EROFS): `
          + 'expected a writable one: remount it read-write (a disk the kernel remounted read-only after errors needs fsck first), or under systemd list it in ReadWritePaths=');
      // One to be made there: Node's recursive mkdir says ENOENT; the error names EROFS and where it was to be made.
      const made = join(ro, 'new', 'data');
      assert.throws(() => ensurePrivateDir(made, '--out'), (e: AppError) => e.code === 'IO_ERROR'
        && e.message.startsWith(`--out ${made} is on a read-only file system and this process may not create it in ${ro} (EROFS): expected a writable one`));
    } finally {
      spawnSync('umount', [ro]);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
