// SIGTERM while the hub waits on a statement that a PostgreSQL server which still answers is slow to
// finish (docs/hub.md "Stopping"): the hub's event loop waits with the statement, so the signal waits
// too, but only up to the statement timeout (databaseStatementTimeoutMs, 20 s by default, 3 s here): the
// server cancels it, and the hub is gone within that and 10 s of the signal with exit 0 (30 s with the
// default). The slow write committed nothing, and its request was answered with the error naming the
// timeout. A real hub process and a real PostgreSQL, whose trigger sleeps 45 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { startPostgres, PgDb, type PgCluster } from '@edgefleet/hub/testing/postgres';
import { fixtureAndHub, type HubSetup } from './helpers.js';

/** The hub's statement timeout here; the stop's 9 s and a second more on top of it bound the exit. */
const STATEMENT_MS = 3000;
const GONE_WITHIN_MS = STATEMENT_MS + 10_000;

describe('a hub on PostgreSQL stopped during a slow statement', () => {
  let dir: string;
  let pg: PgCluster;
  let url: string;
  let s: HubSetup | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-pg-slow-'));
    pg = await startPostgres();
    url = pg.createDatabase();
  });
  after(async () => {
    await s?.hub.stop();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is gone within the statement timeout and 10 s of SIGTERM with exit 0, and the slow write committed nothing', async () => {
    s = await fixtureAndHub(dir, { config: { database: url, databaseStatementTimeoutMs: STATEMENT_MS } });
    const hub = s.hub;
    const admin = new PgDb(url);
    const count = (sql: string) => Number(admin.prepare(sql).pluck().get());
    try {
      // Every new enrollment token now takes the server 45 s: longer than any statement timeout, shorter than a minute.
      admin.execNative(`CREATE FUNCTION ef_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(45); RETURN NEW; END $$;
        CREATE TRIGGER ef_slow BEFORE INSERT ON enrollment_tokens FOR EACH ROW EXECUTE FUNCTION ef_slow();`);
      const tokens = count('SELECT COUNT(*) FROM enrollment_tokens');
      const audited = count("SELECT COUNT(*) FROM audit WHERE action = 'enrollment-token.create'");
      const waiting = hub.api('POST', '/enrollment-tokens', { note: 'slow' }).then(() => 'answered', (e: Error) => e.message);
      await waitFor('the INSERT sleeping in its trigger on the server', () =>
        count("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()") > 0 || undefined, { timeoutMs: 30_000, intervalMs: 50 });
      const signalled = Date.now();
      hub.process.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([hub.process.exited, new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), GONE_WITHIN_MS); })]);
      clearTimeout(timer);
      const took = Date.now() - signalled;
      const out = hub.process.output();
      if (stopped === 'late') assert.fail(`the hub was still running ${GONE_WITHIN_MS} ms after SIGTERM; last output:\n${(out.stdout + out.stderr).slice(-3000)}`);
      assert.equal(stopped.code, 0, `exit code; last output:\n${(out.stdout + out.stderr).slice(-3000)}`);
      assert.match(out.stdout, /"msg":"hub stopped"/);
      assert.match(await waiting, new RegExp(`\\[DATABASE_BUSY\\].*ran past the hub's ${STATEMENT_MS} ms statement timeout`), 'the request held up by the slow statement failed, naming the timeout');
      assert.equal(count('SELECT COUNT(*) FROM enrollment_tokens'), tokens, 'no token was stored');
      assert.equal(count("SELECT COUNT(*) FROM audit WHERE action = 'enrollment-token.create'"), audited, 'no audit entry was stored');
      console.log(`# the hub exited ${took} ms after SIGTERM`);
    } finally {
      if (hub.process.child.exitCode === null) hub.process.kill();
      admin.close();
    }
  });
});
