// The real `edgefleet-hub run --database postgres://…` refused at start (docs/operations.md "Running on
// PostgreSQL", docs/hub.md "Database"): a server that asks for a password and gets none, a wrong
// password, a port nothing listens on, an address that never answers, a database that does not exist,
// a database the URL's user may not create tables in, and a database a newer hub migrated. Each exits 1 within seconds with `error [CODE]:` naming what was
// wrong (the password hidden) and what was expected; the refused database is left as it was. A server
// that is down at start is waited for (databaseWaitMs) and the hub starts once it is up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess } from '@edgefleet/examples';
import { PgDb, startPostgres, type PgCluster } from '@edgefleet/hub/testing/postgres';

const PASSWORD = 'pw-for-refusals';

describe('edgefleet-hub run refuses a PostgreSQL database it cannot use', () => {
  let pg: PgCluster;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-pg-refusals-'));
    pg = await startPostgres({ password: PASSWORD });
  });
  after(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ PGPASSWORD: undefined, PGPASSFILE: undefined, HOME: dir });
  /** A config file setting databaseWaitMs (the rest comes from flags). */
  const waitConfig = (name: string, ms: number): string[] => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ databaseWaitMs: ms }));
    return ['--config', file];
  };
  const runArgs = (url: string, name: string) => ['run', '--data-dir', join(dir, name), '--database', url, '--http-port', '0', '--mqtt-port', '0'];

  /**
   * Runs the hub on `url` with no PGPASSWORD and a HOME without ~/.pgpass; exit 1 within 20 s. A server
   * that refuses is not waited for (the default databaseWaitMs, 60 s, would show); `extra`: more arguments.
   */
  async function refused(url: string, name: string, extra: string[] = []): Promise<string> {
    const t0 = Date.now();
    const r = await runCli('hub/src/server/main.ts', [...runArgs(url, name), ...extra], { env: env(), timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 20_000, `refused after ${Date.now() - t0} ms`);
    assert.doesNotMatch(r.stderr, new RegExp(PASSWORD), 'the password is never printed');
    return r.stderr;
  }

  const withUser = (url: string, user: string): string => url.replace(/^postgres:\/\/[^@]*@/, `postgres://${user}@`);

  it('no password: says the server asks for one and where to give it', async () => {
    const url = withUser(pg.createDatabase(), 'edgefleet');
    const err = await refused(url, 'no-password');
    assert.match(err, /^error \[DATABASE_UNAVAILABLE\]: cannot open the hub's PostgreSQL database postgres:\/\/edgefleet@127\.0\.0\.1:\d+\/\w+: the server asks for a password and none was given \(put it in the URL, in ~\/\.pgpass .* or in PGPASSWORD\)\. Expected a reachable server/m);
  });

  it('a wrong password: PostgreSQL\'s refusal, the URL with its password hidden', async () => {
    const url = withUser(pg.createDatabase(), 'edgefleet:wrong-one');
    const err = await refused(url, 'wrong-password');
    assert.match(err, /^error \[DATABASE_UNAVAILABLE\]: cannot open the hub's PostgreSQL database postgres:\/\/edgefleet:\*\*\*@127\.0\.0\.1:\d+\/\w+: password authentication failed for user "edgefleet"\. Expected/m);
  });

  it('no password in the URL and a stale ~/.pgpass line: the server\'s refusal says where the password came from', async () => {
    const url = withUser(pg.createDatabase(), 'edgefleet');
    const home = join(dir, 'stale-pgpass');
    mkdirSync(home);
    writeFileSync(join(home, '.pgpass'), '127.0.0.1:*:*:edgefleet:an-old-password\n', { mode: 0o600 });
    const t0 = Date.now();
    const r = await runCli('hub/src/server/main.ts', runArgs(url, 'stale-pgpass'), { env: { ...env(), HOME: home }, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 20_000, `refused after ${Date.now() - t0} ms`);
    assert.match(r.stderr, /^error \[DATABASE_UNAVAILABLE\]: cannot open the hub's PostgreSQL database postgres:\/\/edgefleet@127\.0\.0\.1:\d+\/\w+: password authentication failed for user "edgefleet": the URL and PGPASSWORD give no password, so the one sent came from ~\/\.pgpass \(PGPASSFILE\) of the user the hub runs as, or none was given; expected/m);
    assert.doesNotMatch(r.stderr, /an-old-password/, 'the password is never printed');
  });

  it('a port nothing listens on: connection refused, nothing about connecting again later', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const err = await refused(`postgres://edgefleet:${PASSWORD}@127.0.0.1:${port}/edgefleet_hub`, 'no-server', waitConfig('no-server', 0));
    assert.match(err, new RegExp(`^error \\[DATABASE_UNAVAILABLE\\]: cannot open the hub's PostgreSQL database postgres://edgefleet:\\*\\*\\*@127\\.0\\.0\\.1:${port}/edgefleet_hub: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\. Expected a reachable server`, 'm'));
    assert.doesNotMatch(err, /connects again/);
  });

  it('an address that accepts connections and never answers: refused after the connect timeout, not a hang', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => { sockets.push(s); s.resume(); });
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
    try {
      const err = await refused(`postgres://edgefleet:${PASSWORD}@127.0.0.1:${port}/edgefleet_hub`, 'silent', waitConfig('silent', 0));
      assert.match(err, /^error \[DATABASE_UNAVAILABLE\]: cannot open the hub's PostgreSQL database .*: no answer within 10 s \(a firewall dropping the packets, a stuck server, or something at that address that does not speak PostgreSQL\)\. Expected/m);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('a server that is down at start and comes up within databaseWaitMs: the hub waits for it and starts', async () => {
    const url = pg.createDatabase();
    await pg.down();
    let up = false;
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(join(dir, 'trust'), keys);
    const hub = startProcess('hub/src/server/main.ts', [...runArgs(url, 'waits'), ...waitConfig('waits', 60_000),
      '--trust', trust.path, '--hub-key', keys.files.hub.keyPath], { env: env() });
    try {
      await hub.waitForLine(/PostgreSQL cannot be reached yet: trying again every second/, 30_000);
      await pg.up();
      up = true;
      await hub.waitForLine(/"msg":"hub ready"/, 60_000);
      assert.match(hub.output().stdout + hub.output().stderr, /"msg":"PostgreSQL reached: starting"/);
      assert.equal((await hub.stop()).code, 0);
    } finally {
      hub.kill();
      if (!up) await pg.up();
    }
  });

  it('a database its user may not create tables in: named with how to fix it; nothing made', async () => {
    const url = pg.createDatabase();
    const admin = new PgDb(url);
    try {
      // PostgreSQL 15 grants CREATE on schema public to the database's owner only (said again for older servers).
      admin.exec(`DROP ROLE IF EXISTS guest; CREATE ROLE guest LOGIN PASSWORD '${PASSWORD}'; REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      const err = await refused(withUser(url, `guest:${PASSWORD}`), 'no-create');
      assert.match(err, /^error \[DATABASE_UNAVAILABLE\]: cannot set up the hub's tables in the PostgreSQL database postgres:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/\w+: permission denied for schema public\. Expected a database the URL's user owns \(createdb -O USER …, or ALTER DATABASE … OWNER TO USER\)/m);
      assert.deepEqual(admin.prepare('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()').pluck().all(), [], 'no table was made');
    } finally {
      admin.close();
    }
  });

  it('a database that does not exist: named', async () => {
    const err = await refused(pg.url('no_such_db'), 'no-db');
    assert.match(err, /^error \[DATABASE_UNAVAILABLE\]: .*: database "no_such_db" does not exist\. Expected a reachable server and an existing database/m);
  });

  it('a database a newer hub migrated: SCHEMA_TOO_NEW naming the database and the migration; nothing changed', async () => {
    const url = pg.createDatabase();
    const db = new PgDb(url);
    const tables = (): unknown[] => db.prepare('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1').pluck().all();
    try {
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'from a newer hub', new Date().toISOString());
      const err = await refused(url, 'newer');
      assert.match(err, /^error \[SCHEMA_TOO_NEW\]: the hub's PostgreSQL database at postgres:\/\/edgefleet:\*\*\*@127\.0\.0\.1:\d+\/\w+ was written by a newer hub \(this hub is [^)]+\): it records migration 999 \("from a newer hub"\) that hub \S+ does not know\. Run that newer hub/m);
      assert.deepEqual(tables(), ['schema_migrations'], 'no table was made');
      assert.deepEqual(db.prepare('SELECT version FROM schema_migrations').pluck().all(), [999]);
    } finally {
      db.close();
    }
  });
});
