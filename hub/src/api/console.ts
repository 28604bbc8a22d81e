// The web console: the renderer built from desktop/src/renderer (desktop/dist/renderer, esbuild) served
// at `/` with a strict Content-Security-Policy (no inline script, no eval, connect-src 'self'). The hub
// finds the build next to its own package in the repository and in a dist layout alike (both are three
// levels under the root), or where `console.dir` points; without a build it still starts and `/` says
// how to build it. Only files in the build's top level and assets/ are served (docs/console.md).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import { CONSOLE_CSP } from '@edgefleet/shared';
import type { Env } from './http.js';

export { CONSOLE_CSP };

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json', '.map': 'application/json', '.woff2': 'font/woff2',
};

/** Where the built renderer is: `dir` if given, else desktop/dist/renderer three levels above this module. */
export function consoleDir(dir?: string): string {
  if (dir) return dir;
  // hub/src/api/console.ts (source, tests) and hub/dist/api/console.js (built) are both three levels deep.
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'desktop', 'dist', 'renderer');
}

const NOT_BUILT = (dir: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edgefleet console not built</title></head>
<body><h1>The edgefleet console is not built</h1><p>The hub is running and its API is at <code>/api/v1</code>
(<a href="/api/v1/openapi.json">OpenAPI</a>). To serve the console, build it with <code>npm run build</code>
(expected in <code>${dir.replace(/[<>&]/g, '')}</code>, or set <code>console.dir</code> in the hub config) and reload.</p></body></html>`;

/**
 * A chunk named by its content (desktop/scripts/build-renderer.mjs: chunkNames '[name]-[hash]', esbuild's 8-character
 * hash): its bytes never change under its name, so a browser keeps it (`immutable`) and asks for no chunk again
 * until app.js names other ones (docs/console.md "Caching").
 */
const CONTENT_NAMED = /-[A-Z0-9]{8}\.js$/;
const KEEP = 'public, max-age=31536000, immutable';

/** Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 13.1.2). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

/** Mounts GET / and GET /assets/* on the app. */
export function mountConsole(app: Hono<Env>, o: { dir?: string } = {}): void {
  const root = normalize(consoleDir(o.dir));
  // Stat first: a revalidation (If-None-Match, answered 304) reads no bytes, the 14 MB of onnxruntime's wasm included.
  const file = (rel: string): { path: string; type: string; etag: string } | null => {
    const p = normalize(join(root, rel));
    if (!p.startsWith(root + sep)) return null;
    const ext = /\.[a-z0-9]+$/.exec(p)?.[0] ?? '';
    const type = TYPES[ext];
    if (!type || !existsSync(p)) return null;
    const st = statSync(p);
    if (!st.isFile()) return null;
    return { path: p, type, etag: `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
  };
  const send = (c: Context<Env>, f: { path: string; type: string; etag: string }, cache: string): Response => {
    const headers = { ...SECURITY_HEADERS, 'content-type': f.type, 'cache-control': cache, etag: f.etag };
    if (etagMatches(c.req.header('if-none-match'), f.etag)) return c.body(null, 304, headers);
    return c.body(new Uint8Array(readFileSync(f.path)), 200, headers);
  };
  app.get('/', (c) => {
    const f = file('index.html');
    if (!f) return c.html(NOT_BUILT(root), 503, { ...SECURITY_HEADERS, 'cache-control': 'no-store' });
    return send(c, f, 'no-cache');
  });
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    const f = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) ? file(join('assets', name)) : null;
    if (!f) return c.json({ error: { code: 'NOT_FOUND', message: `no console asset ${name}` } }, 404);
    return send(c, f, CONTENT_NAMED.test(name) ? KEEP : 'no-cache');
  });
}
