// The HubDb surface behaves the same on SQLite and PostgreSQL (docs/decisions/0040-postgresql.md):
// lastInsertRowid and changes, INSERT OR IGNORE / OR REPLACE, nested transactions rolled back to their
// savepoint, bytes, integers and NULLs round-tripped, pluck/raw/iterate, constraint errors with
// SQLite's codes, every hub migration applied to PostgreSQL, and SCHEMA_TOO_NEW refused on both.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toAppError, type AppError } from '@edgefleet/shared';
import { HUB_MIGRATIONS } from '../../schema.js';
import { openDb, openPgDb, schemaVersion, type Db } from '../db.js';
import type { Migration } from '../migrations.js';
import { Store } from '../index.js';
import { forEachBackend, type Backend } from '../../testing/backends.js';
import { translateDdl, translateStatement } from './dialect.js';

const T: Migration = {
  version: 1, name: 'parity',
  sql: `CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, n INTEGER, x REAL, b BLOB);
        CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, w INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE log (at TEXT NOT NULL);
        CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'log is append-only'); END;`,
};

let backend: Backend;
let dir: string;
const open = (migrations: readonly Migration[], database = backend.database({ empty: true })): Db =>
  database ? openPgDb(database, migrations) : openDb(join(dir, `p-${Math.random().toString(36).slice(2)}.db`), migrations);

forEachBackend((b) => { backend = b; dir = mkdtempSync(join(tmpdir(), 'ef-parity-')); }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  suite();
});

function suite(): void {
  it('statements: ids, changes, conflicts, values, modes', () => {
    const db = open([T]);
    try {
      const ins = db.prepare('INSERT INTO items (name, n, x, b) VALUES (?, ?, ?, ?)');
      assert.equal(Number(ins.run('a', 2 ** 40, 1.5, Buffer.from([0, 1, 255])).lastInsertRowid), 1);
      assert.equal(Number(ins.run('b', null, null, null).lastInsertRowid), 2);
      assert.equal(db.prepare('INSERT OR IGNORE INTO items (name) VALUES (?)').run('a').changes, 0);
      assert.throws(() => ins.run('a', 1, 1, null), (e: { code: string }) => e.code === 'SQLITE_CONSTRAINT_UNIQUE');
      const row = db.prepare('SELECT id, name, n, x, b FROM items WHERE name = ?').get('a') as { id: number; n: number; x: number; b: Buffer };
      assert.deepEqual([row.id, row.n, row.x, [...row.b]], [1, 2 ** 40, 1.5, [0, 1, 255]]);
      assert.deepEqual(db.prepare('SELECT name FROM items ORDER BY id').pluck().all(), ['a', 'b']);
      assert.deepEqual(db.prepare('SELECT id, name FROM items ORDER BY id').raw().all(), [[1, 'a'], [2, 'b']]);
      assert.deepEqual([...db.prepare('SELECT COUNT(*) AS n, SUM(n) AS s FROM items').iterate()], [{ n: 2, s: 2 ** 40 }]);
      assert.equal(db.prepare('SELECT n FROM items WHERE name = ?').get('nope'), undefined);
      assert.equal(db.prepare('SELECT COUNT(*) FROM items WHERE (? IS NULL OR name = ?)').pluck().get(null, null), 2);
      db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)').run('k', 'one');
      db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)').run('k', 'two');
      assert.deepEqual(db.prepare('SELECT k, v, w FROM kv').all(), [{ k: 'k', v: 'two', w: 0 }]);
      assert.equal(db.prepare('UPDATE items SET n = 0').run().changes, 2);
      db.prepare('INSERT INTO log (at) VALUES (?)').run('x');
      assert.throws(() => db.prepare('DELETE FROM log').run(), /append-only/);
    } finally {
      db.close();
    }
  });

  it('transactions commit, roll back, and nest as savepoints', () => {
    const db = open([T]);
    try {
      const put = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      const names = () => db.prepare('SELECT k FROM kv ORDER BY k').pluck().all();
      db.transaction(() => { put.run('a', '1'); })();
      assert.throws(() => db.transaction(() => { put.run('b', '1'); throw new Error('boom'); })(), /boom/);
      assert.deepEqual(names(), ['a']);
      db.transaction(() => {
        put.run('c', '1');
        assert.equal(db.inTransaction, true);
        assert.throws(() => db.transaction(() => { put.run('d', '1'); throw new Error('inner'); })(), /inner/);
        put.run('e', '1');
      })();
      assert.deepEqual(names(), ['a', 'c', 'e']);
      assert.equal(db.inTransaction, false);
    } finally {
      db.close();
    }
  });

  it('a full disk is SQLITE_FULL on both, so DISK_FULL (507) to callers', () => {
    const db = open([T]);
    try {
      if (backend.database({ empty: true })) {
        // What PostgreSQL answers when it cannot extend a file (SQLSTATE 53100 disk_full).
        (db as unknown as { execNative(sql: string): void }).execNative("CREATE FUNCTION full_disk() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$ LANGUAGE plpgsql; CREATE TRIGGER log_full BEFORE INSERT ON log FOR EACH ROW EXECUTE FUNCTION full_disk();");
      } else {
        db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      }
      const err = (() => {
        try {
          db.prepare('INSERT INTO log (at) VALUES (?)').run('x'.repeat(20_000));
        } catch (e) {
          return e as { code?: string };
        }
        return assert.fail('the insert was not refused');
      })();
      assert.equal(err.code, 'SQLITE_FULL');
      assert.deepEqual([toAppError(err).code, toAppError(err).httpStatus], ['DISK_FULL', 507]);
    } finally {
      db.close();
    }
  });

  it('every hub migration applies; the store opens again with nothing to do', () => {
    const database = backend.database({ empty: true });
    const store = Store.open(dir, HUB_MIGRATIONS, { database: database ?? join(dir, `hub-${Math.random()}.db`) });
    try {
      assert.equal(schemaVersion(store.db), Math.max(...HUB_MIGRATIONS.map((m) => m.version)));
      store.audit.append({ actor: 'ops', actorId: 'tok_1', action: 'device.add', target: 'd', at: new Date() });
      assert.throws(() => store.db.prepare("UPDATE audit SET actor_id = 'x'").run(), /append-only/);
    } finally {
      store.close();
    }
  });

  it('a database newer than this hub is refused (SCHEMA_TOO_NEW) and left unchanged', () => {
    const database = backend.database({ empty: true }) ?? join(dir, `new-${Math.random()}.db`);
    const isPg = database.startsWith('postgres');
    const future: Migration = { version: 99, name: 'future', sql: 'CREATE TABLE future (x TEXT)' };
    (isPg ? openPgDb(database, [T, future]) : openDb(database, [T, future])).close();
    assert.throws(() => (isPg ? openPgDb(database, [T]) : openDb(database, [T])), (err: AppError) => err.code === 'SCHEMA_TOO_NEW' && /migration 99 \("future"\)/.test(err.message));
    const db = isPg ? openPgDb(database, [T, future]) : openDb(database, [T, future]);
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 99]);
    db.close();
  });
}

describe('the dialect', () => {
  const catalog = { primaryKey: (t: string) => (t === 'kv' ? ['k'] : undefined), identity: (t: string) => (t === 'items' ? 'id' : undefined) };
  it('translates placeholders, conflicts and ids, and refuses SQLite-only functions and triggers it cannot translate', () => {
    assert.deepEqual(translateStatement("SELECT * FROM t WHERE a = ? AND b = '?' AND (? IS NULL)", catalog).sql, "SELECT * FROM t WHERE a = $1 AND b = '?' AND ($2::text IS NULL)");
    assert.deepEqual(translateStatement('INSERT INTO items (name) VALUES (?)', catalog), { sql: 'INSERT INTO items (name) VALUES ($1) RETURNING id', returning: 'id' });
    assert.equal(translateStatement('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', catalog).sql, 'INSERT   INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
    assert.throws(() => translateStatement("SELECT json_extract(x, '$.a') FROM t", catalog), (e: AppError) => e.code === 'UNSUPPORTED_SQL' && /json_extract\(\) is SQLite-only/.test(e.message));
    assert.throws(() => translateDdl('CREATE TRIGGER t AFTER INSERT ON x BEGIN UPDATE y SET n = n + 1; END;'), (e: AppError) => e.code === 'UNSUPPORTED_SQL' && /postgres` override/.test(e.message));
    assert.match(translateDdl('CREATE TABLE w (id INTEGER PRIMARY KEY, window TEXT, b BLOB, r REAL)'), /id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "window" TEXT, b BYTEA, r DOUBLE PRECISION/);
  });
});
