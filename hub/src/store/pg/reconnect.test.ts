// The hub's PostgreSQL connection survives the server dropping it (docs/hub.md "Database"): after the
// server terminated the hub's backend (what a restart does to it), the next statement connects again;
// a transaction open on the lost connection fails as a whole (DATABASE_UNAVAILABLE) and none of it is
// committed; a server stopped and started again (transactions tried meanwhile) is used again once back;
// a statement with no answer within its deadline drops the connection and the next one makes a new one;
// a new connection that gets no answer is a lost one (DATABASE_UNAVAILABLE); a server frozen with
// SIGSTOP fails the statement waiting on it within seconds (a probe on a second connection gets no
// answer) and the next ones at once, until it answers again; a stop's deadline (finishBy) ends a wait sooner;
// and with the server gone a statement fails at once with DATABASE_UNAVAILABLE, not a hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppError } from '@edgefleet/shared';
import { openPgDb, type Db } from '../db.js';
import type { Migration } from '../migrations.js';
import { PROBE_AFTER_MS, PgDb } from './facade.js';
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

  /** A fresh database with table kv holding 'a', its insert and its sorted keys, closed after `fn`. */
  async function withKv(fn: (db: Db, put: (k: string) => void, keys: () => unknown[], url: string) => void | Promise<void>): Promise<void> {
    const url = cluster.createDatabase();
    const db: Db = openPgDb(url, [T]);
    try {
      const insert = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      const put = (k: string): void => { insert.run(k, '1'); };
      put('a');
      await fn(db, put, () => db.prepare('SELECT k FROM kv ORDER BY k').pluck().all(), url);
    } finally {
      db.close();
    }
  }

  it('reconnects on the next statement; a transaction on the lost connection commits nothing', () => withKv((db, put, keys, url) => {
    dropConnections(url);
    put('b');
    assert.deepEqual(keys(), ['a', 'b'], 'the statement after the drop ran on a new connection');

    // Dropped in the middle of a transaction: its next statement fails, the whole of it is gone.
    const half = db.transaction(() => {
      put('c');
      dropConnections(url);
      put('d');
    });
    assert.throws(() => half(), unavailable);
    assert.equal(db.inTransaction, false);
    assert.deepEqual(keys(), ['a', 'b'], 'nothing of the lost transaction was committed');
    db.transaction(() => { put('e'); })();
    assert.deepEqual(keys(), ['a', 'b', 'e']);
  }));

  it('works again once a stopped server is back, after transactions tried while it was down', () => withKv(async (db, put, keys) => {
    await cluster.down();
    // What the hub's timers and device messages do meanwhile: transactions, one right after another
    // (a BEGIN within the second after a failed reconnect is refused without trying).
    const down = (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE';
    for (let i = 0; i < 3; i++) {
      assert.throws(() => db.transaction(() => { put(`x${i}`); })(), down);
      assert.throws(() => keys(), down);
    }
    await cluster.up();
    await sleep(1100); // past the one reconnect a second
    db.transaction(() => { put('b'); })();
    assert.deepEqual(keys(), ['a', 'b'], 'the transaction after the restart committed on a new connection');
  }));

  it('a statement with no answer in time: DATABASE_UNAVAILABLE, its transaction gone, the next statement on a new connection', async () => {
    const url = cluster.createDatabase();
    // The deadline is the statement timeout + the answer margin (5 s unless set; 2 s here); the session's
    // own timeout is lifted so that the server keeps sleeping past it, as a server that stopped answering would.
    const db = new PgDb(url, { statementTimeoutMs: 200, answerMarginMs: 2000 });
    try {
      db.exec(T.sql);
      const insert = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
      const keys = () => db.prepare('SELECT k FROM kv ORDER BY k').pluck().all();
      const silent = () => { db.execNative('SET statement_timeout = 0'); db.prepare('SELECT pg_sleep(30)').get(); };
      const late = (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE' && /did not answer within 2200 ms/.test((e as Error).message);
      insert.run('a', '1');
      const t0 = Date.now();
      assert.throws(silent, late);
      assert.ok(Date.now() - t0 < 15_000, `answered in ${Date.now() - t0} ms`);
      insert.run('b', '1');
      assert.deepEqual(keys(), ['a', 'b'], 'the statement after the deadline ran on a new connection');

      // In a transaction that catches the error and goes on: nothing after it runs (it would commit on
      // its own on the new connection), and the transaction fails as a whole.
      assert.throws(() => db.transaction(() => {
        insert.run('c', '1');
        try { silent(); } catch { /* a caller that swallows it */ }
        insert.run('d', '1');
      })(), (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE');
      assert.equal(db.inTransaction, false);
      await sleep(300); // the old backend finds its client gone once its sleep is cancelled or ends
      assert.deepEqual(keys(), ['a', 'b'], 'nothing of the transaction was committed');
      db.transaction(() => { insert.run('e', '1'); })();
      assert.deepEqual(keys(), ['a', 'b', 'e']);
    } finally {
      db.close();
    }
  });

  it('a new connection that gets no answer (timeout expired) is DATABASE_UNAVAILABLE, as any lost one', async () => {
    // A proxy in a process of its own (this thread blocks on each statement): it forwards to the server
    // until told `silent`, then drops the connections it forwards and accepts new ones without a word.
    const proxy = spawn(process.execPath, ['--input-type=module', '-e', `
      import net from 'node:net';
      import { createInterface } from 'node:readline';
      let silent = false; const open = new Set();
      const server = net.createServer((c) => {
        open.add(c); c.on('close', () => open.delete(c)); c.on('error', () => {});
        if (silent) { c.resume(); return; }
        const up = net.connect(Number(process.argv[1]), '127.0.0.1'); open.add(up); up.on('error', () => c.destroy());
        c.pipe(up).pipe(c);
      }).listen(0, '127.0.0.1', () => console.log(server.address().port));
      createInterface({ input: process.stdin }).on('line', () => { silent = true; for (const s of open) s.destroy(); console.log('silent'); });
    `, new URL(cluster.url('postgres')).port], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: proxy.stdout! })[Symbol.asyncIterator]();
    const db = new PgDb(cluster.createDatabase().replace(/:\d+\//, `:${Number((await lines.next()).value)}/`));
    try {
      db.exec(T.sql);
      proxy.stdin!.write('silent\n');
      assert.equal((await lines.next()).value, 'silent');
      blockFor(300);
      const t0 = Date.now();
      // The reconnect waits on the silent proxy; the probe (worker-link.ts PROBE_AFTER_MS) finds nothing answers.
      assert.throws(() => db.prepare('SELECT COUNT(*) FROM kv').get(), (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE' && /did not answer a new connection/.test((e as Error).message));
      assert.throws(() => db.prepare('SELECT COUNT(*) FROM kv').get(), (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE');
      assert.ok(Date.now() - t0 < 15_000, `answered in ${Date.now() - t0} ms`);
    } finally {
      db.close();
      proxy.kill();
    }
  });

  it('a server that stops answering (SIGSTOP): the waiting statement fails within seconds, the next at once; a stop\'s deadline ends a wait sooner', async () => {
    const url = cluster.createDatabase();
    const db: Db = openPgDb(url, [T]);
    const stopping = new PgDb(url);
    const down = (re: RegExp) => (e: unknown) => (e as AppError).code === 'DATABASE_UNAVAILABLE' && re.test((e as Error).message);
    const timed = (fn: () => void, re: RegExp): number => {
      const t0 = performance.now();
      assert.throws(fn, down(re));
      return performance.now() - t0;
    };
    try {
      const count = () => db.prepare('SELECT COUNT(*) FROM kv').pluck().get();
      stopping.prepare('SELECT 1').get();
      cluster.freeze();
      // The hub's stop: no wait past its deadline, nothing sent after it (shorter than the probe's wait).
      stopping.finishBy(performance.now() + 800);
      const cut = timed(() => stopping.prepare('SELECT 1').get(), /did not answer within \d+ ms/);
      assert.ok(cut < PROBE_AFTER_MS, `the stop's deadline ended the wait after ${cut} ms`);
      assert.ok(timed(() => stopping.prepare('SELECT 1').get(), /the hub is stopping/) < 100, 'after the deadline nothing waits');

      const first = timed(count, /did not answer a new connection within 2500 ms/);
      assert.ok(first >= PROBE_AFTER_MS && first < 15_000, `the probe failed the statement after ${first} ms, not the 25 s deadline`);
      assert.ok(timed(count, /did not answer a new connection/) < 100, 'the next statement fails at once while the server is silent');
      cluster.thaw();
      // A probe once a second finds it answering again; then the next statement connects again.
      let n: unknown;
      for (const until = Date.now() + 15_000; n === undefined && Date.now() < until;) {
        try { n = count(); } catch { await sleep(200); }
      }
      assert.equal(n, 0, 'statements work again once the server answers (kv is empty)');
    } finally {
      cluster.thaw();
      stopping.close();
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
