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
