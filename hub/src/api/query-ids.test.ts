// Ids and cursors in query strings (`?rule=` of GET /alerts, `?after=` of GET /captures/{id}/chunks,
// `?version=` of GET /config/…)
// follow the rule of path ids (shared/src/wire/ids.ts): plain positive decimal digits. Over real HTTP
// (the harness's app on a port): anything else, empty included, is a 400 naming the parameter and what
// was expected, before any lookup; well-formed ids get through; OpenAPI documents the pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { makeHarness, type Harness } from '../testing/harness.js';

const ROUTES: Array<[path: (id: string) => string, param: string, what: string, query: string]> = [
  [(id) => `/api/v1/alerts?rule=${id}`, 'rule', 'alert rule', 'alerts query'],
  [(id) => `/api/v1/alerts?state=firing&rule=${id}&limit=5`, 'rule', 'alert rule', 'alerts query'],
  [(id) => `/api/v1/captures/1/chunks?after=${id}`, 'after', 'capture chunk', 'chunks query'],
  [(id) => `/api/v1/config/fleet?version=${id}`, 'version', 'configuration document version', 'query'],
];

// As sent in the query string (percent-encoded where a raw character would not survive) and as decoded.
const BAD: Array<[sent: string, raw: string]> = [
  ['', ''], ['1e3', '1e3'], ['0x10', '0x10'], ['%2012', ' 12'], ['12%20', '12 '], ['12abc', '12abc'], ['1.0', '1.0'], ['012', '012'],
  ['0', '0'], ['-1', '-1'], ['%2B12', '+12'], ['0b11', '0b11'], ['abc', 'abc'], ['Infinity', 'Infinity'], ['99999999999999999999', '99999999999999999999'],
];

async function listen(h: Harness): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    }),
  };
}

test('a query id or cursor that is not plain positive decimal digits is a 400 naming the parameter, over HTTP', async () => {
  const h = makeHarness();
  const srv = await listen(h);
  const get = (path: string) => fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${h.tokens.operator}` } });
  try {
    for (const [path, param, what, query] of ROUTES) {
      for (const [sent, raw] of BAD) {
        const res = await get(path(sent));
        const text = await res.text();
        assert.equal(res.status, 400, `${path(sent)}: ${text}`);
        const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
        assert.equal(e.code, 'SCHEMA_INVALID', path(sent));
        const expected = `invalid ${query}: ${param}: ${what} id "${raw}" (query parameter ${param}): expected a positive decimal integer (digits only, no leading zero, e.g. 12)`;
        const over = `${expected} of at most ${Number.MAX_SAFE_INTEGER}`;
        assert.equal(e.message, raw.length > 15 && /^\d+$/.test(raw) ? over : expected, path(sent));
      }
    }
    // Well-formed ids get through to the lookup: a rule that never existed is a 404 naming it; the chunks route goes on to its part.
    for (const id of ['1', '12', String(Number.MAX_SAFE_INTEGER)]) {
      const res = await get(`/api/v1/alerts?rule=${id}`);
      assert.equal(res.status, 404, await res.clone().text());
      assert.deepEqual(await res.json(), { error: { code: 'NOT_FOUND', message: `no alert rule ${id}`, details: { kind: 'alert_rule', id: Number(id) } } });
    }
    const chunks = await get('/api/v1/captures/1/chunks?after=40');
    assert.notEqual(chunks.status, 400, await chunks.text());
    // Left out, they stay optional.
    assert.equal((await get('/api/v1/alerts')).status, 200);

    // The OpenAPI document gives clients the pattern.
    const doc = (await (await get('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema: unknown }> }>> };
    const params = (p: string) => doc.paths[p]?.['get']?.parameters ?? [];
    for (const [p, name] of [['/alerts', 'rule'], ['/captures/{id}/chunks', 'after']] as const) {
      const found = params(p).find((x) => x.name === name && x.in === 'query') ?? params(`/api/v1${p}`).find((x) => x.name === name && x.in === 'query');
      assert.deepEqual(found?.schema, { type: 'string', pattern: '^[1-9]\\d*$' }, `${p} ?${name}`);
    }
  } finally {
    await srv.close();
    h.close();
  }
});
