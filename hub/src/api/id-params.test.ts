// Numeric ids in paths (drift reports, alert rules, alerts, deployments, captures) are plain positive
// decimal integers: anything Number() would also take (1e3, 0x10, " 12", "1.0") or that is not one
// at all is a 400 naming the parameter and what was expected, before any lookup or missing part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';

const ROUTES: Array<[method: string, path: (id: string) => string, what: string]> = [
  ['GET', (id) => `/api/v1/drift-reports/${id}`, 'drift report'],
  ['DELETE', (id) => `/api/v1/alert-rules/${id}`, 'alert rule'],
  ['GET', (id) => `/api/v1/alerts/${id}/deliveries`, 'alert'],
  ['GET', (id) => `/api/v1/deployments/${id}`, 'deployment'],
  ['GET', (id) => `/api/v1/captures/${id}`, 'capture'],
  ['DELETE', (id) => `/api/v1/captures/${id}`, 'capture'],
  ['GET', (id) => `/api/v1/captures/${id}/chunks`, 'capture'],
];

// As sent in the path (percent-encoded where a raw character would not survive) and as decoded.
const BAD: Array<[sent: string, raw: string]> = [
  ['1e3', '1e3'], ['0x10', '0x10'], ['%2012', ' 12'], ['12%20', '12 '], ['12abc', '12abc'], ['1.0', '1.0'], ['012', '012'],
  ['0', '0'], ['-1', '-1'], ['%2B12', '+12'], ['0b11', '0b11'], ['abc', 'abc'], ['99999999999999999999', '99999999999999999999'],
];

test('a numeric path id that is not plain positive decimal digits is a 400 naming the parameter, on every route that takes one', async () => {
  const h = makeHarness();
  try {
    for (const [method, path, what] of ROUTES) {
      for (const [sent, raw] of BAD) {
        const res = await h.req(method, path(sent), { role: 'operator' });
        const text = await res.text();
        assert.equal(res.status, 400, `${method} ${path(sent)}: ${text}`);
        const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
        assert.equal(e.code, 'BAD_REQUEST');
        const expected = `${what} id "${raw}" (path parameter id): expected a positive decimal integer (digits only, no leading zero, e.g. 12)`;
        assert.ok(e.message === expected || (raw.length > 15 && e.message.startsWith(`${expected} of at most `)), `${method} ${path(sent)}: ${e.message}`);
      }
    }
    // A well-formed id reaches the lookup (no such report), and a capture id past what captures take is refused.
    assert.equal((await h.req('GET', '/api/v1/drift-reports/1000', { role: 'viewer' })).status, 404);
    const big = await h.req('GET', `/api/v1/captures/${2 ** 31 + 1}`, { role: 'viewer' });
    assert.equal(big.status, 400);
    assert.match(((await big.json()) as { error: { message: string } }).error.message, /^capture id "2147483649" \(path parameter id\): expected a positive decimal integer .*at most 2147483648/);
  } finally {
    h.close();
  }
});
