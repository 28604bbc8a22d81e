// A hostile-input sweep of every REST route that takes a JSON body, on a whole hub (hub.ts, embedded
// broker, every part; testing/sweep.ts) on 127.0.0.1 port 0, on both database backends. The routes and their body schemas
// come from the route table and the OpenAPI document, so a new route is swept too (it only needs a valid
// body in validBodies(), testing/sweep.ts). Each request changes one thing of a valid body (or sends no JSON object at all):
// malformed JSON, the wrong top-level type, an empty body, an unknown field, each wrong type of each
// field, 100k-character strings, NUL, numbers out of range / 1e309 / fractions, strings breaking a
// pattern. Every answer is a 4xx with a known code and a message; nothing is written (the audit log and
// every list stay as they were: each write is audited); the hub answers /health after each route.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { EMPTY_IS_VALID, WHOLE, assertRefused, assertUp, fieldsOf, hostileFor, pathOf, snapshot, startSweepHub, validBodies, withField } from '../testing/sweep.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('hostile JSON bodies on every route that takes one', () => {
    let s: Awaited<ReturnType<typeof startSweepHub>>;
    before(async () => { s = await startSweepHub(backend.database()); });
    after(async () => { await s?.close(); });

    it('every body route has a valid body here that its schema takes', () => {
      const valid = validBodies(s.model, s.enrollToken);
      for (const r of s.routes.filter((x) => x.body)) {
        const key = `${r.method.toUpperCase()} ${r.path}`;
        assert.ok(valid[key], `${key}: add a valid body to validBodies() so the sweep covers it`);
        const p = r.body!.safeParse(valid[key]);
        assert.ok(p.success, `${key}: the valid body is refused by its own schema: ${JSON.stringify(p.error?.issues)}`);
      }
    });

    it('is refused with a 4xx, a code and a message; nothing is written; the hub stays up', { timeout: 600_000 }, async () => {
      const valid = validBodies(s.model, s.enrollToken);
      let sent = 0;
      for (const r of s.routes.filter((x) => x.body)) {
        const key = `${r.method.toUpperCase()} ${r.path}`;
        const base = valid[key]!;
        const path = pathOf(r, s.model);
        const schema = s.doc.paths[`/api/v1${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`]![r.method]!.requestBody!.content['application/json']!.schema;
        const cases: Array<[string, string | undefined]> = WHOLE.filter(([l]) => !(EMPTY_IS_VALID.has(key) && /^(no body|an empty body|whitespace)$/.test(l)));
        // POST /enroll stays open to fields a newer agent sends (its extra facts are ignored, docs/hub.md).
        if (key !== 'POST /enroll') cases.push(['an unknown field', JSON.stringify({ ...base, zzUnknown: 1 })], ['a misspelt field', JSON.stringify({ ...base, reasonn: 'typo' })]);
        for (const [at, f] of fieldsOf(schema, base)) for (const [label, v] of hostileFor(f)) cases.push([`${at.join('.')}: ${label}`, withField(base, at, v)]);
        const before = await snapshot(s);
        for (const [label, body] of cases) {
          assertRefused(await s.api(r.method.toUpperCase(), path, body), `${key} with ${label}`);
          sent++;
        }
        assert.equal(await snapshot(s), before, `${key}: a refused request wrote something`);
        await assertUp(s, key);
      }
      assert.ok(sent > 1000, `swept ${sent} requests`);
    });
  });
});
