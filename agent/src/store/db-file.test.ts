// agent.db as a file (db-file.ts, docs/decisions/0151-agent-db-made-whole-before-named.md): one found empty or
// without tables, or a directory where it or its -wal belongs, is refused as IO_ERROR naming it and the way back,
// and left as it was; a new one appears under its name only with its tables, and what a creation killed midway
// left (agent.db.new-PID of a process gone) is removed by the next one. Real files, the agent's real migrations.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AppError } from '@edgefleet/shared/core';
import { AGENT_MIGRATIONS, openStore } from './agent-store.js';
import { deviceKeyPath, loadOrCreateDeviceKey } from '../keys/device-key.js';
import { credentialsPath, readCredentials } from '../sync/credentials.js';
import { openDb } from './db.js';

function dataDir(t: TestContext): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dbfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, path: join(dir, 'agent.db') };
}

const refused = (message: RegExp) => (err: unknown) => {
  assert.equal((err as AppError).code, 'IO_ERROR', String(err));
  assert.match((err as AppError).message, message);
  return true;
};

describe('agent.db found unusable is refused and left as it was', () => {
  test('an empty agent.db (0 bytes) is refused naming it, what is wrong and the way back, and stays 0 bytes', (t) => {
    const d = dataDir(t);
    writeFileSync(d.path, '', { mode: 0o600 });
    assert.throws(() => openDb(d.path, AGENT_MIGRATIONS), refused(new RegExp(`^${d.path} is empty \\(0 bytes\\): expected the SQLite database the agent wrote, `
      + 'which holds its tables from the moment it has this name \\(docs/decisions/0151-agent-db-made-whole-before-named\\.md\\); it was cut short or replaced '
      + `.* Restore a backup of it, or move it aside \\(mv ${d.path} ${d.path}\\.damaged, with its -wal and -shm files\\) and start again`)));
    assert.equal(statSync(d.path).size, 0, 'not made a new database');
    assert.deepEqual(readdirSync(d.dir), ['agent.db']);
  });

  test('a SQLite file without tables (an older agent killed before its first migration, a file emptied by hand) is refused, its bytes unchanged', (t) => {
    const d = dataDir(t);
    const db = new Database(d.path);
    db.pragma('journal_mode = WAL');
    db.close();
    const before = readFileSync(d.path);
    assert.throws(() => openDb(d.path, AGENT_MIGRATIONS), refused(new RegExp(`^${d.path} holds no tables \\(${before.length} bytes\\): expected the SQLite database`)));
    assert.deepEqual(readFileSync(d.path), before);
  });

  test('a directory where agent.db or its -wal belongs is refused naming it, and kept', (t) => {
    const d = dataDir(t);
    mkdirSync(d.path);
    assert.throws(() => openDb(d.path, AGENT_MIGRATIONS), refused(new RegExp(`^${d.path} is a directory: expected the SQLite database file the agent writes`)));
    assert.ok(statSync(d.path).isDirectory());
    rmSync(d.path, { recursive: true });
    openDb(d.path, AGENT_MIGRATIONS).close();
    mkdirSync(`${d.path}-wal`);
    assert.throws(() => openDb(d.path, AGENT_MIGRATIONS), refused(new RegExp(`^${d.path}-wal is a directory: expected the file SQLite keeps beside agent\\.db .*: `
      + `move it aside \\(mv ${d.path}-wal ${d.path}-wal\\.aside\\) and start again; agent\\.db keeps what it holds$`)));
  });
});

describe('a new agent.db has its tables before it has its name', () => {
  test('made whole: every migration applied, opened again as it is; what a killed creation left is removed, a live one\'s kept', (t) => {
    const d = dataDir(t);
    // A creation killed midway (a power cut) left its file under its process's name; that process is gone.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(gone);
    writeFileSync(join(d.dir, `agent.db.new-${gone}`), 'half a database');
    writeFileSync(join(d.dir, `agent.db.new-${gone}-journal`), 'its journal');
    // A live process's (pid 1 runs as long as the machine does): a creation under way, not touched.
    writeFileSync(join(d.dir, 'agent.db.new-1'), '');
    const db = openDb(d.path, AGENT_MIGRATIONS);
    try {
      assert.deepEqual(db.prepare('SELECT id FROM migrations ORDER BY id').pluck().all(), AGENT_MIGRATIONS.map((m) => m.id).sort((a, b) => a - b));
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    assert.deepEqual(readdirSync(d.dir).sort(), ['agent.db', 'agent.db.new-1']);
    assert.equal(statSync(d.path).mode & 0o777, 0o600);
    openDb(d.path, AGENT_MIGRATIONS).close();
  });

  test('a creation that fails leaves no agent.db and no file of its own', (t) => {
    const d = dataDir(t);
    const failing = [...AGENT_MIGRATIONS, { id: 9999, name: 'fails', up: () => { throw new Error('migration 9999 failed'); } }];
    assert.throws(() => openDb(d.path, failing), /migration 9999 failed/);
    assert.deepEqual(readdirSync(d.dir), []);
  });
});

describe('the other data files found unusable are refused and left as they were', () => {
  test('blobs/ a file: openStore refuses it as IO_ERROR before agent.db is made', (t) => {
    const d = dataDir(t);
    writeFileSync(join(d.dir, 'blobs'), 'x');
    assert.throws(() => openStore(d.dir), refused(new RegExp(`^${join(d.dir, 'blobs')} is not a directory: expected the directory of the installed versions' files`)));
    assert.deepEqual(readdirSync(d.dir), ['blobs']);
  });

  test('an empty device-key.json or credentials.json says "it is empty (0 bytes)" and is not made again', (t) => {
    const d = dataDir(t);
    const key = deviceKeyPath(d.dir);
    writeFileSync(key, '', { mode: 0o600 });
    assert.throws(() => loadOrCreateDeviceKey(d.dir), (e: AppError) => e.code === 'CONFIG_INVALID'
      && e.message.startsWith(`cannot read the device key ${key}: it is empty (0 bytes); expected the key pair the agent made: restore a backup of it, or move it aside (mv ${key} ${key}.damaged)`));
    assert.equal(statSync(key).size, 0, 'no new key written over it');
    const creds = credentialsPath(d.dir);
    writeFileSync(creds, '', { mode: 0o600 });
    assert.throws(() => readCredentials(d.dir), (e: AppError) => e.code === 'CONFIG_INVALID'
      && e.message === `cannot read credentials ${creds}: it is empty (0 bytes); expected the JSON file written by "edgefleet-agent enroll"`);
  });
});
