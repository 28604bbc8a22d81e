// The device search on a PostgreSQL database whose user may not create pg_trgm (docs/operations.md "Running on
// PostgreSQL"; docs/decisions/0099-device-search-index.md): hub.db migration 89 goes on without the index, the search
// finds the same devices by reading its table, and the index the operator adds later as the docs say is used.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from './index.js';
import { PgDb } from './pg/facade.js';
import { startPostgres, type PgCluster } from '../testing/postgres.js';

describe('device search on PostgreSQL without pg_trgm', () => {
  let pg: PgCluster;
  let dir: string;
  before(async () => {
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'ef-device-search-pg-'));
  });
  after(async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is migrated without the index, searches alike, and uses the index added later', () => {
    const url = pg.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const admin = new PgDb(url);
    // A user that may create tables in public but not extensions in the database (no CREATE on it).
    admin.execNative(`CREATE ROLE hub_user LOGIN; GRANT USAGE, CREATE ON SCHEMA public TO hub_user; REVOKE CREATE ON DATABASE "${name}" FROM PUBLIC;`);
    const s = Store.open(dir, HUB_MIGRATIONS, { database: url.replace('//edgefleet@', '//hub_user@') });
    try {
      const has = (sql: string) => admin.prepare(sql).get() !== undefined;
      assert.equal(has("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"), false);
      assert.equal(has("SELECT 1 FROM pg_indexes WHERE indexname = 'device_search_trgm'"), false);
      assert.equal(has('SELECT 1 FROM schema_migrations WHERE version = 89'), true);
      for (let i = 0; i < 30; i++) s.devices.create(`cam-${i}`, 's3cret-s3cret-s3cret', { site: i % 3 ? 'south' : 'North' }, null, new Date());
      const ids = (q: string) => s.devices.page({ q, limit: 100 }).devices.map((d) => d.id);
      const north = Array.from({ length: 10 }, (_, k) => `cam-${k * 3}`).sort();
      assert.deepEqual(ids('site=NORTH'), north);
      assert.deepEqual(ids('cam-2'), ['cam-2', 'cam-20', 'cam-21', 'cam-22', 'cam-23', 'cam-24', 'cam-25', 'cam-26', 'cam-27', 'cam-28', 'cam-29']);
      // As docs/operations.md says, by a user who may.
      admin.execNative('CREATE EXTENSION pg_trgm; CREATE INDEX device_search_trgm ON device_search USING gin (text gin_trgm_ops); ANALYZE device_search; SET enable_seqscan = off');
      const plan = (admin.prepare("EXPLAIN SELECT device_id FROM device_search WHERE text LIKE '%nort%' ESCAPE '\\'").all() as Array<Record<string, string>>)
        .map((r) => Object.values(r)[0]).join('\n');
      assert.match(plan, /Bitmap Index Scan on device_search_trgm/, plan);
      assert.deepEqual(ids('site=NORTH'), north);
      assert.deepEqual(s.devices.page({ q: 'south', limit: 100 }).total, 20);
    } finally {
      s.close();
      admin.close();
    }
  });
});
