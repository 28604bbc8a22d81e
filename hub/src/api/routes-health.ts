// Liveness and readiness (docs/hub.md "Health and readiness"), both public. GET /health answers 200
// while the hub serves HTTP, with its clock (`edgefleet-agent enroll` compares the box's with it), the
// hub lease and what the hub knows of its database and broker link; GET /ready answers 503 while either
// is down. The state comes from the hub's own lease renewals, its requests that found the database
// unreachable, and the broker link's events (health.ts); GET /ready also asks the database when the
// hub's last word on it is a second old (database-health.ts), so a flood of probes costs the database
// at most one statement a second, and GET /health nothing.
import { AppError, HubHealth, HubReady, type DependencyState, type HubDependencies } from '@edgefleet/shared';
import type { ApiDeps, RouteDef } from './http.js';

const down = (what: string, s: DependencyState) => `${what} is down${s.since ? ` since ${s.since}` : ''}${s.error ? ` (${s.error})` : ''}`;

/** The hub's dependencies (`fresh`: the database asked again if need be); without the part that tracks them (tests of other routes): up since `createdAt`. */
function dependencies(deps: ApiDeps, createdAt: string, fresh = false): HubDependencies {
  return deps.dependencies?.(fresh) ?? { database: { ok: true, since: createdAt }, broker: { ok: true, since: createdAt } };
}

export function healthRoutes(createdAt: string): RouteDef[] {
  return [
    {
      method: 'get', path: '/health', access: 'public', response: HubHealth,
      summary: 'Liveness: 200 while the hub serves HTTP (also when its database or broker is down: see database and broker, and GET /ready); the hub clock and lease',
      handler(_c, deps) {
        const lease = deps.cluster ? { cluster: deps.cluster() } : deps.soleLease ? { lease: deps.soleLease().lease } : {};
        return Promise.resolve({ ok: true, time: deps.clock.now().toISOString(), ...dependencies(deps, createdAt), ...lease });
      },
    },
    {
      method: 'get', path: '/ready', access: 'public', response: HubReady,
      summary: 'Readiness: 200 while the database answers the hub and its broker link is up, else 503 (DATABASE_UNAVAILABLE, or NOT_READY for the broker) naming what is down since when',
      handler(c, deps) {
        const d = dependencies(deps, createdAt, true);
        const problems = [...(d.database.ok ? [] : [down('the database', d.database)]), ...(d.broker.ok ? [] : [down('the MQTT broker link', d.broker)])];
        if (problems.length > 0) {
          const e = new AppError(d.database.ok ? 'NOT_READY' : 'DATABASE_UNAVAILABLE', `the hub is not ready: ${problems.join('; ')}`, { details: d });
          // Answered here, not thrown: the error handler takes a thrown DATABASE_UNAVAILABLE for a failed
          // statement and would mark the database down again at every probe (database-health.ts).
          return Promise.resolve(c.json({ error: e.toJSON() }, e.httpStatus as 503));
        }
        return Promise.resolve({ ready: true, time: deps.clock.now().toISOString(), ...d });
      },
    },
  ];
}
