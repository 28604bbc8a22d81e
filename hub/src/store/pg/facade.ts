// The hub's database on PostgreSQL behind the synchronous HubDb surface (store/hub-db.ts;
// docs/decisions/0040-postgresql.md): each statement is translated once (store/pg/dialect.ts),
// posted to the worker that owns the connection (store/pg/worker.ts, started and waited on through
// store/pg/worker-link.ts), and the main thread blocks on Atomics.wait until it answers, as better-sqlite3
// blocks on the disk. One connection, one caller at a time: a transaction is BEGIN ... COMMIT on it
// (nested ones are savepoints). Prepared statements (run/get/all, pluck, raw) are store/pg/statement.ts.
import { receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { AppError } from '@edgefleet/shared';
import type { HubDb, HubStatement, HubTransaction } from '../hub-db.js';
import { translateDdl, translateStatement, type Catalog, type Translated } from './dialect.js';
import { PgStatement } from './statement.js';
import type { Request, Response } from './worker.js';
import { IDLE_IN_TRANSACTION_MS, LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, awaitFlag, openFailure, releaseWorker, startWorker } from './worker-link.js';
import { tlsProblem } from './tls.js';

export { CONNECT_TIMEOUT_MS, IDLE_IN_TRANSACTION_MS, LOCK_TIMEOUT_MS, MIGRATION_STATEMENT_MS, PROBE_AFTER_MS, PROBE_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, awaitFlag } from './worker-link.js';

export interface PgOptions {
  /** How long one statement may take before the hub gives up on the server (ms, default STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs?: number;
  /** How long a statement waits for a lock another session holds (ms, default LOCK_TIMEOUT_MS, less under a shorter statement timeout); migrations wait longer. */
  lockTimeoutMs?: number;
  /** How much longer than the statement timeout a statement's answer is waited for before its connection is dropped (ms, default 5 s). */
  answerMarginMs?: number;
  /** The server ends a session idle this long inside a transaction (ms, default IDLE_IN_TRANSACTION_MS), releasing its locks. */
  idleInTransactionMs?: number;
}

/** SQLite's error codes for PostgreSQL's, so callers and messages read the same on both. */
// 53100 disk_full: the server could not extend a file. As SQLITE_FULL it is DISK_FULL (507) like SQLite's.
const CODES: Record<string, string> = { 23505: 'SQLITE_CONSTRAINT_UNIQUE', 23503: 'SQLITE_CONSTRAINT_FOREIGNKEY', 23502: 'SQLITE_CONSTRAINT_NOTNULL', 23514: 'SQLITE_CONSTRAINT_CHECK', P0001: 'SQLITE_CONSTRAINT_TRIGGER', 53100: 'SQLITE_FULL' };

export class PgDbError extends Error {
  constructor(message: string, readonly code: string, readonly pgCode: string | undefined) {
    super(message);
    this.name = 'PgDbError';
  }
}

/** The URL without its password, for messages and `db.name`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export class PgDb implements HubDb, Catalog {
  readonly dialect = 'postgres' as const;
  readonly name: string;
  private readonly url: string;
  private worker!: Worker;
  private port!: MessagePort;
  private signal!: Int32Array;
  private timeoutMs: number;
  private readonly lockTimeoutMs: number;
  private readonly answerMarginMs: number;
  private readonly idleInTransactionMs: number;
  /** A statement of the open transaction got no answer: the transaction is gone with its connection. */
  private txLost = false;
  private readonly cache = new Map<string, Translated & { name: string }>();
  private pks = new Map<string, string[]>();
  private identities = new Map<string, string>();
  private depth = 0;
  private statements = 0;
  private closed = false;
  /** No wait ends later than this (performance.now()): the hub's stop (finishBy). */
  private finishAt = Infinity;

  constructor(url: string, opts: PgOptions = {}) {
    this.name = redactUrl(url);
    this.url = url;
    this.timeoutMs = opts.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
    // Under the statement timeout, so that a lock wait still fails as one (3/4 of the default is LOCK_TIMEOUT_MS).
    this.lockTimeoutMs = opts.lockTimeoutMs ?? Math.min(LOCK_TIMEOUT_MS, Math.floor(this.timeoutMs * 3 / 4));
    this.idleInTransactionMs = opts.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS;
    this.answerMarginMs = opts.answerMarginMs ?? 5_000;
    const tls = tlsProblem(url);
    if (tls) throw new AppError('CONFIG_INVALID', `the PostgreSQL URL ${this.name}: ${tls}`);
    this.startWorker();
    try {
      this.refreshCatalog();
    } catch (err) {
      this.close();
      throw new AppError('DATABASE_UNAVAILABLE', `cannot open the hub's PostgreSQL database ${this.name}: ${openFailure(err as Error, this.url)}. `
        + 'Expected a reachable server and an existing database the URL\'s user may create tables in (docs/operations.md "Running on PostgreSQL")',
      // unreachable: no connection (refused, lost, no answer), which may come right; not a refusal by the server.
      { cause: err, details: { unreachable: err instanceof AppError } });
    }
  }

  /** A new worker, flag and channel (store/pg/worker-link.ts); the connection is made on its first statement. */
  private startWorker(): void {
    ({ worker: this.worker, port: this.port, signal: this.signal } = startWorker(this.url, { statementTimeoutMs: this.timeoutMs, lockTimeoutMs: this.lockTimeoutMs, idleInTransactionMs: this.idleInTransactionMs }));
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /**
   * From now on no statement waits past `at` (performance.now()), and none is sent after it: the hub's
   * stop has a deadline for the database like for every other step (docs/hub.md "Stopping").
   */
  finishBy(at: number): void {
    this.finishAt = Math.min(this.finishAt, at);
  }

  /** Sends one request and blocks until the worker answers (or the deadline passes). */
  call(req: Request, waitMs = this.timeoutMs + this.answerMarginMs): { rows: unknown[]; rowCount: number; reusable?: boolean } {
    if (this.closed) throw new AppError('DATABASE_UNAVAILABLE', `the database ${this.name} is closed`);
    const left = Math.floor(this.finishAt - performance.now());
    if (req.op !== 'end' && left < waitMs) {
      if (left <= 0) throw new AppError('DATABASE_UNAVAILABLE', `the hub is stopping and its time for the database ${this.name} is up: the statement was not sent`);
      waitMs = left;
    }
    if (this.txLost) {
      // The transaction's connection was dropped: nothing more of it may run (on the new connection it
      // would commit on its own); its COMMIT fails, its ROLLBACK has nothing left to do.
      const sql = req.op === 'script' ? req.sql.trim().toUpperCase() : '';
      if (this.depth === 0 && (sql === 'COMMIT' || sql === 'ROLLBACK')) this.txLost = false;
      if (sql === 'ROLLBACK' || sql.startsWith('ROLLBACK TO SAVEPOINT')) return { rows: [], rowCount: 0 };
      throw new AppError('DATABASE_UNAVAILABLE', `PostgreSQL at ${this.name} did not answer a statement of this transaction in time; nothing of it was committed`);
    }
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage(req);
    if (!awaitFlag(this.signal, waitMs)) {
      // A late answer would be taken for the next statement's: this connection and its worker go, and
      // a new worker connects on the next statement (a network cut or a stopped server heals by itself).
      this.worker.terminate().catch(() => { /* the thread is gone either way */ });
      this.port.close();
      if (req.op === 'end') {
        this.closed = true;
      } else {
        this.startWorker();
        if (this.depth > 0) this.txLost = true;
      }
      throw new AppError('DATABASE_UNAVAILABLE', `PostgreSQL at ${this.name} did not answer within ${waitMs} ms; the hub dropped that connection and connects again on its next statement`);
    }
    const msg = receiveMessageOnPort(this.port);
    if (!msg) throw new AppError('INTERNAL', 'the PostgreSQL worker woke the hub without an answer');
    const res = msg.message as Response;
    if (!res.ok && res.error.lost) {
      throw new AppError('DATABASE_UNAVAILABLE', `lost the connection to PostgreSQL at ${this.name}: ${res.error.message}. `
        + 'The hub connects again on its next statement (at most once a second) once the server is back', { cause: new Error(res.error.message) });
    }
    if (!res.ok && res.error.code === '55P03') {
      throw new PgDbError(`${res.error.message}: another session (another hub) held a row or table this statement needed for over ${this.lockTimeoutMs} ms (lock_timeout); `
        + 'nothing of the transaction was committed, and it may be tried again', 'SQLITE_BUSY', res.error.code);
    }
    if (!res.ok && res.error.code === '57014') {
      throw new AppError('DATABASE_BUSY', `PostgreSQL at ${this.name} cancelled a statement (${res.error.message}): it ran past the hub's `
        + `${this.timeoutMs} ms statement timeout (docs/hub.md "Stopping"); nothing of its transaction was committed. A server this slow is overloaded: try again later`);
    }
    if (!res.ok) throw new PgDbError(res.error.message, (res.error.code && CODES[res.error.code]) ?? `PG_${res.error.code ?? 'ERROR'}`, res.error.code);
    return res;
  }

  refreshCatalog(): void {
    const rows = this.call({ op: 'catalog' }).rows as Array<{ t: string; c: string; kind: string }>;
    this.pks = new Map();
    this.identities = new Map();
    for (const r of rows) {
      if (r.kind === 'identity') this.identities.set(r.t, r.c);
      else this.pks.set(r.t, [...(this.pks.get(r.t) ?? []), r.c]);
    }
    this.cache.clear();
  }

  primaryKey(table: string): readonly string[] | undefined {
    return this.pks.get(table);
  }

  identity(table: string): string | undefined {
    return this.identities.get(table);
  }

  translate(sql: string): Translated & { name: string } {
    let t = this.cache.get(sql);
    if (!t) {
      // Named (prepared once on the server) while the cache is small; SQL built per call beyond that runs unnamed.
      t = { ...translateStatement(sql, this), name: this.cache.size < 2000 ? `ef${++this.statements}` : '' };
      if (t.name) this.cache.set(sql, t);
    }
    return t;
  }

  prepare(sql: string): HubStatement {
    return new PgStatement(this, sql);
  }

  /** Runs a script: migration DDL in SQLite's dialect, translated (store/pg/dialect.ts). */
  exec(sql: string): this {
    this.call({ op: 'script', sql: translateDdl(sql) });
    if (/\b(CREATE|ALTER)\s+TABLE\b/i.test(sql)) this.refreshCatalog();
    return this;
  }

  /**
   * Runs a script already in PostgreSQL's dialect (a migration's `postgres` override). The catalog is read
   * again after one that may change a table (not after the migration lock's: a catalog read per open less).
   */
  execNative(sql: string): this {
    this.call({ op: 'script', sql });
    if (/\b(CREATE|ALTER|DROP|RENAME)\b/i.test(sql)) this.refreshCatalog();
    return this;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same shape as better-sqlite3's
  transaction<F extends (...args: any[]) => any>(fn: F): HubTransaction<F> {
    return ((...args: unknown[]): ReturnType<F> => {
      const sp = `ef_sp${this.depth}`;
      this.call({ op: 'script', sql: this.depth === 0 ? 'BEGIN' : `SAVEPOINT ${sp}` });
      this.depth++;
      let out: ReturnType<F>;
      try {
        out = (fn as (...a: unknown[]) => ReturnType<F>)(...args);
        this.depth--;
      } catch (err) {
        this.depth--;
        try {
          this.call({ op: 'script', sql: this.depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${sp}; RELEASE SAVEPOINT ${sp}` });
        } catch { /* the first error is the one to report */ }
        throw err;
      }
      // A COMMIT that fails ends the transaction on the server (rolled back); a RELEASE that fails
      // throws into the enclosing transaction, which rolls back.
      this.call({ op: 'script', sql: this.depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${sp}` });
      return out;
    }) as HubTransaction<F>;
  }

  /**
   * Runs `fn` in a transaction whose statements may each run up to `ms` (SET LOCAL statement_timeout, and
   * the wait for them): migrations at start (MIGRATION_STATEMENT_MS), not the hub's own statements.
   */
  slowTransaction<T>(ms: number, fn: () => T): T {
    const ordinary = this.timeoutMs;
    return this.transaction(() => {
      this.call({ op: 'script', sql: `SET LOCAL statement_timeout = ${Math.floor(ms)}` });
      this.timeoutMs = ms;
      try {
        return fn();
      } finally {
        this.timeoutMs = ordinary;
      }
    })();
  }

  /** SQLite's pragmas have no meaning here: the ones the hub sets are ignored, others refused. */
  pragma(source: string): unknown {
    if (/^\s*(journal_mode|synchronous|foreign_keys|busy_timeout)\s*=/.test(source)) return [];
    throw new AppError('UNSUPPORTED_SQL', `pragma ${source} is SQLite-only; the hub is on PostgreSQL (${this.name})`);
  }

  close(): this {
    if (this.closed) return this;
    let reusable = false;
    try {
      // Bounded like every stop step (docs/hub.md "Stopping"): the thread is terminated, or kept for the
      // next PgDb when its connection ended cleanly (worker-link.ts releaseWorker), either way.
      reusable = this.call({ op: 'end' }, 2_000).reusable === true;
    } catch { /* closing anyway */ }
    this.closed = true;
    releaseWorker({ worker: this.worker, port: this.port, signal: this.signal }, reusable);
    return this;
  }
}
