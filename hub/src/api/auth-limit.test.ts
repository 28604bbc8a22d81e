// Failed-authentication throttling: repeated 401s from one address on /enroll and on a bearer route
// earn 429 RATE_LIMITED with Retry-After; other addresses are unaffected; the bucket refills with
// time; the remembered addresses are bounded; /metrics counts failures and refusals. Addresses are
// injected (the limiter unit and the app's node-server binding), and one test goes over real HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { FACTS, makeHarness, type Harness } from '../testing/harness.js';
import { AuthFailureLimiter } from './auth-limit.js';

test('limiter: an address is refused after its burst, refills with time, others unaffected, addresses bounded', () => {
  const l = new AuthFailureLimiter({ burst: 3, perMinute: 6, maxAddresses: 2 });
  let now = 1_000_000;
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfterMs('10.0.0.1', now), 0, `failure ${i + 1} is let through`);
    l.fail('10.0.0.1', now);
  }
  assert.equal(l.retryAfterMs('10.0.0.1', now), 10_000, 'one failure is forgiven every 10 s');
  assert.equal(l.retryAfterMs('10.0.0.2', now), 0);
  now += 9_999;
  assert.ok(l.retryAfterMs('10.0.0.1', now) > 0);
  now += 1;
  assert.equal(l.retryAfterMs('10.0.0.1', now), 0);
  l.fail('10.0.0.1', now);
  assert.equal(l.retryAfterMs('10.0.0.1', now), 10_000, 'one try per refill');
  now += 30_000;
  assert.equal(l.retryAfterMs('10.0.0.1', now), 0);
  assert.equal(l.size, 0, 'a refilled address is forgotten');

  for (const a of ['a', 'b', 'c']) l.fail(a, now);
  assert.equal(l.size, 2, 'at most maxAddresses are remembered');
  for (const a of ['b', 'c']) { l.fail(a, now); l.fail(a, now); }
  assert.equal(l.retryAfterMs('c', now), 10_000);
  assert.equal(l.retryAfterMs('a', now), 0, 'the least recently failing address was forgotten first');
  assert.throws(() => new AuthFailureLimiter({ burst: 0 }), /burst >= 1/);
});

const from = (h: Harness, addr: string, method: string, path: string, o: { token?: string; json?: unknown } = {}) =>
  Promise.resolve(h.app.request(path, {
    method,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(o.json !== undefined ? { body: JSON.stringify(o.json) } : {}),
  }, { incoming: { socket: { remoteAddress: addr } } }));

test('API: guessing enrollment and bearer tokens from one address gets 429 with Retry-After; other addresses are served', async () => {
  const h = makeHarness({ authLimit: { burst: 3, perMinute: 6 } });
  try {
    const guess = { token: 'guess', facts: FACTS };
    for (let i = 0; i < 3; i++) assert.equal((await from(h, '10.0.0.1', 'POST', '/api/v1/enroll', { json: guess })).status, 401);
    const limited = await from(h, '10.0.0.1', 'POST', '/api/v1/enroll', { json: guess });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '10');
    const body = (await limited.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.match(body.error.message, /too many failed authentications from 10\.0\.0\.1: retry in 10 s \(at most 3 in a row, then 6 per minute\)/);
    // Blocked before the token is looked at: a right guess gets no different answer.
    assert.equal((await from(h, '10.0.0.1', 'GET', '/api/v1/devices', { token: h.tokens.viewer })).status, 429);

    // Another address: served, and its own failures are its own.
    assert.equal((await from(h, '10.0.0.2', 'GET', '/api/v1/devices', { token: h.tokens.viewer })).status, 200);
    assert.equal((await from(h, '10.0.0.2', 'POST', '/api/v1/enroll', { json: guess })).status, 401);

    // A bearer-protected route: wrong tokens, then 429.
    for (let i = 0; i < 3; i++) assert.equal((await from(h, '10.0.0.3', 'GET', '/api/v1/devices', { token: `efa_guess${i}` })).status, 401);
    assert.equal((await from(h, '10.0.0.3', 'GET', '/api/v1/devices', { token: 'efa_guess' })).status, 429);

    // After Retry-After the address may try again (once per refill).
    h.clock.advance(10_000);
    assert.equal((await from(h, '10.0.0.1', 'GET', '/api/v1/devices', { token: h.tokens.viewer })).status, 200);

    const m = await (await h.req('GET', '/metrics', { token: null })).text();
    assert.match(m, /edgefleet_api_auth_failures_total\{route="\/api\/v1\/enroll"\} 4/);
    assert.match(m, /edgefleet_api_auth_failures_total\{route="\/api\/v1\/devices"\} 3/);
    assert.match(m, /edgefleet_api_auth_throttled_total 3/);
  } finally {
    h.close();
  }
});

test('over real HTTP on 127.0.0.1: repeated 401s from the client address turn into 429 with Retry-After', async () => {
  const h = makeHarness({ authLimit: { burst: 2, perMinute: 1 } });
  const server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
  try {
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = () => fetch(`${url}/api/v1/devices`, { headers: { authorization: 'Bearer efa_wrong' } });
    assert.equal((await get()).status, 401);
    assert.equal((await get()).status, 401);
    const r = await get();
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '60');
    assert.match(await r.text(), /"code":"RATE_LIMITED".*from (::ffff:)?127\.0\.0\.1/);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /edgefleet_api_auth_throttled_total 1/);
  } finally {
    await new Promise((r) => server.close(r));
    h.close();
  }
});
