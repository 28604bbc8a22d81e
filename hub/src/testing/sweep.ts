// The hostile-input sweep's kit (hub/src/api/hostile-sweep*.test.ts): a whole hub (hub.ts, embedded broker,
// every part) on 127.0.0.1 port 0 with a pushed model, a device and an enrollment token; a valid body per
// route; hostile values derived from a field's JSON schema (OpenAPI document); and the checks every
// refusal must pass (a 4xx with a known code and a message, nothing written, the hub still up).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust } from '@edgefleet/examples';
import { ErrorCode, newCaptureKeyFile } from '@edgefleet/shared';
import { HubConfig } from '../config.js';
import { Hub } from '../server/hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';
import { apiRoutes } from '../api/app.js';
import { openApiDocument } from '../api/openapi.js';
import type { RouteDef } from '../api/http.js';

export interface Sweep {
  /** fetch on /api/v1 with the admin token; `body` is sent as is. */
  api(method: string, path: string, body?: string | Uint8Array, type?: string): Promise<{ status: number; text: string; headers: Headers }>;
  model: string;
  /** The hub's HTTP URL and the admin token (raw requests: tests of what the server answers before the app). */
  http: string;
  token: string;
  routes: RouteDef[];
  doc: { paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string; schema: JsonSchema }>; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>> };
  close(): Promise<void>;
}
export type JsonSchema = { type?: string; pattern?: string; format?: string; enum?: unknown[]; const?: unknown; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; minimum?: number; maximum?: number; exclusiveMinimum?: number; minLength?: number; maxLength?: number; minItems?: number; maxItems?: number; properties?: Record<string, JsonSchema>; propertyNames?: JsonSchema; items?: JsonSchema; additionalProperties?: unknown };

/** A whole hub with a pushed model (audio-energy 1.0.0), device dev-a (site=x) and an enrollment token. */
export async function startSweepHub(database: string | undefined): Promise<Sweep & { enrollToken: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-sweep-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const hub = new Hub(HubConfig.parse({
    dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: trust.path, hubKey: keys.files.hub.keyPath, logLevel: 'silent',
    capture: { publicKey: newCaptureKeyFile().public }, ...(database ? { database } : {}),
  }), noopLogger, systemClock);
  const close = async () => {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const addr = await hub.start();
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const send = async (method: string, path: string, body?: string | Uint8Array, type = 'application/json') => {
      const r = await fetch(`${addr.http}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': type }, ...(body !== undefined ? { body } : {}) });
      return { status: r.status, text: await r.text(), headers: r.headers };
    };
    const b = await buildMultiBundle({ dir: join(dir, 'bundles'), keys, version: '1.0.0' });
    const pushed = await send('POST', '/models', new Uint8Array(readFileSync(b.path)), 'application/octet-stream');
    assert.equal(pushed.status, 201, pushed.text);
    assert.equal((await send('POST', '/devices', JSON.stringify({ deviceId: 'dev-a', tags: { site: 'x' } }))).status, 201);
    const et = await send('POST', '/enrollment-tokens', JSON.stringify({ maxUses: 1 }));
    const routes = apiRoutes(() => Promise.reject(new Error('not used')));
    return {
      api: send, model: b.manifest.name, http: addr.http, token, routes, close,
      doc: openApiDocument(routes) as Sweep['doc'], enrollToken: (JSON.parse(et.text) as { token: string }).token,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A 4xx whose body is {error: {code, message}} with a code of shared/src/errors.ts and a message that says something. */
export function assertRefused(r: { status: number; text: string }, what: string): void {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: expected a 4xx, got ${r.status} ${r.text.slice(0, 300)}`);
  let e: { code?: unknown; message?: unknown } | undefined;
  try {
    e = (JSON.parse(r.text) as { error?: typeof e }).error;
  } catch {
    assert.fail(`${what}: ${r.status} without a JSON error body: ${r.text.slice(0, 200)}`);
  }
  assert.ok(typeof e?.code === 'string' && e.code in ErrorCode, `${what}: no known error code in ${r.text.slice(0, 200)}`);
  assert.ok(typeof e?.message === 'string' && e.message.length >= 10, `${what}: no message in ${r.text.slice(0, 200)}`);
}

/** Everything a refused request must leave as it was (each write is audited; lists for the rest). */
export async function snapshot(s: Sweep): Promise<string> {
  const lists = ['/audit?limit=10000', '/devices', '/tokens', '/enrollment-tokens', '/models', '/deployments', '/rollouts', '/alert-rules', '/drift-reports', '/captures', '/config/fleet', '/config/tag/site=x', '/config/device/dev-a', `/models/${s.model}/drift-settings`];
  const out: string[] = [];
  for (const l of lists) {
    const r = await s.api('GET', l);
    assert.equal(r.status, 200, `${l}: ${r.text.slice(0, 200)}`);
    out.push(r.text);
  }
  return out.join('\n');
}

export async function assertUp(s: Sweep, what: string): Promise<void> {
  assert.equal((await s.api('GET', '/health')).status, 200, `the hub answers /health after ${what}`);
}

/** A valid body per route (each hostile request changes one thing of it). A new body route fails until it has one. */
export function validBodies(model: string, enrollToken: string): Record<string, Record<string, unknown>> {
  const waves = [{ name: 'all', percent: 100, bakeSec: 0 }];
  const reason = { reason: 'sweep' };
  const rollout = { model, version: '1.0.0', target: { devices: ['dev-a'] }, waves, gates: { installSuccess: 0.9, stuckSec: 60 }, shadow: { sampleRate: 0.5, minSamples: 10 }, window: { cron: '0 3 * * *', durationSec: 3600 }, ...reason };
  return {
    'POST /enrollment-tokens': { tags: { site: 'x' }, ttlSec: 60, maxUses: 1, note: 'n' }, 'POST /enrollment-tokens/:id/revoke': reason,
    'POST /enroll': { token: enrollToken, deviceId: 'dev-new', facts: { os: 'linux', arch: 'arm64', cpus: 4, memoryMb: 2048, agentVersion: '0.1.0' }, deviceKey: { keyId: 'a'.repeat(64), public: 'AAAA' } },
    'POST /devices': { deviceId: 'dev-b', tags: { site: 'y' } },
    'POST /devices/:id/revoke': reason, 'POST /devices/:id/rotate-secret': reason, 'PUT /devices/:id/tags': { tags: { site: 'z' }, ...reason },
    'POST /models/:name/versions/:version/deprecate': reason,
    'POST /tokens': { name: 'tok-x', role: 'viewer' }, 'POST /tokens/:id/revoke': reason,
    'POST /deployments': { model, version: '1.0.0', target: { devices: ['dev-a'] }, window: { cron: '0 3 * * *', durationSec: 3600 }, ...reason },
    'PUT /models/:name/versions/:version/content-key': { key: Buffer.alloc(32).toString('base64') },
    'POST /rollouts': rollout, 'POST /rollouts/preview': rollout,
    'POST /rollouts/config': { scope: 'fleet', settings: {}, waves, ...reason },
    ...Object.fromEntries(['promote', 'pause', 'resume', 'abort', 'rollback'].map((a) => [`POST /rollouts/:id/${a}`, reason])),
    'POST /rollouts/:id/unaccept': { ...reason, gates: ['latency_p95'] },
    'POST /drift-reports': { model, version: '1.0.0', since: '2026-01-01T00:00:00Z', by: 'device', baseline: 'reference', note: 'n' },
    'PUT /models/:name/drift-settings': { psi: 0.3, js: 0.2, minPredictions: 10, ...reason },
    'POST /alert-rules': { name: 'r', metric: 'devices_offline', threshold: 1, scope: { tags: { site: 'x' } }, forSec: 0, severity: 'info', actions: [{ type: 'webhook', url: 'http://127.0.0.1:9/h', secret: 's'.repeat(16) }] },
    'POST /retrain-requests': { model, version: '1.0.0', since: '2026-01-01T00:00:00Z', rule: 'r', ...reason },
    'POST /captures': { model, version: '1.0.0', target: { devices: ['dev-a'] }, rate: 0.5, maxRows: 10, durationSec: 60, features: ['f'], ...reason },
    'POST /captures/:id/purge': reason, 'POST /alerts/:id/ack': reason, 'POST /alerts/:id/unack': reason,
    'PUT /config/fleet': { settings: {}, ...reason }, 'PUT /config/tag/:tag': { settings: {}, ...reason }, 'PUT /config/device/:id': { settings: {}, ...reason },
  };
}

/** The value of each path parameter that names something that exists (or a well-formed id). */
export function pathOf(r: RouteDef, model: string, param?: [string, string]): string {
  const numeric = /^\/(alert-rules|alerts|captures|deployments|drift-reports)\//.test(r.path);
  const values: Record<string, string> = { name: model, version: '1.0.0', tag: 'site=x', id: r.path.startsWith('/rollouts/') ? 'ro-0123456789' : r.path.startsWith('/tokens/') ? 'tok_0123456789abcdef' : r.path.startsWith('/enrollment-tokens/') ? 'et_0123456789abcdef' : numeric ? '1' : 'dev-a' };
  return r.path.replace(/:([A-Za-z]+)/g, (_, p: string) => (param && param[0] === p ? param[1] : values[p] ?? 'x'));
}

const LONG = 'x'.repeat(100_000);
type Hostile = [label: string, json: unknown | { raw: string }];

/** Values each JSON schema refuses: wrong types always; then whatever breaks its bounds, pattern or enum. */
export function hostileFor(s: JsonSchema): Hostile[] {
  const type = s.type ?? (s.const !== undefined || s.enum ? 'enum' : 'union');
  const out: Hostile[] = [['null', null], ['an array', [1]], ['an object', { a: 1 }]];
  if (type !== 'boolean') out.push(['true', true]);
  if (type !== 'string' && type !== 'enum' && type !== 'union') out.push(['a string', 'abc'], ['a NUL string', 'a\u0000b']);
  if (type === 'string' || type === 'enum' || type === 'union') {
    out.push(['a number', 1], ['NUL in a string', 'a\u0000b'], ['a NUL string', '\u0000']);
    if (s.maxLength !== undefined || s.pattern || s.enum || s.const !== undefined || s.format || type === 'union') out.push(['100k characters', LONG]);
    if (s.pattern || s.enum || s.const !== undefined || s.format) out.push(['unicode', 'caf\u00e9 \ud83d\udca9 \u202e'], ['../..', '../..']);
    if ((s.minLength ?? 0) > 0 || s.pattern || s.enum || s.format) out.push(['an empty string', '']);
  }
  if (type === 'number' || type === 'integer') {
    out.push(['"1"', '1'], ['1e309', { raw: '1e309' }], ['-1e309', { raw: '-1e309' }]);
    if (s.minimum !== undefined) out.push(['below the minimum', s.minimum - 1]);
    if (s.exclusiveMinimum !== undefined) out.push(['at the exclusive minimum', s.exclusiveMinimum], ['negative', -1]);
    if (s.maximum !== undefined) out.push(['above the maximum', s.maximum + (type === 'integer' ? Math.max(1, s.maximum) : 1)]);
    if (type === 'integer') out.push(['a fraction', 1.5], ['2^53 + 2', 2 ** 53 + 2]);
  }
  if (type === 'object' && s.propertyNames?.pattern) out.push(['a key breaking the pattern', { 'BAD KEY!': 'v' }], ['a NUL key', { 'a\u0000': 'v' }]);
  if (type === 'object' && s.additionalProperties === false) out.push(['an unknown field', { zzUnknown: 1 }]);
  if (type === 'array') {
    out.push(['a string for the array', 'abc']);
    if (s.minItems) out.push(['an empty array', []]);
    if (s.maxItems !== undefined) out.push(['too many items', Array.from({ length: s.maxItems + 1 }, () => 'dev-a')]);
  }
  return out;
}

/** The body text with the value at `path` replaced (raw JSON such as 1e309 spliced in). */
export function withField(base: unknown, path: Array<string | number>, v: unknown): string {
  const clone = structuredClone(base) as Record<string | number, unknown>;
  let o = clone;
  for (const k of path.slice(0, -1)) o = o[k] as typeof o;
  const raw = v !== null && typeof v === 'object' && 'raw' in v ? (v as { raw: string }).raw : null;
  o[path[path.length - 1]!] = raw === null ? v : '__RAW__';
  const text = JSON.stringify(clone);
  return raw === null ? text : text.replace('"__RAW__"', raw);
}

/** Every field of a body schema, and of the objects and array items inside it, with its path in `base`. */
export function fieldsOf(s: JsonSchema, base: unknown, at: Array<string | number> = []): Array<[Array<string | number>, JsonSchema]> {
  const out: Array<[Array<string | number>, JsonSchema]> = [];
  for (const [k, f] of Object.entries(s.properties ?? {})) {
    const v = (base as Record<string, unknown> | undefined)?.[k];
    out.push([[...at, k], f]);
    if (f.type === 'object' && f.properties && v !== undefined) out.push(...fieldsOf(f, v, [...at, k]));
    if (f.type === 'array' && f.items?.properties && Array.isArray(v) && v.length > 0) out.push(...fieldsOf(f.items, v[0], [...at, k, 0]));
  }
  return out;
}

export const WHOLE: Array<[label: string, body: string | undefined]> = [
  ['no body', undefined], ['an empty body', ''], ['whitespace', ' \n '], ['truncated JSON', '{"reason":'], ['a trailing comma', '{"reason":"r",}'],
  ['single quotes', "{'reason':'r'}"], ['NaN', 'NaN'], ['a NUL byte', '\u0000'], ['a BOM', '\ufeff{}'], ['an array', '[]'], ['an array of objects', '[{}]'],
  ['a string', '"s"'], ['null', 'null'], ['a number', '1'], ['1e309', '1e309'], ['true', 'true'], ['two documents', '{}{}'],
];

/** Refused whole bodies where the schema has no required field: an empty body is `{}`, which is valid there. */
export const EMPTY_IS_VALID = new Set(['POST /enrollment-tokens', 'POST /devices', 'POST /devices/:id/rotate-secret']);
