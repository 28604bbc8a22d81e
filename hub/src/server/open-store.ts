// The store opened at start, waiting for a PostgreSQL server that cannot be reached yet (docs/operations.md
// "Running on PostgreSQL"): one that is booting or restarting with the hub (PostgreSQL's own "the database
// system is starting up" included) is tried again every second up to `databaseWaitMs`, instead of the
// start failing at once and a service manager giving up after a few quick restarts. A refusal by the
// server (a wrong password, a missing database, SCHEMA_TOO_NEW) is not waited for.
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@edgefleet/shared';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Store } from '../store/index.js';

export async function openStoreWaiting(open: () => Store, o: { waitMs: number; logger: LoggerPort; retryMs?: number }): Promise<Store> {
  const retryMs = o.retryMs ?? 1000;
  const deadline = Date.now() + o.waitMs;
  let waiting = false;
  for (;;) {
    try {
      const store = open();
      if (waiting) o.logger.info({}, 'PostgreSQL reached: starting');
      return store;
    } catch (err) {
      const unreachable = err instanceof AppError && err.code === 'DATABASE_UNAVAILABLE' && (err.details as { unreachable?: boolean } | undefined)?.unreachable === true;
      if (!unreachable || Date.now() + retryMs > deadline) throw err;
      if (!waiting) o.logger.warn({ err: err.message, waitMs: o.waitMs }, 'PostgreSQL cannot be reached yet: trying again every second (databaseWaitMs)');
      waiting = true;
      await sleep(retryMs);
    }
  }
}
