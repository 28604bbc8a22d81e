// The hub on PostgreSQL over TLS (docs/operations.md "Running on PostgreSQL", docs/hub.md "Database",
// docs/decisions/0075-postgresql-tls-verify-full-only.md), against a real cluster that takes only TLS
// connections (a CA and a certificate for 127.0.0.1 made with openssl, hostssl in pg_hba.conf):
// sslmode=verify-full with the CA starts the hub on an encrypted connection; a CA that did not sign the
// server's certificate, a URL without sslmode, another sslmode and a CA file that cannot be read are
// each refused at start within seconds, naming what was wrong and what was expected, with no `pg`
// process warning; a CA file gone while the hub runs fails its next connection, not the process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess } from '@edgefleet/examples';
import type { AppError } from '@edgefleet/shared';
import { PgDb, makeCa, startPostgres, type PgCluster } from '@edgefleet/hub/testing/postgres';

describe('the hub on PostgreSQL over TLS', () => {
  let pg: PgCluster;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-pg-tls-'));
    pg = await startPostgres({ tls: { only: true } });
  });
  after(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const runArgs = (url: string, name: string) => ['run', '--data-dir', join(dir, name), '--database', url, '--http-port', '0', '--mqtt-port', '0'];
  const plain = (url: string): string => url.split('?')[0] ?? url;
  const redacted = (url: string): string => url.replace(/[.?]/g, '\\$&');

  /** Runs the hub on `url`: exit 1 within 20 s (the default databaseWaitMs, 60 s, would show), no `pg` process warning. */
  async function refused(url: string, name: string): Promise<string> {
    const t0 = Date.now();
    const r = await runCli('hub/src/server/main.ts', runArgs(url, name), { timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 20_000, `refused after ${Date.now() - t0} ms`);
    assert.doesNotMatch(r.stderr, /SECURITY WARNING/);
    return r.stderr;
  }

  it('sslmode=verify-full with the CA: the hub starts, its connection encrypted, with no process warning', async () => {
    const url = pg.createDatabase();
    assert.match(url, /\?sslmode=verify-full&sslrootcert=\//);
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(join(dir, 'trust'), keys);
    const hub = startProcess('hub/src/server/main.ts', [...runArgs(url, 'verified'), '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
    try {
      await hub.waitForLine(/"msg":"hub ready"/, 60_000);
      assert.equal((await hub.stop()).code, 0);
      assert.doesNotMatch(hub.output().stderr, /SECURITY WARNING|Warning/);
    } finally {
      hub.kill();
    }
    const db = new PgDb(url);
    try {
      assert.deepEqual(db.prepare('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()').pluck().all(), [1]);
      assert.ok((db.prepare('SELECT count(*) FROM schema_migrations').pluck().get() as number) > 0, 'the hub migrated the database');
    } finally {
      db.close();
    }
  });

  it('a CA that did not sign the server\'s certificate: DATABASE_UNAVAILABLE naming the certificate and the CA file', async () => {
    const other = makeCa(mkdtempSync(join(dir, 'other-ca-')), 'another CA');
    const url = `${plain(pg.createDatabase())}?sslmode=verify-full&sslrootcert=${other}`;
    const err = await refused(url, 'other-ca');
    assert.match(err, new RegExp(`^error \\[DATABASE_UNAVAILABLE\\]: cannot open the hub's PostgreSQL database ${redacted(url)}: unable to verify the first certificate `
      + `\\(the server's certificate is not signed by the CA in sslrootcert=${redacted(other)}: expected sslrootcert to name the CA certificate that signed the server's`, 'm'));
  });

  it('no sslmode on a server that takes only TLS: PostgreSQL\'s refusal with the sslmode to add', async () => {
    const url = plain(pg.createDatabase());
    const err = await refused(url, 'no-sslmode');
    assert.match(err, /^error \[DATABASE_UNAVAILABLE\]: cannot open the hub's PostgreSQL database postgres:\/\/edgefleet@127\.0\.0\.1:\d+\/\w+: no pg_hba\.conf entry for host "127\.0\.0\.1", user "edgefleet", database "\w+", no encryption \(the server takes only TLS connections from this host \(hostssl in its pg_hba\.conf\): expected sslmode=verify-full&sslrootcert=\/path\/to\/ca\.pem in the URL\)/m);
  });

  it('sslmode=require: CONFIG_INVALID saying the hub verifies as verify-full and what to write', async () => {
    const url = `${plain(pg.createDatabase())}?sslmode=require&sslrootcert=${pg.tls?.ca}`;
    const err = await refused(url, 'require');
    assert.match(err, /^error \[CONFIG_INVALID\]: the PostgreSQL URL postgres:\/\/.*\?sslmode=require&.*: sslmode=require is not accepted: the hub verifies the server's certificate and name whenever it uses TLS, .* expected sslmode=verify-full \(with sslrootcert=\/path\/to\/ca\.pem for a private CA\) or sslmode=disable/m);
  });

  it('an sslrootcert that cannot be read: CONFIG_INVALID naming the path, at once', async () => {
    const missing = join(dir, 'no-such-ca.pem');
    const err = await refused(`${plain(pg.createDatabase())}?sslmode=verify-full&sslrootcert=${missing}`, 'missing-ca');
    assert.match(err, new RegExp(`^error \\[CONFIG_INVALID\\]: the PostgreSQL URL .*: sslrootcert=${redacted(missing)} cannot be read \\(ENOENT: .*\\): expected a PEM file with the CA certificate\\(s\\) that signed the server's certificate`, 'm'));
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'not a certificate\n');
    assert.throws(() => new PgDb(`${plain(pg.createDatabase())}?sslmode=verify-full&sslrootcert=${notPem}`), (e: AppError) => {
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.match(e.message, new RegExp(`sslrootcert=${redacted(notPem)} holds no PEM block: expected a PEM file`));
      return true;
    });
  });

  it('a CA file gone while the hub runs: its next connection fails naming the file, the process goes on', async () => {
    const ca = join(mkdtempSync(join(dir, 'ca-copy-')), 'ca.pem');
    copyFileSync(pg.tls?.ca ?? '', ca);
    const url = `${plain(pg.createDatabase())}?sslmode=verify-full&sslrootcert=${ca}`;
    const db = new PgDb(url);
    const admin = new PgDb(pg.url('postgres'));
    const failedWith = (): AppError => {
      try {
        db.prepare('SELECT 1').pluck().get();
      } catch (err) {
        return err as AppError;
      }
      return assert.fail('the statement ran');
    };
    try {
      assert.equal(db.prepare('SELECT 1').pluck().get(), 1);
      rmSync(ca);
      admin.prepare('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()').all(new URL(url).pathname.slice(1));
      // The next connection: `pg` reads sslrootcert again and cannot. The first statement may still reach
      // the terminated backend (its end not yet seen) and fail as lost; the one after it connects again.
      let e = failedWith();
      if (!/ENOENT/.test(e.message)) e = failedWith();
      assert.equal(e.code, 'DATABASE_UNAVAILABLE');
      assert.match(e.message, new RegExp(`^lost the connection to PostgreSQL at .*: the URL's TLS files cannot be read: ENOENT: no such file or directory, open '${redacted(ca)}'`));
      copyFileSync(pg.tls?.ca ?? '', ca);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(db.prepare('SELECT 1').pluck().get(), 1, 'the CA back: the next statement connects again');
    } finally {
      db.close();
      admin.close();
    }
  });
});
