// agent.db migrations: the composition root's list keeps the ids earlier agents recorded (core 1,
// summaries 100, open window checkpoint 101, sync 200 and 201), so a database they wrote opens with nothing applied again; a list that
// uses an id twice is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MIGRATIONS } from '../store/agent-store.js';
import Database from 'better-sqlite3';
import type { AppError } from '@edgefleet/shared/core';
import { coreMigration, openDb, type Db } from './db.js';
import { AGENT_VERSION } from '../version.js';

type Row = { id: number; name: string; applied_at: string };

test('a database written with the same migrations reopens unchanged; ids stay 1, 100, 101, 102, 200, 201, 202, 300, 400, 500, 600', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'agent.db');
  const first = openDb(path, AGENT_MIGRATIONS);
  const before = first.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all() as Row[];
  first.prepare("INSERT INTO kv (key, value) VALUES ('k', 'v')").run();
  first.close();
  assert.deepEqual(before.map((r) => r.id), [1, 100, 101, 102, 200, 201, 202, 300, 400, 500, 600]);
  const again = openDb(path, AGENT_MIGRATIONS);
  try {
    assert.deepEqual(again.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all(), before, 'nothing applied again');
    assert.deepEqual(again.prepare('SELECT value FROM kv').get(), { value: 'v' });
  } finally {
    again.close();
  }
});

test('a migration list that uses an id twice is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => openDb(join(dir, 'agent.db'), [coreMigration, { ...coreMigration, name: 'again' }]), /migration id 1 is used twice \(again\)/);
});

test('an agent.db written by a newer agent (a migration id this agent lacks) is refused with SCHEMA_TOO_NEW and left unchanged', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'agent.db');
  // A newer agent's list: today's minus the last (so one is pending) plus an id from the future.
  const newer = [...AGENT_MIGRATIONS.slice(0, -1), { id: 999, name: 'future: shadow models', up: (db: Db) => db.exec('CREATE TABLE future (x)') }];
  const w = openDb(path, newer);
  // The agent that applied it recorded its version (here this one's, as 0.2.0 would).
  assert.equal(w.prepare('SELECT program_version FROM migrations WHERE id = 999').pluck().get(), AGENT_VERSION);
  w.prepare("UPDATE migrations SET program_version = '0.2.0' WHERE id = 999").run();
  w.close();
  assert.throws(() => openDb(path, AGENT_MIGRATIONS), (err: AppError) => {
    assert.equal(err.code, 'SCHEMA_TOO_NEW');
    assert.equal(err.message, `agent.db at ${path} was written by a newer agent (0.2.0; this agent is ${AGENT_VERSION}): it records migration 999 `
      + `("future: shadow models") that agent ${AGENT_VERSION} does not know. Run agent 0.2.0 (or newer) on it, or restore a backup taken by `
      + `agent ${AGENT_VERSION} (or older) before the upgrade; a database is never migrated back`);
    return true;
  });
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare('SELECT id FROM migrations ORDER BY id').pluck().all(), [...newer.map((m) => m.id)].sort((a, b) => a - b), 'the pending migration was not applied');
});

test('the data dir is 0700 and agent.db with its -wal/-shm 0600, also when an older agent left them world-readable', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'data');
  const path = join(dir, 'agent.db');
  const mode = (p: string) => statSync(p).mode & 0o777;
  const fresh = openDb(path, AGENT_MIGRATIONS);
  fresh.prepare("INSERT INTO kv (key, value) VALUES ('k', 'v')").run();
  assert.equal(mode(dir), 0o700);
  for (const f of ['agent.db', 'agent.db-wal', 'agent.db-shm']) assert.equal(mode(join(dir, f)), 0o600, f);
  fresh.close();
  // What an older agent made: the process umask's 0755 / 0644.
  chmodSync(dir, 0o755);
  chmodSync(path, 0o644);
  const again = openDb(path, AGENT_MIGRATIONS);
  try {
    again.prepare("INSERT INTO kv (key, value) VALUES ('k2', 'v')").run();
    assert.equal(mode(dir), 0o700);
    for (const f of ['agent.db', 'agent.db-wal', 'agent.db-shm']) assert.equal(mode(join(dir, f)), 0o600, f);
  } finally {
    again.close();
  }
});

test('a damaged agent.db (a torn first page, a file that is not SQLite) is refused as IO_ERROR naming the file and the way back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'agent.db');
  openDb(path, AGENT_MIGRATIONS).close();
  const bytes = readFileSync(path);
  bytes.fill(0xa5, 100, 400); // page 1 (the schema) past the header: what a torn write or a bad sector leaves
  writeFileSync(path, bytes);
  const refused = (re: RegExp) => (err: unknown) => {
    assert.equal((err as AppError).code, 'IO_ERROR');
    assert.match((err as AppError).message, re);
    assert.match((err as AppError).message, /Restore a backup of it, or move it aside \(mv .*agent\.db .*agent\.db\.damaged/);
    return true;
  };
  assert.throws(() => openDb(path, AGENT_MIGRATIONS), refused(new RegExp(`^${path.replace(/[.]/g, '\\.')} is damaged \\(SQLITE_CORRUPT: database disk image is malformed\\)`)));
  writeFileSync(path, 'not a database, but long enough to have a header of its own: '.repeat(20));
  assert.throws(() => openDb(path, AGENT_MIGRATIONS), refused(/is damaged \(SQLITE_NOTADB: file is not a database\)/));
});
