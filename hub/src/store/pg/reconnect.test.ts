// The hub's PostgreSQL connection survives the server dropping it (docs/hub.md "Database"): after the
// server terminated the hub's backend (what a restart does to it), the next statement connects again;
// a transaction open on the lost connection fails as a whole (DATABASE_UNAVAILABLE) and none of it is
// committed; and with the server gone a statement fails at once with DATABASE_UNAVAILABLE, not a hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppError } from '@edgefleet/shared';
import { openPgDb, type Db } from '../db.js';
import type { Migration } from '../migrations.js';
import { PgDb } from './facade.js';
import { startPostgres, type PgCluster } from '../../testing/postgres.js';

const T: Migration = { version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);' };

describe('PostgreSQL connection lost', () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  /** Blocks this thread (the hub's statements block it the same way); the worker runs meanwhile. */
  const blockFor = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

  /** Terminates every other backend on the database, as a server restart or an administrator would. */
  function dropConnections(url: string): void {
    const admin = new PgDb(url);
    try {
      const n = admin.prepare('SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()').pluck().get();
      assert.ok(Number(n) >= 1, 'the hub\'s backend was terminated');
    } finally {
      admin.close();
    }
    blockFor(300); // the worker hears the server's goodbye on its own event loop
  }

  const unavailable = (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE' && /lost the connection to PostgreSQL/.test((e as Error).message);

  it('reconnects on the next statement; a transaction on the lost connection commits nothing', () => {
    const url = cluster.createDatabase();
    const db: Db = openPgDb(url, [T]);
    try {
      const put = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      const keys = () => db.prepare('SELECT k FROM kv ORDER BY k').pluck().all();
      put.run('a', '1');
      dropConnections(url);
      put.run('b', '1');
      assert.deepEqual(keys(), ['a', 'b'], 'the statement after the drop ran on a new connection');

      // Dropped in the middle of a transaction: its next statement fails, the whole of it is gone.
      const half = db.transaction(() => {
        put.run('c', '1');
        dropConnections(url);
        put.run('d', '1');
      });
      assert.throws(() => half(), unavailable);
      assert.equal(db.inTransaction, false);
      assert.deepEqual(keys(), ['a', 'b'], 'nothing of the lost transaction was committed');
      db.transaction(() => { put.run('e', '1'); })();
      assert.deepEqual(keys(), ['a', 'b', 'e']);
    } finally {
      db.close();
    }
  });

  it('with the server gone, a statement fails at once with DATABASE_UNAVAILABLE', async () => {
    const url = cluster.createDatabase();
    const db: Db = openPgDb(url, [T]);
    try {
      await cluster.stop();
      await sleep(300);
      const t0 = Date.now();
      assert.throws(() => db.prepare('SELECT COUNT(*) FROM kv').get(), (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE');
      assert.throws(() => db.prepare('SELECT COUNT(*) FROM kv').get(), (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE');
      assert.ok(Date.now() - t0 < 15_000, `answered in ${Date.now() - t0} ms`);
    } finally {
      db.close();
    }
  });
});
