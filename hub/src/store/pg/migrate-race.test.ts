// Hubs started at once on a new PostgreSQL database (docs/operations.md "Several hubs": they may all start
// at once). Each creates schema_migrations before it applies the migrations under the migration lock; two
// concurrent CREATE TABLE IF NOT EXISTS of one name make PostgreSQL fail the second with `duplicate key value
// violates unique constraint "pg_type_typname_nsp_index"` once the first commits, and that hub stopped with
// INTERNAL (seen with three `edgefleet-hub run` on one new database). The interleaving is forced: another
// hub's session creates the table under the migration lock and commits 0.8 s later, server side, while this
// hub migrates.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate } from '../db.js';
import { PgDb } from './facade.js';
import { startPostgres, type PgCluster } from '../../testing/postgres.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('migrate-race', () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a hub migrating while another hub creates schema_migrations waits for it and applies the migrations', async () => {
    const url = cluster.createDatabase();
    const other = new pg.Client({ connectionString: url });
    const probe = new pg.Client({ connectionString: url });
    await Promise.all([other.connect(), probe.connect()]);
    const db = new PgDb(url);
    try {
      // The other hub's first step, run by the server alone (this thread blocks in migrate below).
      const done = other.query(`BEGIN; SELECT pg_advisory_xact_lock(7710150);
      CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
      SELECT pg_sleep(0.8); COMMIT`).then(() => null, (err: unknown) => err);
      for (let i = 0; i < 200; i++) {
        const r = await probe.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()");
        if (r.rowCount) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const applied = migrate(db, [{ version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY)' }]);
      assert.equal(await done, null, 'the other hub committed');
      assert.deepEqual(applied, [1]);
      assert.deepEqual(db.prepare('SELECT version, name FROM schema_migrations').all(), [{ version: 1, name: 'kv' }]);
    } finally {
      db.close();
      await Promise.all([other.end(), probe.end()]);
    }
  });
});
