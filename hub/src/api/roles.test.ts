// Every /api/v1 route × every role (and no token): a role below the route's
// requirement gets 403, no token gets 401, and the roles at or above it pass
// the authorization check (they may still fail later with 4xx for the body).
// The table comes from the app's own route list, so a new route is covered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiRole } from '@edgefleet/shared';
import { apiRoutes } from './app.js';
import { makeHarness } from '../testing/harness.js';

const ROLES: ApiRole[] = ['viewer', 'operator', 'admin'];
const RANK = { viewer: 1, operator: 2, admin: 3 } as const;

test('route × role: 401 without a token, 403 below the required role, authorized at or above it', async () => {
  // Two 401s per route from one (unknown) address: more than the failure throttle lets through by default.
  const h = makeHarness({ authLimit: { burst: 1000 } });
  try {
    const routes = apiRoutes(() => Promise.reject(new Error('unused')));
    assert.ok(routes.length >= 15, `expected the full route table, got ${routes.length}`);
    h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
    for (const r of routes) {
      const path = `/api/v1${r.path.replace(':id', 'dev-1').replace(':name', 'nomodel').replace(':version', '1.0.0')}`;
      const method = r.method.toUpperCase();
      const json = method === 'GET' ? undefined : {};
      if (r.access === 'public') {
        const res = await h.req(method, path, { token: null, json });
        assert.notEqual(res.status, 401, `${method} ${path} is public`);
        assert.notEqual(res.status, 403, `${method} ${path} is public`);
        continue;
      }
      const anon = await h.req(method, path, { token: null, json });
      assert.equal(anon.status, 401, `${method} ${path} without a token`);
      const bad = await h.req(method, path, { token: 'efa_not-a-token', json });
      assert.equal(bad.status, 401, `${method} ${path} with an unknown token`);
      for (const role of ROLES) {
        // An empty JSON body: authorized requests then fail validation (400) or lookup (404), never 401/403.
        const res = await h.req(method, path, { role, json });
        const body = await res.text();
        if (RANK[role] < RANK[r.access]) {
          assert.equal(res.status, 403, `${method} ${path} as ${role} should be 403, got ${res.status} ${body}`);
          assert.match(body, new RegExp(`needs the ${r.access} role`));
        } else {
          assert.ok(res.status !== 401 && res.status !== 403, `${method} ${path} as ${role} should pass authorization, got ${res.status} ${body}`);
        }
      }
    }
  } finally {
    h.close();
  }
});

test('errors are {error: {code, message}} with the mapped status; unknown routes are 404', async () => {
  const h = makeHarness();
  try {
    const r = await h.req('GET', '/api/v1/devices/nope', { role: 'viewer' });
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { error: { code: 'NOT_FOUND', message: 'no device "nope"', details: { kind: 'device', id: 'nope' } } });
    const u = await h.req('GET', '/api/v1/nothing-here', { role: 'viewer' });
    assert.equal(u.status, 404);
    assert.equal(((await u.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  } finally {
    h.close();
  }
});

test('OpenAPI document lists every route with its schemas; /metrics counts requests by route and status', async () => {
  const h = makeHarness();
  try {
    await h.req('GET', '/api/v1/devices', { role: 'viewer' });
    await h.req('GET', '/api/v1/devices', { token: null });
    const doc = (await (await h.req('GET', '/api/v1/openapi.json', { token: null })).json()) as {
      openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const r of apiRoutes(() => Promise.reject(new Error('unused')))) {
      const p = `/api/v1${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
      assert.ok(doc.paths[p]?.[r.method], `openapi lacks ${r.method} ${p}`);
    }
    const enroll = doc.paths['/api/v1/enroll']?.['post']?.requestBody?.content['application/json']?.schema;
    assert.ok(enroll?.properties?.['facts'], 'enroll body schema has facts');
    const m = await (await h.req('GET', '/metrics', { token: null })).text();
    assert.match(m, /edgefleet_api_requests_total\{route="\/api\/v1\/devices",method="GET",status="200"\} 1/);
    assert.match(m, /edgefleet_api_requests_total\{route="\/api\/v1\/devices",method="GET",status="401"\} 1/);
    assert.match(m, /edgefleet_api_request_duration_seconds_count\{route="\/api\/v1\/devices"\} 2/);
  } finally {
    h.close();
  }
});
