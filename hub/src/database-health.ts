// What GET /api/v1/ready says of the database (docs/hub.md "Health and readiness",
// docs/decisions/0085-readiness-sees-a-database-failure-at-once.md). It read only what the lease
// renewals found, every 5 s by default, so a stopped database was reported up to 5 s late while a load
// balancer kept sending requests that failed. Now a request that failed with DATABASE_UNAVAILABLE marks
// the database down at once, and /ready asks the database itself (one SELECT 1) when the hub's last word
// on it is READY_RECHECK_MS old: probes however many cost the database at most one statement a second.
// GET /health still asks nothing.
import { toAppError, type DependencyState } from '@edgefleet/shared';
import type { DependencyWatch } from './health.js';
import type { LoggerPort } from './mqtt/ports.js';

export const READY_RECHECK_MS = 1000;

export class DatabaseHealth {
  /** `ping` throws when the database does not answer (the store's own statement deadline bounds it). */
  constructor(private readonly watch: DependencyWatch, private readonly ping: () => void, private readonly logger: LoggerPort) {}

  /** What the hub knows; `fresh` (GET /ready): asked again first when that is a second old. */
  get(fresh = false): DependencyState {
    if (fresh && this.watch.age() >= READY_RECHECK_MS) {
      try {
        this.ping();
        this.watch.up();
      } catch (err) {
        this.failed(err, 'the readiness check (SELECT 1)');
      }
    }
    return this.watch.get();
  }

  /** A statement failed with the database unreachable: down at once, logged when that is news. */
  failed(err: unknown, what: string): void {
    if (this.watch.down(err)) this.logger.warn({ err: toAppError(err).message }, `the database failed ${what}: GET /api/v1/ready answers 503 until it answers again`);
  }
}
