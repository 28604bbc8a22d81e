// What the HTTP app answers before a route's handler could: a known path asked with a method it does
// not take (405 METHOD_NOT_ALLOWED with Allow; OPTIONS gets 204 with Allow), and a body whose
// Content-Type names another format than the route reads (415 UNSUPPORTED_MEDIA_TYPE). Both name what
// came and what was expected (docs/hub.md "REST API", docs/decisions/0179-hub-methods-and-media-types.md).
import { AppError } from '@edgefleet/shared';
import type { Ctx, RouteDef } from './http.js';

/** A path pattern (Hono's `/devices/:id`) and the methods it is served with. */
export interface Served {
  method: string;
  path: string;
}

/**
 * The Allow list of a request path: every method of the patterns it matches, HEAD where GET is (the
 * app answers HEAD as GET without a body), and OPTIONS; empty when no pattern matches (a 404).
 */
export function allowTable(served: readonly Served[]): (path: string) => string[] {
  const byPattern = new Map<string, { re: RegExp; methods: Set<string> }>();
  for (const s of served) {
    let e = byPattern.get(s.path);
    if (!e) {
      const re = new RegExp(`^${s.path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`);
      byPattern.set(s.path, e = { re, methods: new Set() });
    }
    e.methods.add(s.method.toUpperCase());
  }
  const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  return (path) => {
    const methods = new Set<string>();
    for (const { re, methods: m } of byPattern.values()) if (re.test(path)) for (const x of m) methods.add(x);
    if (methods.size === 0) return [];
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    return ORDER.filter((x) => methods.has(x));
  };
}

/** 405 for a known path asked with `method`; `details.allow` is the Allow header (the app's onError sets it). */
export function methodNotAllowed(method: string, path: string, allow: readonly string[]): AppError {
  const shown = method.length > 20 ? `${method.slice(0, 20)}… (${method.length} characters)` : method;
  return new AppError('METHOD_NOT_ALLOWED', `method ${shown} is not allowed on ${path}: expected ${allow.join(', ')} (see /api/v1/openapi.json)`, { details: { allow: allow.join(', ') } });
}

/** A Content-Type's media type without its parameters, lower case ("application/json; charset=utf-8" → "application/json"). */
function essence(ct: string): string {
  const semi = ct.indexOf(';');
  return (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

const JSON_TYPE = /^application\/(?:[a-z0-9.!#$&^_-]+\+)?json$/;
const clip = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);

/**
 * Refuses a request body whose Content-Type is another format than the route reads. A JSON route takes
 * application/json (or `+json`), text/plain (what fetch() sends a string body as) and no type at all; a
 * form (what `curl -d` sends), multipart (`curl -F`) or octet-stream is a 415 naming the header to send.
 * A raw route (a bundle upload) refuses JSON and multipart: a bundle is the tar itself, not a field of a form.
 */
export function refuseMediaType(c: Ctx, r: RouteDef): void {
  const ct = c.req.header('content-type');
  if (ct === undefined || ct.trim() === '') return;
  const t = essence(ct);
  if (r.rawBody !== undefined) {
    if (!JSON_TYPE.test(t) && !t.startsWith('multipart/')) return;
    const hint = t.startsWith('multipart/') ? ` (curl -F sends a form: use --data-binary @FILE -H 'content-type: ${r.rawBody}', or edgefleet models push)` : '';
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${clip(ct)} is not accepted by ${c.req.method} ${c.req.routePath}: expected ${r.rawBody}, the bundle file as the whole body${hint}`);
  }
  if (r.body === undefined || JSON_TYPE.test(t) || t === 'text/plain') return;
  const hint = t === 'application/x-www-form-urlencoded' ? ` (curl -d sends a form: add -H 'content-type: application/json')` : '';
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${clip(ct)} is not accepted by ${c.req.method} ${c.req.routePath}: expected application/json, a JSON object${hint}`);
}
