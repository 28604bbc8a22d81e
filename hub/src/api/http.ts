// Shared pieces of the REST API: the dependencies every route gets, the route
// definition shape (also the source of the OpenAPI document and of the route ×
// role tests, and of each route's body cap), bearer-token roles, capped body reading and parsing, and
// the audit helpers: a write and its audit entry commit in one transaction; network side effects run
// after commit and a failure is reported, not lost.
import type { Context } from 'hono';
import { z } from 'zod';
import { AppError, MAX_JSON_DEPTH, idProblem, jsonDepth, parseWire, toAppError, type ApiRole, type AuditAction, type HubDependencies, type LoggedAction, type TrustDocument } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Metrics } from '../metrics.js';
import type { Clock } from '../clock.js';
import type { DeploymentService } from '../deployments/service.js';
import type { IngestService } from '../ingest/service.js';
import type { RolloutEngine } from '../rollouts/engine.js';
import type { MqttQuota } from '../mqtt/quota.js';
import type { Sealing } from '../sealing/service.js';
import type { ConfigService } from '../config/service.js';
import type { StreamHub } from './stream.js';
import type { CaptureService } from '../capture/service.js';
import type { LeaseStatus } from '../cluster/lease.js';

/** The part of the MQTT FleetLink the API needs (revocation drops the connection). */
export interface FleetControl {
  disconnect(deviceId: string): Promise<boolean>;
  /** The embedded broker's last "credentials in use twice" report for the device (docs/mqtt.md). */
  credentialsInUseTwice?(deviceId: string): { at: string; takeovers: number } | null;
}

export interface ApiDeps {
  store: Store;
  /** The current signed trust document, given to devices at enrollment. */
  trust(): TrustDocument;
  /** Broker URLs devices should connect to. */
  brokers(): string[];
  fleet: FleetControl | null;
  metrics: Metrics;
  clock: Clock;
  maxBundleBytes: number;
  /** The deployments part (desired documents); absent in tests of the other routes. */
  deployments?: DeploymentService | null;
  /** The ingest part (ingest guard refusals on GET /devices/{id}); absent in tests of the other routes. */
  ingest?: IngestService | null;
  /** Sealed models: content keys and device keys (docs/security.md "Sealed models"); absent in tests of the other routes. */
  sealing?: Sealing | null;
  /** Data capture (hub/src/capture); absent in tests of the other routes. */
  captures?: CaptureService | null;
  /** Remote agent configuration documents (docs/hub.md "Agent configuration"); absent in tests of the other routes. */
  config?: ConfigService | null;
  /** Issues and publishes new desired documents for the devices assigned name@version (its content key arrived). */
  resendVersion?: (name: string, version: string) => Promise<void>;
  /** The rollout engine (staged rollouts); absent in tests of the other routes. */
  rollouts?: RolloutEngine | null;
  /** Per-device MQTT quotas (embedded broker), for GET /devices/{id}. */
  quota?: MqttQuota | null;
  /** The live event stream (GET /stream); absent in tests of the other routes. */
  streams?: StreamHub | null;
  /** Several hubs: this hub's id and who holds the lease (GET /health shows it; docs/hub.md "Several hubs"). */
  cluster?: (() => LeaseStatus) | null;
  /** A hub without cluster: the lease it holds so that no other hub starts on its database (GET /health `lease`). */
  soleLease?: (() => LeaseStatus) | null;
  /** What the hub knows of its database and broker link (GET /health; GET /ready with `fresh`: database-health.ts); absent in tests of the other routes: up. */
  dependencies?: ((fresh?: boolean) => HubDependencies) | null;
  /** Told of each request that failed with DATABASE_UNAVAILABLE: GET /ready says so at once (database-health.ts). */
  databaseFailed?: ((err: unknown, what: string) => void) | null;
  /** Called with each device's new secret (external broker: append to its password file). */
  onCredentials?: (deviceId: string, secret: string) => void;
  /** Unexpected errors and side effects that failed after a commit. */
  logger?: { error(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export interface Actor {
  /** The token's id: recorded with the name in the audit log. */
  id: string;
  name: string;
  role: ApiRole;
}
/** bodyLimit: the matched route's body cap in bytes (set by the app before the handler runs). */
export type Env = { Variables: { actor: Actor; bodyLimit: number } };
export type Ctx = Context<Env>;

export type Access = ApiRole | 'public';
const RANK: Record<ApiRole, number> = { viewer: 1, operator: 2, admin: 3 };

export interface RouteDef {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Hono path under /api/v1, e.g. /devices/:id */
  path: string;
  access: Access;
  summary: string;
  body?: z.ZodType;
  /** A raw (non-JSON) request body, e.g. application/octet-stream for bundles. */
  rawBody?: string;
  query?: z.ZodType;
  response?: z.ZodType;
  /** A non-JSON response, e.g. application/octet-stream. */
  rawResponse?: string;
  /** Server-Sent Events: each event name's payload schema (documented as x-events in the OpenAPI document). */
  events?: Record<string, z.ZodType>;
  status?: number;
  /** Body cap in bytes; default from bodyLimit() (small for public routes). */
  maxBodyBytes?: number;
  handler(c: Ctx, deps: ApiDeps): Promise<Response | object>;
}

/** Finds the bearer token's identity; `access` decides whether it is enough. */
export function authorize(c: Ctx, deps: ApiDeps, access: Access): void {
  if (access === 'public') return;
  const header = c.req.header('authorization');
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!m) throw new AppError('UNAUTHENTICATED', 'missing bearer token: send "Authorization: Bearer <token>" (edgefleet tokens create, or DATA/admin.token)');
  const info = deps.store.tokens.lookup(m[1] as string);
  if (!info) throw new AppError('UNAUTHENTICATED', 'bearer token not recognised or revoked');
  if (RANK[info.role] < RANK[access]) {
    throw new AppError('FORBIDDEN', `${c.req.method} ${c.req.routePath} needs the ${access} role; token "${info.name}" has ${info.role}`);
  }
  c.set('actor', { id: info.id, name: info.name, role: info.role });
}

/** Body caps (docs/hub.md, docs/security.md): anyone can reach a public route, so its cap is small. */
export const PUBLIC_BODY_BYTES = 16 * 1024;
export const JSON_BODY_BYTES = 1024 * 1024;

/** The body cap of a route: its own, else the bundle limit for raw uploads, else by access. */
export function bodyLimit(r: RouteDef, maxBundleBytes: number): number {
  if (r.maxBodyBytes !== undefined) return r.maxBodyBytes;
  if (r.rawBody !== undefined) return maxBundleBytes;
  return r.access === 'public' ? PUBLIC_BODY_BYTES : JSON_BODY_BYTES;
}

/** The hub setting a route's cap comes from, when an operator can change it: the refusal names it. */
export function bodyLimitSetting(r: RouteDef): string | undefined {
  return r.maxBodyBytes === undefined && r.rawBody !== undefined ? 'maxBundleBytes, --max-bundle-bytes' : undefined;
}

function tooLarge(limit: number, size?: number, setting?: string): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `request body${size === undefined ? '' : ` of ${size} bytes`} is too large: expected at most ${limit} bytes ${setting ? `(the hub's ${setting})` : 'for this route'}`);
}

/** PAYLOAD_TOO_LARGE from the Content-Length alone, before a byte of the body is read. */
export function refuseDeclaredOver(c: Ctx, limit: number, setting?: string): void {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, declared, setting);
}

/**
 * The body as text, counting bytes as they arrive (chunked bodies have no
 * Content-Length): past `limit` it stops reading and refuses the request.
 */
export async function readBodyCapped(c: Ctx, limit: number): Promise<string> {
  refuseDeclaredOver(c, limit);
  const body = c.req.raw.body;
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined); // the connection closes after the 413 anyway
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads (within the route's cap) and validates a JSON body; `what` names it in errors. */
export async function jsonBody<S extends z.ZodType>(c: Ctx, schema: S, what: string): Promise<z.infer<S>> {
  const text = await readBodyCapped(c, (c.get('bodyLimit') as number | undefined) ?? JSON_BODY_BYTES);
  let value: unknown = {};
  if (text.trim() !== '') {
    // Deep nesting parses, then overflows the stack in whatever walks it (docs/security.md).
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      throw new AppError('BAD_REQUEST', `${what}: body nests deeper than ${MAX_JSON_DEPTH} levels: expected a JSON object at most ${MAX_JSON_DEPTH} levels deep`);
    }
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new AppError('BAD_REQUEST', `${what}: body is not JSON (${(err as Error).message}); expected a JSON object`);
    }
    const nul = nulPath(value, '');
    if (nul !== null) throw new AppError('SCHEMA_INVALID', `invalid ${what}: ${nul || '(root)'}: ${NUL_EXPECTED}`);
  }
  return parseWire(schema, value, what);
}

/** What a string holding NUL (U+0000) was expected to be: PostgreSQL's text refuses it, so no route stores one. */
export const NUL_EXPECTED = 'contains a NUL character (U+0000): expected text without NUL';

/**
 * The path (`tags.site`, `waves[0].name`, a key's own path) of the first string or object key in a parsed
 * JSON value that holds NUL, or null. Depth is bounded by jsonBody's MAX_JSON_DEPTH check.
 */
function nulPath(v: unknown, at: string): string | null {
  if (typeof v === 'string') return v.includes('\0') ? at : null;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const p = nulPath(x, `${at}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const here = at ? `${at}.${k}` : k;
      if (k.includes('\0')) return `${here.replace(/\0/g, '\\0')} (the key)`;
      const p = nulPath(x, here);
      if (p !== null) return p;
    }
  }
  return null;
}

/**
 * Path parameters and query strings hold no NUL (%00): it would reach a lookup that PostgreSQL refuses
 * (a 500) and SQLite answers by some other value. A 400 naming the parameter, on every route.
 */
export function refuseNulInUrl(c: Ctx): void {
  for (const [name, v] of Object.entries(c.req.param() as Record<string, string>)) {
    if (v.includes('\0')) throw new AppError('BAD_REQUEST', `path parameter ${name} ${NUL_EXPECTED} (%00)`);
  }
  for (const [name, vs] of Object.entries(c.req.queries())) {
    if (name.includes('\0') || vs.some((v) => v.includes('\0'))) throw new AppError('BAD_REQUEST', `query parameter ${name.replace(/\0/g, '%00')} ${NUL_EXPECTED} (%00)`);
  }
}

/** Validates the query string; a parameter given twice (`?limit=1&limit=2`) is refused rather than one picked. */
export function queryOf<S extends z.ZodType>(c: Ctx, schema: S, what: string): z.infer<S> {
  // A misspelt parameter is a 400, as a misspelt body field is: `?acton=` would otherwise answer
  // unfiltered, and `?reasn=` drop the reason from the audit log without a word.
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape as Record<string, unknown>) : null;
  for (const [name, vs] of Object.entries(c.req.queries())) {
    if (vs.length > 1) throw new AppError('BAD_REQUEST', `invalid ${what}: query parameter ${name} is given ${vs.length} times: expected it at most once`);
    if (known && !known.includes(name)) {
      throw new AppError('BAD_REQUEST', `invalid ${what}: unknown query parameter "${name}": expected ${known.length ? known.join(', ') : 'none'}`);
    }
  }
  return parseWire(schema, c.req.query(), what);
}

export function param(c: Ctx, name: string): string {
  const v = c.req.param(name);
  if (v === undefined) throw new AppError('BAD_REQUEST', `missing path parameter ${name}`);
  return v;
}

/**
 * A numeric id in the path (`what` names the thing, e.g. "drift report"): plain decimal digits without a
 * sign, spaces or leading zero, at most `max` (default: the largest integer a number holds exactly).
 * Number() alone would take 1e3, 0x10, " 12" or 1.0 as ids; here each is a 400 naming the parameter.
 * The rule and its words are shared/src/wire/ids.ts's, which query ids (`?rule=`, `?after=`) use too.
 */
export function idParam(c: Ctx, name: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const raw = param(c, name);
  const problem = idProblem(raw, what, `path parameter ${name}`, max);
  if (problem !== null) throw new AppError('BAD_REQUEST', problem);
  return Number(raw);
}

export function actor(c: Ctx): Actor {
  return c.get('actor');
}

/** Appends an audit entry for a write done by the request's token: call it inside `transact` with the write. */
export function audit(c: Ctx, deps: ApiDeps, action: LoggedAction, target: string, reason?: string | null, details?: unknown): void {
  deps.store.audit.append({ actor: actor(c)?.name ?? 'anonymous', actorId: actor(c)?.id ?? null, action, target, reason: reason ?? null, details, at: deps.clock.now() });
}

/** Runs a write and its audit entry in one SQLite transaction: both are stored, or (on a throw) neither. */
export function transact<T>(deps: ApiDeps, fn: () => T): T {
  return deps.store.db.transaction(fn)();
}

export type StepResult<T> = { ok: true; value: T } | { ok: false; error: AppError };

/** Response header naming side effects that failed after the write committed (one per failed step). */
export const INCOMPLETE_HEADER = 'x-edgefleet-incomplete';

/**
 * Runs a side effect (MQTT publish, disconnect, broker password file) after the write committed. A
 * failure neither undoes nor hides the write: it is logged, appended to the audit log as
 * `<action>.incomplete` (target, the step and the error), named in the x-edgefleet-incomplete response
 * header, and returned so the response can say so (docs/hub.md "REST API").
 */
export async function afterCommit<T>(c: Ctx, deps: ApiDeps, action: AuditAction, target: string, step: string, effect: () => Promise<T> | T): Promise<StepResult<T>> {
  try {
    return { ok: true, value: await effect() };
  } catch (err) {
    const error = toAppError(err);
    deps.logger?.error({ err, action, target, step }, 'side effect failed after the write committed');
    try {
      audit(c, deps, `${action}.incomplete`, target, null, { step, code: error.code, message: error.message });
    } catch (auditErr) {
      deps.logger?.error({ err: auditErr, action, target, step }, 'could not record a failed side effect in the audit log');
    }
    c.header(INCOMPLETE_HEADER, `${step}: ${error.code}: ${error.message}`.replace(/[\r\n]+/g, ' '), { append: true });
    return { ok: false, error };
  }
}
