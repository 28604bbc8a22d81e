// How the PostgreSQL facade (store/pg/facade.ts) reaches the worker thread that owns the connection
// (store/pg/worker.ts; docs/decisions/0040-postgresql.md): starting the worker with its flag and channel,
// blocking on the flag until it answers, how long the worker waits for the server (connect, probe) and
// the session's timeouts (statement, lock, idle in a transaction),
// and why a first connection failed, in the operator's terms.
import { statSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { AppError } from '@edgefleet/shared/core';
import { tlsFailureHint } from './tls.js';
import { CONNECT_TIMEOUT_MS } from './worker-timeouts.js';
import type { Request, Session } from './worker.js';

export { CONNECT_TIMEOUT_MS, PROBE_AFTER_MS, PROBE_TIMEOUT_MS } from './worker-timeouts.js';

/**
 * A statement waits this long at most for a row or table another hub holds (docs/hub.md "Database"): well
 * past any transaction a hub makes, well short of the statement timeout, so a SIGTERM is not held longer.
 */
export const LOCK_TIMEOUT_MS = 15_000;
/** A hub frozen inside a transaction (SIGSTOP, a paused VM) has it ended by the server after this, its locks released. */
export const IDLE_IN_TRANSACTION_MS = 30_000;
/**
 * The server cancels a statement of the hub's that runs longer (statement_timeout). The event loop waits
 * for each statement, and a signal cannot reach it meanwhile (docs/hub.md "Stopping"), so this bounds how
 * long SIGTERM waits: with the stop's 9 s the hub is gone within 30 s, the installed unit's TimeoutStopSec
 * and Kubernetes' default grace period. Above LOCK_TIMEOUT_MS, so that a lock wait still fails as one.
 */
export const STATEMENT_TIMEOUT_MS = 20_000;
/** Migrations at start may run longer (an index over a large table; another hub's migrations waited on). */
export const MIGRATION_STATEMENT_MS = 60_000;

/** A started worker: requests go on `port`, and it sets `signal[0]` once it has posted the answer. */
export interface WorkerLink {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

/**
 * The worker's entry: dist/store/pg/worker.js. From source (tests and benches run through tsx, whose hooks
 * a worker does not inherit), the built worker too while it is at least as new as its two sources, run
 * without the parent's flags (`--conditions=source` would resolve @edgefleet/shared to its .ts files):
 * registering tsx in each worker costs about a second per connection. Else a bootstrap that registers tsx
 * first. A failure to load is answered like a failed statement, so the first blocking call reports it
 * instead of waiting out its deadline.
 */
function workerEntry(): [string | URL, { eval?: boolean; execArgv?: string[] }] {
  if (!import.meta.url.endsWith('.ts')) return [new URL('./worker.js', import.meta.url), {}];
  const built = new URL('../../../dist/store/pg/worker.js', import.meta.url);
  if (builtIsFresh(built, [new URL('./worker.ts', import.meta.url), new URL('./worker-timeouts.ts', import.meta.url)])) return [built, { execArgv: [] }];
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const file = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  return [`import(${api}).then((m) => { m.register(); return import(${file}); }).catch((e) => {
    const { workerData: d } = require('node:worker_threads');
    d.port.postMessage({ ok: false, error: { message: 'the PostgreSQL worker did not start: ' + String(e && e.message || e) } });
    const s = new Int32Array(d.flag); Atomics.store(s, 0, 1); Atomics.notify(s, 0);
  });`, { eval: true }];
}

/** Whether `built` exists and is no older than any of `sources` (checked once per process). */
let freshness: boolean | undefined;
function builtIsFresh(built: URL, sources: readonly URL[]): boolean {
  if (freshness !== undefined) return freshness;
  try {
    const at = statSync(built).mtimeMs;
    freshness = sources.every((s) => statSync(s).mtimeMs <= at);
  } catch {
    freshness = false;
  }
  return freshness;
}

/** Session settings each connection of a worker is made with (PgOptions, facade.ts). */
export interface SessionTimeouts { statementTimeoutMs: number; lockTimeoutMs: number; idleInTransactionMs: number }

/** Workers whose PgDb closed cleanly, kept (unref'd, no connection) for the next startWorker of this process. */
const idle: WorkerLink[] = [];
const IDLE_WORKERS = 2;

/**
 * A worker with a connection of its own (made on its first statement), its own flag and channel: one a
 * closed PgDb left (releaseWorker), told the new database, or else a new thread.
 */
export function startWorker(url: string, timeouts: SessionTimeouts): WorkerLink {
  const session: Session = { url, ...timeouts };
  const reused = idle.pop();
  if (reused) {
    reused.port.postMessage({ op: 'open', session } satisfies Request);
    return reused;
  }
  const flag = new SharedArrayBuffer(4);
  const signal = new Int32Array(flag);
  const { port1: port, port2 } = new MessageChannel();
  const [entry, how] = workerEntry();
  const worker = new Worker(entry, {
    ...how, workerData: { session, flag, port: port2 }, transferList: [port2],
  });
  worker.unref();
  port.unref();
  return { worker, port, signal };
}

/**
 * The worker of a PgDb that closed: kept for the next PgDb when its `end` said it is `reusable` (its
 * connection ended cleanly), up to IDLE_WORKERS; else terminated. Opening a database then costs a
 * connection, not a thread and `pg` loaded again (~0.1-0.3 s of CPU; the tests open hundreds):
 * docs/decisions/0158-pg-workers-reused-backend-files-share.md.
 */
export function releaseWorker(link: WorkerLink, reusable: boolean): void {
  if (reusable && idle.length < IDLE_WORKERS) {
    idle.push(link);
    return;
  }
  link.worker.terminate().catch(() => { /* the thread is gone either way */ });
  link.port.close();
}

/**
 * Blocks until the worker sets `signal[0]` (it posts its answer first, then sets the flag and
 * notifies), or `waitMs` pass; false on the deadline. A wake with the flag still 0 is not an answer:
 * the worker's notify for the previous statement can land after this statement's wait began (the
 * worker thread preempted between its store and its notify on a busy box), so wait again.
 */
export function awaitFlag(signal: Int32Array, waitMs: number): boolean {
  const deadline = performance.now() + waitMs;
  while (Atomics.load(signal, 0) === 0) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(signal, 0, 0, left);
  }
  return true;
}

function urlHasPassword(url: string): boolean {
  try { return new URL(url).password !== ''; } catch { return false; }
}

/**
 * Why the first connection failed, in the operator's terms: `pg` says "SASL: SCRAM-SERVER-FIRST-MESSAGE:
 * client password must be a string" when the server asks for a password and none was found, and
 * "timeout expired" when nothing answered within CONNECT_TIMEOUT_MS; TLS failures get what to change (tls.ts).
 */
export function openFailure(err: Error, url?: string): string {
  // A connection that failed is reported as lost (PgDb.call); at the first one there is nothing to go on from.
  if (err instanceof AppError && err.cause instanceof Error) return openFailure(err.cause, url);
  if (url !== undefined && /^password authentication failed/.test(err.message) && !urlHasPassword(url) && !process.env['PGPASSWORD']) {
    // md5 auth with no password, or a stale ~/.pgpass line: the server's words do not say where it came from.
    return `${err.message}: the URL and PGPASSWORD give no password, so the one sent came from ~/.pgpass (PGPASSFILE) of the user the hub runs as, or none was given; expected that user's password in the URL, in ~/.pgpass or in PGPASSWORD`;
  }
  if (err.message === 'timeout expired') {
    return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s (a firewall dropping the packets, a stuck server, or something at that address that does not speak PostgreSQL)`;
  }
  if (/client password must be a string/.test(err.message)) {
    return 'the server asks for a password and none was given (put it in the URL, in ~/.pgpass of the user the hub runs as, or in PGPASSWORD)';
  }
  // A certificate refusal's Node code comes back as the error's PostgreSQL code (PgDbError.pgCode, facade.ts).
  const tls = url === undefined ? undefined : tlsFailureHint(err.message, (err as { pgCode?: string }).pgCode, url);
  return tls ? `${err.message} (${tls})` : err.message;
}
