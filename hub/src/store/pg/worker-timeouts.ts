// How long the PostgreSQL worker (store/pg/worker.ts) waits for the server: a module of its own, with no
// imports, so that the worker thread loads `pg` and this only (each PgDb starts one; @edgefleet/shared/core,
// which worker-link.ts needs for the main thread, cost the worker ~30-100 ms of CPU to load).
/** How long the worker waits for a new connection (TCP, TLS and the server's startup answer). */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Once the worker has had a connection, a request unanswered after PROBE_AFTER_MS makes it ask the
 * server for `SELECT 1` on a second connection; no answer within PROBE_TIMEOUT_MS (a server stopped
 * with SIGSTOP, packets dropped) fails the request as a lost connection, and every statement after it at
 * once until a probe is answered again (store/pg/worker.ts). A slow statement on a server that answers
 * waits on. So a server that stopped answering holds the event loop, signals included, about 5 s at
 * most (docs/hub.md "Stopping").
 */
export const PROBE_AFTER_MS = 2_000;
export const PROBE_TIMEOUT_MS = 2_500;
