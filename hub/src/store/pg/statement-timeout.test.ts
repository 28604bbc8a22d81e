// A slow statement on a PostgreSQL server that answers is bounded (docs/hub.md "Stopping"): the server
// cancels it after the hub's statement timeout (STATEMENT_TIMEOUT_MS by default, shortened here), it fails
// as DATABASE_BUSY naming the timeout, nothing of its transaction is committed and the connection goes on;
// migrations alone may run up to MIGRATION_STATEMENT_MS, and that longer timeout ends with their transaction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError } from '@edgefleet/shared';
import { migrate } from '../db.js';
import { MIGRATION_STATEMENT_MS, PgDb, STATEMENT_TIMEOUT_MS } from './facade.js';
import { startPostgres, type PgCluster } from '../../testing/postgres.js';

const KV = 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);';

describe('PostgreSQL statement timeout', () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  const show = (db: PgDb) => db.prepare('SHOW statement_timeout').pluck().get();

  it('is STATEMENT_TIMEOUT_MS on the server unless set: 20 s, not a minute', () => {
    const db = new PgDb(cluster.createDatabase());
    try {
      assert.equal(STATEMENT_TIMEOUT_MS, 20_000);
      assert.equal(show(db), '20s');
      assert.equal(db.prepare('SHOW lock_timeout').pluck().get(), '15s', 'LOCK_TIMEOUT_MS');
    } finally {
      db.close();
    }
  });

  it('a shorter one (the hub\'s databaseStatementTimeoutMs) keeps lock waits under it, so they still fail as lock waits', () => {
    const db = new PgDb(cluster.createDatabase(), { statementTimeoutMs: 4000 });
    try {
      assert.deepEqual([show(db), db.prepare('SHOW lock_timeout').pluck().get()], ['4s', '3s']);
    } finally {
      db.close();
    }
  });

  it('a statement past it fails as DATABASE_BUSY naming the timeout; nothing of its transaction is committed, the connection goes on', () => {
    const db = new PgDb(cluster.createDatabase(), { statementTimeoutMs: 300 });
    try {
      db.exec(KV);
      const insert = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      const keys = () => db.prepare('SELECT k FROM kv ORDER BY k').pluck().all();
      const t0 = Date.now();
      assert.throws(() => db.transaction(() => {
        insert.run('a', '1');
        db.prepare('SELECT pg_sleep(30)').get();
      })(), (e: unknown) => {
        assert.equal((e as AppError).code, 'DATABASE_BUSY', (e as Error).message);
        assert.match((e as Error).message, /cancelled a statement \(canceling statement due to statement timeout\): it ran past the hub's 300 ms statement timeout.*nothing of its transaction was committed/);
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `failed after ${Date.now() - t0} ms`);
      assert.deepEqual(keys(), [], 'nothing of the transaction was committed');
      insert.run('b', '1');
      assert.deepEqual(keys(), ['b'], 'the same connection goes on');
    } finally {
      db.close();
    }
  });

  it('a migration may run up to MIGRATION_STATEMENT_MS; the hub\'s own statements after it are bounded again', () => {
    const db = new PgDb(cluster.createDatabase(), { statementTimeoutMs: 300 });
    try {
      assert.ok(MIGRATION_STATEMENT_MS >= STATEMENT_TIMEOUT_MS);
      assert.deepEqual(migrate(db, [{ version: 1, name: 'slow', sql: KV, postgres: `SELECT pg_sleep(1); ${KV}` }]), [1]);
      assert.equal(show(db), '300ms', 'the longer timeout ended with the migration\'s transaction');
      assert.throws(() => db.prepare('SELECT pg_sleep(1)').get(), (e: unknown) => (e as AppError).code === 'DATABASE_BUSY');
    } finally {
      db.close();
    }
  });
});
