// What Hub.start() (hub.ts) does beside building its parts: tidying what a hub that did not stop left
// behind, and watching the database and the broker for GET /api/v1/ready and the dependency gauges.
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import type { FleetLink, LoggerPort } from '../mqtt/ports.js';
import { DependencyWatch, databaseFailure, dependencyGauges } from '../health.js';
import { DatabaseHealth } from '../database-health.js';
import { HTTP_IDLE_MS } from './wiring.js';

/**
 * What a hub that was killed left: bundle uploads it staged (older than any live upload can be idle) go, and
 * with the embedded broker (`embedded`), which starts with no device connected, the devices it left online are
 * marked offline (an external broker's retained presence says who is; several hubs always use one).
 */
export function tidyAtStart(store: Store, embedded: boolean, logger: LoggerPort): void {
  const swept = store.blobs.sweepTemp(2 * HTTP_IDLE_MS);
  if (swept) logger.info({ files: swept }, 'removed bundle uploads a stopped hub left unfinished');
  if (!embedded) return;
  const stale = store.devices.markAllOffline();
  if (stale > 0) logger.info({ devices: stale }, 'devices marked online by a hub that did not stop marked offline');
}

/**
 * The database as the lease renewals find it (health.ts; it answered at start) and the broker as the link
 * says, for GET /api/v1/ready and the dependency gauges. Public answers name a failure's code only: its
 * message names the server.
 */
export function watchDependencies(store: Store, fleet: FleetLink, w: { clock: Clock; logger: LoggerPort; metrics: Metrics }) {
  const database = new DependencyWatch(() => w.clock.now(), true, undefined, databaseFailure);
  const dbHealth = new DatabaseHealth(database, () => store.db.prepare('SELECT 1').get(), w.logger);
  const dependencies = (fresh = false) => ({ database: dbHealth.get(fresh), broker: fleet.linkState?.() ?? { ok: true } });
  dependencyGauges(w.metrics, dependencies);
  return { database, dbHealth, dependencies };
}
