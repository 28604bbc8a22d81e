// Lock waits on PostgreSQL are bounded (docs/hub.md "Database"): a statement that waits for a row another
// session holds fails after lock_timeout with SQLITE_BUSY and a message naming it, its transaction
// committing nothing; a hub frozen inside a transaction has it ended by the server after
// idle_in_transaction_session_timeout, so the rows it held are free again and its own next statement fails
// as a lost connection (nothing committed); and migrations wait for another hub's migrations past
// lock_timeout instead of failing. Timeouts are shortened here; the defaults are LOCK_TIMEOUT_MS and
// IDLE_IN_TRANSACTION_MS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { toAppError, type AppError } from '@edgefleet/shared';
import { migrate } from '../db.js';
import { PgDb, type PgDbError } from './facade.js';
import { startPostgres, type PgCluster } from '../../testing/postgres.js';

const KV = 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);';

describe('PostgreSQL lock waits', () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  /** Another hub's session: BEGINs and writes row `k` (holding it) and leaves the transaction open. */
  async function holder(url: string, k: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => { /* the server may end it: that is the point */ });
    await c.connect();
    await c.query(`BEGIN; UPDATE kv SET v = 'held' WHERE k = '${k}'`);
    return c;
  }

  it('a statement waiting on a row another session holds fails after lock_timeout, naming it; nothing of its transaction is committed', async () => {
    const url = cluster.createDatabase();
    const db = new PgDb(url, { lockTimeoutMs: 300 });
    db.exec(KV);
    db.prepare("INSERT INTO kv (k, v) VALUES ('a', '1'), ('b', '1')").run();
    const other = await holder(url, 'a');
    try {
      const t0 = Date.now();
      assert.throws(() => db.transaction(() => {
        db.prepare("UPDATE kv SET v = '2' WHERE k = 'b'").run();
        db.prepare("UPDATE kv SET v = '2' WHERE k = 'a'").run();
      })(), (e: unknown) => (e as PgDbError).code === 'SQLITE_BUSY' && (e as PgDbError).pgCode === '55P03'
        && /held a row or table this statement needed for over 300 ms \(lock_timeout\); nothing of the transaction was committed/.test((e as Error).message));
      const waited = Date.now() - t0;
      assert.ok(waited >= 250 && waited < 5000, `failed after ${waited} ms`);
      // Across the API it is a 503 to try again, not an internal error.
      const busy = (() => { try { db.transaction(() => db.prepare("UPDATE kv SET v = '2' WHERE k = 'a'").run())(); } catch (e) { return toAppError(e); } return null; })();
      assert.deepEqual([busy?.code, busy?.httpStatus], ['DATABASE_BUSY', 503]);
      assert.match(busy?.message ?? '', /^the database is busy: canceling statement due to lock timeout: another session/);
      assert.equal(db.inTransaction, false);
      await other.query('ROLLBACK');
      assert.deepEqual(db.prepare('SELECT k, v FROM kv ORDER BY k').all(), [{ k: 'a', v: '1' }, { k: 'b', v: '1' }], 'b was not committed either');
      db.prepare("UPDATE kv SET v = '3' WHERE k = 'a'").run();
      assert.equal(db.prepare("SELECT v FROM kv WHERE k = 'a'").pluck().get(), '3', 'once the row is free the same write goes through');
    } finally {
      await other.end().catch(() => undefined);
      db.close();
    }
  });

  it('a hub frozen inside a transaction: the server ends it after idle_in_transaction_session_timeout and the rows it held are free', async () => {
    const url = cluster.createDatabase();
    const frozen = new PgDb(url, { idleInTransactionMs: 400 });
    const peer = new PgDb(url, { lockTimeoutMs: 5000 });
    try {
      frozen.exec(KV);
      frozen.prepare("INSERT INTO kv (k, v) VALUES ('a', '1')").run();
      const blockFor = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      assert.throws(() => frozen.transaction(() => {
        frozen.prepare("UPDATE kv SET v = 'frozen' WHERE k = 'a'").run();
        blockFor(1200); // the hub's thread stops (SIGSTOP, a paused VM) holding the row
        frozen.prepare("UPDATE kv SET v = 'late' WHERE k = 'a'").run();
      })(), (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE');
      const t0 = Date.now();
      peer.prepare("UPDATE kv SET v = 'peer' WHERE k = 'a'").run();
      assert.ok(Date.now() - t0 < 1000, 'the row was free: the peer did not wait for it');
      assert.equal(peer.prepare("SELECT v FROM kv WHERE k = 'a'").pluck().get(), 'peer', 'nothing of the frozen transaction was committed');
      frozen.prepare("UPDATE kv SET v = 'back' WHERE k = 'a'").run();
      assert.equal(peer.prepare("SELECT v FROM kv WHERE k = 'a'").pluck().get(), 'back', 'the frozen hub, thawed, works on a new connection');
    } finally {
      frozen.close();
      peer.close();
    }
  });

  it("migrations wait for another hub's migrations past lock_timeout instead of failing", async () => {
    const url = cluster.createDatabase();
    const db = new PgDb(url, { lockTimeoutMs: 200 });
    const other = new pg.Client({ connectionString: url });
    other.on('error', () => undefined);
    try {
      db.exec(KV);
      await other.connect();
      // Another hub applying migrations: it holds the migration lock; the server ends its session at 800 ms.
      await other.query('SET idle_in_transaction_session_timeout = 800; BEGIN; SELECT pg_advisory_xact_lock(7710150)');
      const t0 = Date.now();
      const applied = migrate(db, [{ version: 1, name: 'kv2', sql: 'CREATE TABLE kv2 (k TEXT PRIMARY KEY)' }]);
      const waited = Date.now() - t0;
      assert.deepEqual(applied, [1]);
      assert.ok(waited >= 600, `the migration waited for the lock (${waited} ms), past the 200 ms lock_timeout`);
      db.prepare("INSERT INTO kv2 (k) VALUES ('x')").run();
    } finally {
      await other.end().catch(() => undefined);
      db.close();
    }
  });
});
