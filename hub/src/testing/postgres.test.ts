// The tests' PostgreSQL cluster start (postgres.ts): a start that fails is tried again, and the error
// after the last try names each attempt's failure, not only the last; a file attached to the test
// run's cluster leaves none of its databases there when it stops.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachPostgres, PgDb, startPostgres } from './postgres.js';

describe('startPostgres', () => {
  it('tries a failing start 3 times and names each attempt', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ef-pgbin-'));
    const before = process.env['EDGEFLEET_PG_BIN'];
    try {
      // An initdb that fails, as on a full disk.
      writeFileSync(join(bin, 'initdb'), `#!/bin/sh\necho "no space left" >&2\nexit 3\n`);
      chmodSync(bin, 0o755); // initdb runs as the postgres user when we are root
      chmodSync(join(bin, 'initdb'), 0o755);
      process.env['EDGEFLEET_PG_BIN'] = bin;
      await assert.rejects(startPostgres(), (err: Error) => {
        assert.match(err.message, /did not start in 3 attempts/);
        assert.equal(err.message.match(/attempt \d: initdb failed \(3\): no space left/g)?.length, 3, err.message);
        return true;
      });
    } finally {
      if (before === undefined) delete process.env['EDGEFLEET_PG_BIN'];
      else process.env['EDGEFLEET_PG_BIN'] = before;
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('attachPostgres', () => {
  it('creates databases on a cluster it did not start and drops them when it stops, leaving the cluster up', async () => {
    const cluster = await startPostgres();
    const probe = new PgDb(cluster.url('postgres'));
    try {
      const template = new URL(cluster.createDatabase()).pathname.slice(1);
      const names = () => (probe.prepare('SELECT datname FROM pg_database').pluck().all() as string[]);
      const attached = attachPostgres(cluster.url(''));
      const a = attached.createDatabase();
      const b = attached.createDatabase({ template });
      const mine = [a, b].map((u) => new URL(u).pathname.slice(1));
      const onA = new PgDb(a);
      onA.exec('CREATE TABLE t (x int)');
      assert.deepEqual(names().filter((n) => mine.includes(n)).sort(), [...mine].sort());
      // A connection still open to one of them (a test that did not close its store) does not stop the drop.
      await attached.stop();
      onA.close();
      assert.deepEqual(names().filter((n) => mine.includes(n)), []);
      assert.ok(names().includes(template), 'the cluster and its other databases are still there');
    } finally {
      probe.close();
      await cluster.stop();
    }
  });
});
