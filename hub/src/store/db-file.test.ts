// hub.db as a file (db.ts openDb, shared/src/db-file.ts; docs/decisions/0151-agent-db-made-whole-before-named.md
// "The hub too"): one found empty or without tables, or a directory where it or its -wal/-shm belongs, is refused as
// IO_ERROR naming it and the way back, and left as it was; a data dir that is a file is CONFIG_INVALID. A new hub.db
// appears under its name only with every migration applied, in WAL mode, and what a creation killed midway left
// (hub.db.new-PID of a process gone) is removed by the next one. Real files, the hub's real migrations.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AppError } from '@edgefleet/shared';
import { HUB_MIGRATIONS } from '../schema.js';
import { schemaVersion } from './db.js';
import { Store } from './index.js';

function dataDir(t: TestContext): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubdbfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, path: join(dir, 'hub.db') };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const coded = (code: string, message: RegExp) => (err: unknown) => {
  assert.equal((err as AppError).code, code, String(err));
  assert.match((err as AppError).message, message);
  return true;
};
const open = (dir: string) => Store.open(dir, HUB_MIGRATIONS);

describe('hub.db found unusable is refused and left as it was', () => {
  test('an empty hub.db (0 bytes) is refused naming it, what is wrong and the way back, and stays 0 bytes', (t) => {
    const d = dataDir(t);
    writeFileSync(d.path, '', { mode: 0o600 });
    assert.throws(() => open(d.dir), coded('IO_ERROR', new RegExp(`^${esc(d.path)} is empty \\(0 bytes\\): expected the SQLite database the hub wrote, `
      + 'which holds its tables from the moment it has this name \\(docs/decisions/0151-agent-db-made-whole-before-named\\.md\\); it was cut short or replaced '
      + `.* Restore a backup of it \\(edgefleet-hub restore --from DIR --data-dir NEW, docs/operations.md "Backup and restore"\\), `
      + `or move it aside \\(mv ${esc(d.path)} ${esc(d.path)}\\.damaged, with its -wal and -shm files\\) and start again: the hub then starts as a new one, `
      + 'without its devices, models, deployments, tokens and audit \\(every device enrolled again\\)$')));
    assert.equal(statSync(d.path).size, 0, 'not made a new database');
    assert.deepEqual(readdirSync(d.dir), ['hub.db']);
  });

  test('a SQLite file without tables (a hub.db emptied by hand, an older hub killed before its first migration) is refused, its bytes unchanged', (t) => {
    const d = dataDir(t);
    const db = new Database(d.path);
    db.pragma('journal_mode = WAL');
    db.close();
    const before = readFileSync(d.path);
    assert.throws(() => open(d.dir), coded('IO_ERROR', new RegExp(`^${esc(d.path)} holds no tables \\(${before.length} bytes\\): expected the SQLite database the hub wrote`)));
    assert.deepEqual(readFileSync(d.path), before);
  });

  test('a directory where hub.db, its -wal or its -shm belongs is refused naming it, and kept', (t) => {
    const d = dataDir(t);
    mkdirSync(d.path);
    assert.throws(() => open(d.dir), coded('IO_ERROR', new RegExp(`^${esc(d.path)} is a directory: expected the SQLite database file the hub writes .*Restore a backup of it`)));
    assert.ok(statSync(d.path).isDirectory());
    rmSync(d.path, { recursive: true });
    open(d.dir).close();
    for (const f of [`${d.path}-wal`, `${d.path}-shm`]) {
      rmSync(f, { force: true });
      mkdirSync(f);
      assert.throws(() => open(d.dir), coded('IO_ERROR', new RegExp(`^${esc(f)} is a directory: expected the file SQLite keeps beside hub\\.db .*: `
        + `move it aside \\(mv ${esc(f)} ${esc(f)}\\.aside\\) and start again; hub\\.db keeps what it holds$`)));
      assert.ok(statSync(f).isDirectory());
      rmSync(f, { recursive: true });
    }
    const store = open(d.dir);
    assert.equal(schemaVersion(store.db), Math.max(...HUB_MIGRATIONS.map((m) => m.version)), 'the hub.db made before is opened as it was');
    store.close();
  });

  test('a data dir that is a file is CONFIG_INVALID naming it, and stays a file', (t) => {
    const d = dataDir(t);
    const file = join(d.dir, 'data');
    writeFileSync(file, 'notes');
    assert.throws(() => open(file), coded('CONFIG_INVALID', new RegExp(`^data directory ${esc(file)} cannot be made: it, or a directory above it, is a file \\(EEXIST\\)`)));
    assert.equal(readFileSync(file, 'utf8'), 'notes');
  });

  test('a database file (Store.open\'s database) in a directory that does not exist, or is a file, is CONFIG_INVALID naming it; nothing is made', (t) => {
    const d = dataDir(t);
    const file = join(d.dir, 'missing', 'hub.db');
    // Was ENOENT from readdir, naming neither the option nor what was expected.
    assert.throws(() => Store.open(d.dir, HUB_MIGRATIONS, { database: file }), coded('CONFIG_INVALID', new RegExp(`^database file ${esc(file)}: its directory `
      + `${esc(join(d.dir, 'missing'))} does not exist: expected an existing directory for it \\(the hub makes the file, not the directories above it\\)$`)));
    writeFileSync(join(d.dir, 'notes'), 'notes');
    const under = join(d.dir, 'notes', 'hub.db');
    assert.throws(() => Store.open(d.dir, HUB_MIGRATIONS, { database: under }), coded('CONFIG_INVALID', new RegExp(`^database file ${esc(under)}: its directory `
      + `${esc(join(d.dir, 'notes'))} is a file: expected an existing directory for it`)));
    const below = join(d.dir, 'notes', 'sub', 'hub.db');
    assert.throws(() => Store.open(d.dir, HUB_MIGRATIONS, { database: below }), coded('CONFIG_INVALID', new RegExp(`^database file ${esc(below)}: its directory `
      + `${esc(join(d.dir, 'notes', 'sub'))} is below a file: expected an existing directory`)));
    assert.deepEqual(readdirSync(d.dir), ['notes']);
  });
});

describe('a new hub.db has its tables before it has its name', () => {
  test('made whole: every migration applied, WAL, 0600; what a killed creation left is removed, a live one\'s kept', (t) => {
    const d = dataDir(t);
    // A creation killed midway (a power cut) left its file under its process's name; that process is gone.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(gone);
    writeFileSync(join(d.dir, `hub.db.new-${gone}`), 'half a database');
    writeFileSync(join(d.dir, `hub.db.new-${gone}-journal`), 'its journal');
    // A live process's (pid 1 runs as long as the machine does): another hub's creation under way, not touched.
    writeFileSync(join(d.dir, 'hub.db.new-1'), '');
    const store = open(d.dir);
    try {
      assert.deepEqual(store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all().map((r) => (r as { version: number }).version),
        HUB_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      store.close();
    }
    assert.deepEqual(readdirSync(d.dir).filter((f) => f.startsWith('hub.db.')).sort(), ['hub.db.new-1']);
    assert.equal(statSync(d.path).mode & 0o777, 0o600);
    // Its header says WAL before any hub opens it: the hubs opening it need not switch it (db.ts walMode).
    assert.equal(readFileSync(d.path)[18], 2, 'file format write version 2: WAL');
  });

  test('a creation that fails leaves no hub.db and no file of its own', (t) => {
    const d = dataDir(t);
    const failing = [...HUB_MIGRATIONS, { version: 9999, name: 'fails', sql: 'CREATE TABLE broken (' }];
    assert.throws(() => Store.open(d.dir, failing), /incomplete input|syntax error/);
    assert.deepEqual(readdirSync(d.dir), []);
  });
});
