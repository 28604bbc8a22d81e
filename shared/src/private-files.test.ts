// Private data dirs and database files: created 0700/0600, and tightened when found looser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDbFile, ensurePrivateDir } from './private-files.js';

const mode = (p: string) => statSync(p).mode & 0o777;

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
