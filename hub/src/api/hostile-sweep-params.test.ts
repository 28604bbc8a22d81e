// The hostile-input sweep of path parameters and query strings (testing/sweep.ts; the bodies are in
// hostile-sweep.test.ts), on a whole hub on 127.0.0.1 port 0, on both database backends. Every route of
// the route table with a path parameter gets each hostile value in it (0, -1, 1e3, 20 nines, '..', NUL,
// malformed percent-encoding, 4000 characters, unicode) with an otherwise valid request; every documented
// query parameter gets empty, repeated, wrong-type, out-of-range, NUL and 4000-character values. Nothing
// answers 5xx; a refusal is a 4xx with a known code and a message; nothing is written; the hub stays up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { assertRefused, assertUp, pathOf, snapshot, startSweepHub, validBodies, type JsonSchema } from '../testing/sweep.js';
import type { RouteDef } from './http.js';

const LONG = 'x'.repeat(4000); // the whole URL stays under node's 16 KiB header limit (else a bare 431)

/** As sent in the URL. */
const PATH_VALUES = ['0', '-1', '1e3', '9999999999999999999', '..', '%2e%2e', '%00', 'a%00b', '%ZZ', '%C0%AF', 'a%2Fb', LONG, '%F0%9F%92%A9%E2%80%AE', '%20'];
const QUERY_VALUES = ['', '-1', '0', '1.5', '1e309', '99999999999999999999', 'NaN', '0x10', '%ZZ', '%00', 'a%00b', LONG, '%F0%9F%92%A9'];


/**
 * Whether a query parameter may take `decoded`: free text (a filter, a reason) takes anything, a pattern
 * what matches it (model=0 is a model name). Anything else (a time, an enum, a number) a hostile value is not.
 */
function mayTake(s: JsonSchema, decoded: string): boolean {
  if (s.type !== 'string' || s.format || s.enum || s.const !== undefined) return false;
  if (s.pattern) return new RegExp(s.pattern).test(decoded);
  return decoded.length >= (s.minLength ?? 0);
}

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('hostile path parameters and query strings', () => {
    let s: Awaited<ReturnType<typeof startSweepHub>>;
    before(async () => { s = await startSweepHub(backend.database()); });
    after(async () => { await s?.close(); });

    /** The request of `r` at `path`: its valid body; a DELETE names a reason only where it would not delete anything. */
    const send = (r: RouteDef, path: string) => {
      const body = r.body ? JSON.stringify(validBodies(s.model, s.enrollToken)[`${r.method.toUpperCase()} ${r.path}`]) : undefined;
      return s.api(r.method.toUpperCase(), path, body);
    };

    it('a hostile path parameter: never a 5xx; refused with a code and a message; nothing written', { timeout: 600_000 }, async () => {
      let sent = 0;
      // One snapshot before the sweep: each route's state after is compared with it, so with the state before
      // that route (the previous route's check showed them the same), at one snapshot a route instead of two.
      const before = await snapshot(s);
      for (const r of s.routes.filter((x) => x.path.includes('/:') && !x.rawBody && !x.events)) {
        for (const p of [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!)) {
          for (const v of PATH_VALUES) {
            // A DELETE's reason goes with a parameter that names nothing (the lookup answers 404).
            const query = r.method === 'delete' ? '?reason=sweep' : '';
            const path = `${pathOf(r, s.model, [p, v])}${query}`;
            const res = await send(r, path);
            sent++;
            assertRefused(res, `${r.method.toUpperCase()} ${path.slice(0, 120)}`);
            if (/%00/.test(v)) assert.match(res.text, new RegExp(`path parameter ${p} contains a NUL character`), `${r.path} with ${v} names the parameter`);
          }
        }
        assert.equal(await snapshot(s), before, `${r.method.toUpperCase()} ${r.path}: a refused request wrote something`);
      }
      await assertUp(s, 'the path sweep');
      assert.ok(sent > 500, `swept ${sent} requests`);
    });

    it('a hostile query parameter: never a 5xx; a constrained one is refused with a code and a message; repeated is refused', { timeout: 600_000 }, async () => {
      let sent = 0;
      const before = await snapshot(s); // as in the path sweep: each route's state after is compared with it
      for (const r of s.routes.filter((x) => x.query && !x.events)) {
        const op = s.doc.paths[`/api/v1${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`]![r.method]!;
        // A DELETE (a write) is swept on an id that names nothing: a value that passes is answered 404.
        const base = r.method === 'delete' ? pathOf(r, s.model).replace(/\/1\.0\.0(\/bundle)?$/, '/9.9.9$1').replace(/\/1$/, '/999') : pathOf(r, s.model);
        for (const q of op.parameters.filter((x) => x.in === 'query')) {
          const other = r.method === 'delete' && q.name !== 'reason' ? '&reason=sweep' : '';
          for (const v of QUERY_VALUES) {
            const res = await send(r, `${base}?${q.name}=${v}${other}`);
            sent++;
            let decoded = v;
            try { decoded = decodeURIComponent(v); } catch { /* stays as sent */ }
            const what = `${r.method.toUpperCase()} ${base}?${q.name}=${v.slice(0, 40)}`;
            assert.ok(res.status < 500, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
            if (res.status >= 400 || !mayTake(q.schema, decoded)) assertRefused(res, what);
            if (/%00/.test(v)) assert.match(res.text, new RegExp(`query parameter ${q.name} contains a NUL character`), what);
          }
          const twice = await send(r, `${base}?${q.name}=1&${q.name}=2${other}`);
          assertRefused(twice, `${r.path}?${q.name} twice`);
          assert.match(twice.text, new RegExp(`query parameter ${q.name} is given 2 times`), r.path);
          sent++;
        }
        // A misspelt parameter is refused, naming it and the ones the route takes (not answered unfiltered).
        const misspelt = await send(r, `${base}?${r.method === 'delete' ? 'reasn=sweep' : 'lmit=5'}`);
        assertRefused(misspelt, `${r.path} with a misspelt parameter`);
        assert.match(misspelt.text, /unknown query parameter \\?"(reasn|lmit)\\?": expected /, r.path);
        sent++;
        assert.equal(await snapshot(s), before, `${r.method.toUpperCase()} ${r.path}: a refused request wrote something`);
      }
      await assertUp(s, 'the query sweep');
      assert.ok(sent > 200, `swept ${sent} requests`);
    });
  });
});
