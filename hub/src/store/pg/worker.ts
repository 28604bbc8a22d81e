// The worker thread that owns the hub's one PostgreSQL connection (docs/decisions/0040-postgresql.md).
// The main thread (store/pg/facade.ts) posts one request at a time on `port` and blocks on `flag`;
// this thread runs it with `pg`, posts the answer and wakes the main thread. int8 and numeric come
// back as numbers (bigint beyond 2^53), booleans as 1/0, bytea as bytes: what better-sqlite3 returns.
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { CONNECT_TIMEOUT_MS, PROBE_AFTER_MS, PROBE_TIMEOUT_MS } from './worker-timeouts.js';

export type Request =
  | { op: 'query'; sql: string; params: unknown[]; name: string | null; array: boolean }
  | { op: 'script'; sql: string }
  | { op: 'catalog' }
  | { op: 'end' }
  /** Connect to another database: sent, unanswered, to a worker an ended PgDb left for the next (worker-link.ts releaseWorker). */
  | { op: 'open'; session: Session };

export type Response =
  /** `reusable` (to `end`): the connection ended cleanly and nothing of it is left running; the worker may take an `open`. */
  | { ok: true; rows: unknown[]; rowCount: number; reusable?: boolean }
  | { ok: false; error: { message: string; code?: string; constraint?: string; detail?: string; lost?: boolean } };

/** The database this worker connects to, and the session's timeouts (facade.ts PgOptions). */
export interface Session { url: string; statementTimeoutMs: number; lockTimeoutMs: number; idleInTransactionMs: number }
interface Data { session: Session; flag: SharedArrayBuffer; port: MessagePort }
const { flag, port } = workerData as Data;
let session = (workerData as Data).session;
const signal = new Int32Array(flag);

const int8 = (v: string): number | bigint => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};
const parsers: Record<number, (v: string) => unknown> = { 20: int8, 1700: Number, 16: (v) => (v === 't' ? 1 : 0) };
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => parsers[oid] ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};
// The connection, replaced when the server dropped it (a restart, an administrator's terminate): the
// next statement outside a transaction connects again, at most once a second. A transaction open on
// the lost connection is gone: its statements fail until the main thread's COMMIT or ROLLBACK ends it.
/** Undefined only while `pg` could not make the first one (connect()). */
let client: pg.Client | undefined;
let connected: Promise<void>;
let broken: Error | null = null;
/** BEGIN sent and no COMMIT or ROLLBACK since. */
let inTx = false;
/** When a reconnect last failed: the next try waits a second from it. */
let failedAt = 0;
/** Set while the server answers no probe (worker-link.ts PROBE_AFTER_MS): statements fail at once meanwhile. */
let silent: Error | null = null;
/** A connection of this worker's was made: before that, CONNECT_TIMEOUT_MS alone bounds the wait (the hub's start). */
let connectedOnce = false;

function connect(): void {
  let c: pg.Client;
  try {
    c = new pg.Client({
      connectionString: session.url, types, statement_timeout: session.statementTimeoutMs, lock_timeout: session.lockTimeoutMs,
      idle_in_transaction_session_timeout: session.idleInTransactionMs, connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
  } catch (err) {
    // `pg` reads the URL's sslrootcert, sslcert and sslkey here: a file gone since the start (store/pg/tls.ts
    // checked it then) fails this connection as one not made (08001), instead of the thread's uncaught error.
    failedAt = Date.now();
    broken = Object.assign(new Error(`the URL's TLS files cannot be read: ${(err as Error).message}`), { code: '08001' });
    connected = Promise.resolve();
    return;
  }
  c.on('error', (err) => {
    if (c === client) broken = err;
  });
  client = c;
  broken = null;
  connected = c.connect().then(() => {
    connectedOnce = true;
  }, (err: Error) => {
    failedAt = Date.now();
    if (c === client) broken = err;
  });
}
connect();

/**
 * A connection lost: the class 08 codes, the server shutting down (57P0x), the socket itself, or a new
 * connection that got no answer within CONNECT_TIMEOUT_MS (pg's "timeout expired").
 */
function isConnectionLoss(e: { code?: string; message?: string }): boolean {
  return /^(08|57P0)/.test(e.code ?? '') || /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH)$/.test(e.code ?? '')
    || /Connection terminated|connection error|not queryable|^timeout expired$/i.test(e.message ?? '');
}

const lost = (why: string) => Object.assign(new Error(`the connection to PostgreSQL was lost in the middle of this transaction (${why}); nothing of it was committed`), { code: '08006' });

/**
 * The connection to run `req` on (null: nothing to run), reconnecting when it was lost outside a
 * transaction. `inTx` changes only for a statement that goes to the server: a BEGIN refused here
 * (the server still down) opened nothing, and the main thread sends no ROLLBACK for it.
 */
async function usable(req: Request): Promise<pg.Client | null> {
  await connected;
  const sql = req.op === 'script' ? req.sql.trim().toUpperCase() : '';
  const ends = sql === 'COMMIT' || sql === 'ROLLBACK';
  if (broken && inTx) {
    if (ends) inTx = false;
    if (sql === 'ROLLBACK') return null; // the server rolled it back when the connection went
    throw lost(broken.message);
  }
  if (silent) throw silent;
  if (broken) {
    if (Date.now() - failedAt < 1000) throw broken;
    if (client) void client.end().catch(() => undefined);
    connect();
    await connected;
    if (broken) throw broken;
  }
  if (!client) throw new Error('no connection to PostgreSQL was made');
  if (sql === 'BEGIN') inTx = true;
  else if (ends) inTx = false;
  return client;
}

function answer(res: Response): void {
  port.postMessage(res);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

async function run(req: Exclude<Request, { op: 'open' }>): Promise<Response> {
  if (req.op === 'end') {
    // A server that does not answer never acknowledges the goodbye: the thread is terminated next anyway.
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([client ? client.end().then(() => true, () => false) : Promise.resolve(true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), 500); })]);
    clearTimeout(timer);
    // Reused only when nothing of this connection is left (no probe loop, no statement): a new PgDb's
    // worker costs ~0.1-0.3 s of CPU to start (the thread, `pg`), and tests open hundreds.
    const reusable = ended && !silent && !broken && !inTx;
    if (reusable) {
      client = undefined;
      connected = Promise.resolve();
      connectedOnce = false;
      failedAt = 0;
    }
    return { ok: true, rows: [], rowCount: 0, reusable };
  }
  const c = await usable(req);
  if (!c) return { ok: true, rows: [], rowCount: 0 };
  try {
    return await runOn(c, req);
  } catch (err) {
    if (isConnectionLoss(err as Error)) broken ??= err as Error;
    // A BEGIN that failed opened nothing, and the main thread sends no ROLLBACK for it.
    if (req.op === 'script' && req.sql.trim().toUpperCase() === 'BEGIN') inTx = false;
    throw err;
  }
}

async function runOn(client: pg.Client, req: Exclude<Request, { op: 'end' | 'open' }>): Promise<Response> {
  switch (req.op) {
    case 'query': {
      const params = req.params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
      const r = await client.query({ text: req.sql, values: params, ...(req.name ? { name: req.name } : {}), ...(req.array ? { rowMode: 'array' } : {}) });
      return { ok: true, rows: r.rows as unknown[], rowCount: r.rowCount ?? 0 };
    }
    case 'script': {
      await client.query(req.sql);
      return { ok: true, rows: [], rowCount: 0 };
    }
    case 'catalog': {
      // From pg_catalog, not information_schema (whose views cost 20-50 ms a call, made at every open
      // and after every DDL statement); a primary key's columns in their order.
      const r = await client.query(`
        SELECT c.relname AS t, a.attname AS c, 'identity' AS kind FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND c.relkind IN ('r', 'p')
            AND a.attidentity <> '' AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT * FROM (SELECT c.relname, a.attname, 'pk' FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
          WHERE k.contype = 'p' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
          ORDER BY c.relname, u.ord) pks`);
      return { ok: true, rows: r.rows as unknown[], rowCount: r.rowCount ?? 0 };
    }
  }
}

function failure(err: unknown): Response {
  const e = err as { message?: string; code?: string; constraint?: string; detail?: string };
  return { ok: false, error: { message: e.message ?? String(err), ...(e.code ? { code: e.code } : {}), ...(e.constraint ? { constraint: e.constraint } : {}), ...(e.detail ? { detail: e.detail } : {}), ...(isConnectionLoss(e) ? { lost: true } : {}) } };
}

/** Whether the server answers `SELECT 1` on a new connection within PROBE_TIMEOUT_MS; a refusal is an answer. */
async function answers(): Promise<boolean> {
  const c = new pg.Client({ connectionString: session.url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  c.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS); });
  try {
    return await Promise.race([c.connect().then(() => c.query('SELECT 1')).then(() => true, (e: Error) => e.message !== 'timeout expired'), late]);
  } finally {
    clearTimeout(timer);
    void c.end().catch(() => undefined); // pg drops the socket of a connection still starting or waiting on a query
  }
}

/** Probes once a second while the server is silent; the next statement after an answer connects again. */
function probeUntilAnswered(): void {
  setTimeout(() => {
    void answers().then((ok) => {
      if (ok) silent = null;
      else probeUntilAnswered();
    }, () => probeUntilAnswered());
  }, 1000);
}

/** The request being answered and when it (or its last answered probe) began; one at a time (the facade waits for each). */
interface Pending { since: number; done: boolean; probing: boolean; settle(res: Response): void }
let pending: Pending | null = null;
/** One timer for the worker, not one per statement: the check is on every statement's path. */
let watchdog: NodeJS.Timeout | null = null;
const WATCH_TICK_MS = 250;

/**
 * Watches the request in flight (facade.ts PROBE_AFTER_MS): once it has waited that long the server is
 * probed; if it does not answer, the request fails as lost, its connection is dropped (a hung query's
 * socket is destroyed) and the worker is silent until a probe is answered. An answered probe starts the wait again.
 */
function watchTick(): void {
  const p = pending;
  if (!p || p.done || p.probing || silent || !connectedOnce || Date.now() - p.since < PROBE_AFTER_MS) return;
  p.probing = true;
  const probed = (ok: boolean): void => {
    p.probing = false;
    if (p.done) return;
    if (ok) {
      p.since = Date.now();
      return;
    }
    silent = Object.assign(new Error(`PostgreSQL did not answer a new connection within ${PROBE_TIMEOUT_MS} ms while a statement waited `
      + `${PROBE_AFTER_MS} ms (a stopped server or dropped packets); statements fail at once until it answers again`), { code: '08006' });
    broken = silent;
    failedAt = Date.now();
    // pg settles no connect() that end() cut short: the next statement must not wait on that one.
    if (client) void client.end().catch(() => undefined);
    connected = Promise.resolve();
    probeUntilAnswered();
    p.settle(failure(silent));
  };
  void answers().then(probed, () => probed(false));
}

port.on('message', (req: Request) => {
  if (req.op === 'open') {
    session = req.session;
    connect();
    return;
  }
  // One answer per request: a late result of one that was failed by the watchdog is dropped.
  const p: Pending = {
    since: Date.now(), done: false, probing: false,
    settle(res) {
      if (p.done) return;
      p.done = true;
      if (pending === p) pending = null;
      answer(res);
    },
  };
  if (req.op !== 'end') {
    pending = p;
    watchdog ??= setInterval(watchTick, WATCH_TICK_MS).unref();
  }
  run(req).then((res) => p.settle(res), (err: unknown) => p.settle(failure(err)));
});
