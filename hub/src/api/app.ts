// The hub's HTTP app: REST under /api/v1 from the route tables, /metrics, and
// the OpenAPI document. A factory that never listens (tests use app.request();
// server/main.ts serves it with @hono/node-server). Handlers throw AppError;
// onError turns every error into {error: {code, message, details?}}.
import { Hono } from 'hono';
import { AppError, notFound, toAppError } from '@edgefleet/shared';
import type { BundleVerifier } from '../registry.js';
import { authorize, bodyLimit, bodyLimitSetting, refuseDeclaredOver, refuseNulInUrl, type ApiDeps, type Env, type RouteDef } from './http.js';
import { enrollRoutes } from './routes-enroll.js';
import { deviceRoutes } from './routes-devices.js';
import { adminRoutes } from './routes-admin.js';
import { modelRoutes } from './routes-models.js';
import { deploymentRoutes } from './routes-deployments.js';
import { telemetryRoutes } from './routes-telemetry.js';
import { sealingRoutes } from './routes-sealing.js';
import { rolloutRoutes } from './routes-rollouts.js';
import { streamRoutes } from './stream.js';
import { consoleRoutes } from './console-routes.js';
import { driftRoutes } from './routes-drift.js';
import { alertRoutes } from './routes-alerts.js';
import { captureRoutes } from './routes-captures.js';
import { configRoutes } from './routes-config.js';
import { healthRoutes } from './routes-health.js';
import { openApiDocument } from './openapi.js';
import { mountConsole } from './console.js';
import { AuthFailureLimiter, authLimit, type AuthLimitOptions } from './auth-limit.js';
import { allowTable, methodNotAllowed, refuseMediaType, type Served } from './http-guards.js';

export interface AppDeps extends ApiDeps {
  verifyBundle: BundleVerifier;
  /** Failed-authentication throttling per address (auth-limit.ts); defaults AUTH_LIMIT_DEFAULTS. */
  authLimit?: Partial<AuthLimitOptions>;
  /** The web console at / (api/console.ts): where its build is; false: not served. */
  console?: { dir?: string } | false;
}

/** A group of routes and the part of the hub that serves them (docs/hub.md "Layout"). */
export interface RouteGroup {
  /** The part that does the work: store (repositories), deployments, ingest, ... */
  part: string;
  routes: RouteDef[];
}

/**
 * The route table: which part serves which path. Enrollment and device writes go to the store (a new or
 * re-tagged device joins deployments through the deployments part); the registry verifies and stores
 * bundles; deployments issue desired documents; what ingest stored is read from the store's telemetry.
 */
export function routeTable(verify: BundleVerifier, startedAt = new Date().toISOString()): RouteGroup[] {
  return [
    { part: 'health (liveness, readiness: the lease renewals, the broker link)', routes: healthRoutes(startedAt) },
    { part: 'store: enrollment (joins deployments)', routes: enrollRoutes },
    { part: 'store: devices (joins deployments)', routes: deviceRoutes },
    { part: 'registry', routes: modelRoutes(verify) },
    { part: 'store: tokens, audit', routes: adminRoutes },
    { part: 'deployments', routes: deploymentRoutes },
    { part: 'ingest (stored telemetry)', routes: telemetryRoutes },
    { part: 'sealing (content keys)', routes: sealingRoutes },
    { part: 'rollouts', routes: rolloutRoutes },
    { part: 'events (live stream)', routes: streamRoutes },
    { part: 'console (trust document for signature checks)', routes: consoleRoutes },
    { part: 'rollups and drift (metrics, drift, reports)', routes: driftRoutes },
    { part: 'alerts (rules, alerts, webhook deliveries)', routes: alertRoutes },
    { part: 'capture (sealed data capture)', routes: captureRoutes },
    { part: 'config (agent configuration, into desired documents)', routes: configRoutes },
  ];
}

/** Every route of /api/v1 (exported for the route × role tests and the OpenAPI document). */
export function apiRoutes(verify: BundleVerifier, startedAt?: string): RouteDef[] {
  return routeTable(verify, startedAt).flatMap((g) => g.routes);
}

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const routes = apiRoutes(deps.verifyBundle, deps.clock.now().toISOString());
  const openapi = openApiDocument(routes);
  deps.metrics.describe('edgefleet_api_requests_total', 'counter', 'API requests by route, method and status');
  deps.metrics.describe('edgefleet_api_request_duration_seconds', 'histogram', 'API request latency by route');

  app.use('*', async (c, next) => {
    const t0 = process.hrtime.bigint();
    await next();
    const route = c.req.routePath && c.req.routePath !== '*' ? c.req.routePath : 'unmatched';
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    deps.metrics.inc('edgefleet_api_requests_total', { route, method: c.req.method, status: String(c.res.status) });
    deps.metrics.observe('edgefleet_api_request_duration_seconds', seconds, { route });
  });

  // Repeated 401s from one address earn 429s for a while (auth-limit.ts, docs/hub.md "Rate limits").
  app.use('/api/v1/*', authLimit(new AuthFailureLimiter(deps.authLimit), deps.metrics, deps.clock));

  const served: Served[] = [{ method: 'get', path: '/metrics' }, { method: 'get', path: '/api/v1/openapi.json' }, ...routes.map((r) => ({ method: r.method, path: `/api/v1${r.path}` }))];
  if (deps.console !== false) {
    mountConsole(app, deps.console ?? {});
    served.push({ method: 'get', path: '/' }, { method: 'get', path: '/assets/:name' });
  }
  const allowOf = allowTable(served);
  app.get('/metrics', (c) => c.text(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  app.get('/api/v1/openapi.json', (c) => c.json(openapi));

  for (const r of routes) {
    const limit = bodyLimit(r, deps.maxBundleBytes);
    const setting = bodyLimitSetting(r);
    app.on(r.method.toUpperCase(), `/api/v1${r.path}`, async (c) => {
      // Before anything else, so an oversized upload costs no token lookup and no reading.
      refuseDeclaredOver(c, limit, setting);
      c.set('bodyLimit', limit);
      authorize(c, deps, r.access);
      refuseMediaType(c, r);
      refuseNulInUrl(c);
      const out = await r.handler(c, deps);
      // HEAD is answered as GET with the body dropped (Hono): a body left unread held what it was read
      // from (an open bundle file, one of the live stream's places) until the hub stopped. Cancel it.
      if (out instanceof Response && c.req.method === 'HEAD' && out.body) await out.body.cancel().catch(() => undefined);
      if (out instanceof Response) return out;
      return c.json(out, (r.status ?? 200) as 200);
    });
  }

  app.notFound((c) => {
    // A known path asked with another method: 405 with Allow; OPTIONS is answered with Allow (RFC 9110 9.3.7).
    const allow = allowOf(c.req.path);
    if (allow.length > 0 && c.req.method === 'OPTIONS') return c.body(null, 204, { allow: allow.join(', ') });
    if (allow.length > 0) throw methodNotAllowed(c.req.method, c.req.path, allow);
    throw notFound('route', `${c.req.method} ${c.req.path}`, `no route ${c.req.method} ${c.req.path}; see /api/v1/openapi.json`);
  });
  app.onError((err, c) => {
    const e = toAppError(err);
    if (e.code === 'DATABASE_UNAVAILABLE') deps.databaseFailed?.(err, `${c.req.method} ${c.req.path}`);
    // A client that went away mid-request (an upload cancelled, a dropped link) is no fault of the hub.
    if (clientGone(err)) deps.logger?.info({ path: c.req.path, err: (err as Error).message }, 'the client closed the connection before its request was read');
    else if (!(err instanceof AppError)) deps.logger?.error({ err }, 'unexpected error in API handler');
    // The rest of an oversized body is not read: close the connection rather than drain it.
    const headers: Record<string, string> = e.code === 'PAYLOAD_TOO_LARGE' ? { connection: 'close' } : e.code === 'METHOD_NOT_ALLOWED' ? { allow: (e.details as { allow: string }).allow } : {};
    return c.json({ error: e.toJSON() }, e.httpStatus as 400, headers);
  });
  return app;
}

/** A request body that ended because its client closed the connection (node's "aborted", ECONNRESET). */
function clientGone(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  return e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted' || (e?.cause !== undefined && e.cause !== err && clientGone(e.cause));
}
