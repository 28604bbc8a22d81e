// Two hubs on one PostgreSQL database, each with a data dir of its own (so each offers a different token),
// making the first admin token at the same moment (docs/hub.md "Several hubs"): PostgreSQL's READ COMMITTED
// lets both find api_tokens empty, so createFirstAdmin locks the table first (store/tokens-repo.ts). The
// interleaving is forced: hub A's first-start transaction is held open after its insert until hub B's
// connection waits on the lock (B runs in a worker thread: the store's calls block their thread). The
// database ends with one token, A's; B's first start returns null (the hub prints no token) and removes
// B's admin.token, whose token never works.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { HubConfig } from '../config.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { PgDb, startPostgres, type PgCluster } from '../testing/postgres.js';
import { ADMIN_TOKEN_FILE, adminTokenLine, ensureAdminToken } from './first-start.js';
import { besideTest } from '@edgefleet/examples';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('first-start-pg', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const cfg = (dataDir: string) => HubConfig.parse({ dataDir });
  const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  /** flags[0]: hub B may start (A holds its transaction open); flags[1]: B's first start returned. */
  const GO = 0;
  const DONE = 1;

  /** Hub B in a worker thread: opens its Store, waits for GO, runs its first start, posts what it returned. */
  const HUB_B = `
const { workerData: d, parentPort } = require('node:worker_threads');
(async () => {
  (await import(d.tsx)).register();
  const [{ Store }, { HUB_MIGRATIONS }, { HubConfig }, { ensureAdminToken }] = await Promise.all(d.modules.map((u) => import(u)));
  const store = Store.open(d.dataDir, HUB_MIGRATIONS, { database: d.database });
  const flags = new Int32Array(d.flags);
  parentPort.postMessage({ opened: true });
  Atomics.wait(flags, ${GO}, 0, 30000);
  try {
    parentPort.postMessage({ token: ensureAdminToken(HubConfig.parse({ dataDir: d.dataDir }), store, new Date(d.now)) });
  } finally {
    store.close();
    Atomics.store(flags, ${DONE}, 1);
  }
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

  let cluster: PgCluster;
  let dir: string;
  before(async () => {
    cluster = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'ef-first-start-pg-'));
  });
  after(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two hubs with data dirs of their own storing their first admin token at once: one token, the loser removes its file', async () => {
    const database = cluster.createDatabase();
    const [dirA, dirB] = [join(dir, 'hub-a'), join(dir, 'hub-b')];
    const a = Store.open(dirA, HUB_MIGRATIONS, { database });
    const probe = new PgDb(database);
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const modules = ['../store/index.ts', '../schema.ts', '../config.ts', './first-start.ts'].map((m) => besideTest(m, import.meta.url).href);
    const b = new Worker(HUB_B, {
      eval: true,
      workerData: { tsx: import.meta.resolve('tsx/esm/api'), modules, dataDir: dirB, database, flags: flags.buffer, now: now.toISOString() },
    });
    const messages: Array<{ opened?: true; token?: string | null; error?: string }> = [];
    const next = () => new Promise<(typeof messages)[number]>((resolve, reject) => {
      b.once('message', resolve);
      b.once('error', reject);
    });
    try {
      messages.push(await next());
      assert.deepEqual(messages[0], { opened: true }, JSON.stringify(messages[0]));
      const answer = next();
      /** Connections of this database waiting on a lock (hub B's, once it waits for A's). */
      const waiting = () => Number(probe.prepare(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      ).pluck().get());
      let bWaited = false;
      // Hub A's first start inside a transaction held open: its lock and its row stay uncommitted meanwhile.
      const first = a.db.transaction(() => {
        const token = ensureAdminToken(cfg(dirA), a, now);
        Atomics.store(flags, GO, 1);
        Atomics.notify(flags, GO);
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && Atomics.load(flags, DONE) === 0 && !(bWaited = waiting() > 0)) sleepSync(5);
        return token;
      })();
      messages.push(await answer);
      assert.equal(messages[1]?.error, undefined, messages[1]?.error);
      assert.equal(first, readFileSync(join(dirA, ADMIN_TOKEN_FILE), 'utf8').trim(), 'hub A stored its token and reports it (printed once)');
      assert.equal(messages[1]?.token, null, 'hub B stored nothing and prints nothing');
      assert.equal(existsSync(join(dirB, ADMIN_TOKEN_FILE)), false, 'hub B removed its token file: that token never works');
      assert.match(adminTokenLine(dirB, null) ?? '', /^no admin token in .*hub-b\/admin\.token: the hub's database already has API tokens .*edgefleet tokens create NAME --role admin$/, 'hub B says why it printed none');
      assert.equal(adminTokenLine(dirA, null), null, 'a hub whose data dir holds the token says nothing more at a later start');
      assert.deepEqual(a.tokens.list().tokens.map((t) => [t.name, t.role]), [['admin', 'admin']]);
      assert.ok(bWaited, 'hub B waited for hub A\'s transaction (the two first starts overlapped)');
      assert.equal(a.tokens.lookup(first ?? '')?.name, 'admin');
      assert.equal(a.audit.query({ action: 'token.create', limit: 10 }).length, 1);
    } finally {
      await b.terminate();
      probe.close();
      a.close();
    }
  });
});
