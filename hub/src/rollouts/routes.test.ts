// POST/GET /api/v1/rollouts and the actions through the real app (in-process requests) on the rollout
// test environment: validation names the field, an overlapping active rollout is refused naming it,
// actions need a reason and the operator role, and defaults are filled in; a preview answers each wave's
// devices and a create with its id takes exactly them; changes are announced once per transaction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutChange } from '../store/rollouts-repo.js';
import { appOf, cleanup, prepare, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('routes', () => {
  before(prepare);
  after(cleanup);

  function api(e: Env) {
    const admin = e.store.tokens.create('ops', 'operator', 'test', e.clock.now()).token;
    const app = appOf(e);
    return async (method: string, path: string, body?: unknown, token = admin) => {
      const res = await app.request(`/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
    };
  }

  describe('rollouts over REST', () => {
    it('validates naming the field, fills in defaults, refuses an overlap naming the active rollout', async () => {
      const e = await setup(6);
      try {
        await v1Everywhere(e);
        const req = api(e);
        const base = { model: 'audio-energy', version: '2.0.0', target: { all: true }, reason: 'v2' };
        const bad = await req('POST', '/rollouts', { ...base, waves: [{ name: 'canary', percent: 150, bakeSec: 60 }] });
        assert.equal(bad.status, 400);
        assert.match(bad.body.error?.message ?? '', /waves\.0\.percent|waves\[0\]\.percent/);
        const order = await req('POST', '/rollouts', { ...base, waves: [{ name: 'a', percent: 50, bakeSec: 1 }, { name: 'b', percent: 40, bakeSec: 1 }] });
        assert.match(order.body.error?.message ?? '', /percent.*above the previous wave's 50/);
        const noReason = await req('POST', '/rollouts', { ...base, reason: ' ' });
        assert.match(noReason.body.error?.message ?? '', /reason: expected a reason/);
        const gate = await req('POST', '/rollouts', { ...base, gates: { latencyRatio: -1 } });
        assert.match(gate.body.error?.message ?? '', /gates\.latencyRatio/);

        const ok = await req('POST', '/rollouts', base);
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        const r = ok.body as { id: string; advance: string; onFailure: string; waves: Array<{ name: string; percent: number; bakeSec: number; devices: number }>; gates: Record<string, number> };
        assert.deepEqual(r.waves.map((w) => [w.name, w.percent, w.bakeSec]), [['canary', 5, 1800], ['all', 100, 0]]);
        assert.ok((r.waves[0]?.devices ?? 0) >= 1, 'canary: at least 1 device');
        assert.deepEqual([r.advance, r.onFailure, r.gates['installSuccess'], r.gates['outputPsi']], ['auto', 'rollback', 0.95, 0.2]);

        const again = await req('POST', '/rollouts', { ...base, target: { devices: ['d-001'] } });
        assert.equal(again.status, 409);
        assert.match(again.body.error?.message ?? '', new RegExp(`rollout ${r.id} .* active over the same devices \\(d-001\\)`));

        const list = await req('GET', '/rollouts', undefined);
        assert.equal((list.body['rollouts'] as unknown[]).length, 1);
        const shown = await req('GET', `/rollouts/${r.id}`, undefined);
        const all = shown.body['devices'] as Array<{ deviceId: string; place: number }>;
        assert.deepEqual([all.length, shown.body['devicesTotal']], [6, undefined]);
        // ?devices=N: the first N by place, and how many there are.
        const page = await req('GET', `/rollouts/${r.id}?devices=2`, undefined);
        assert.deepEqual([(page.body['devices'] as typeof all).map((d) => d.deviceId), page.body['devicesTotal']], [all.slice(0, 2).map((d) => d.deviceId), 6]);
        assert.deepEqual((await req('GET', `/rollouts/${r.id}?devices=6`, undefined)).body['devicesTotal'], undefined, 'all listed: no total');
        const zero = await req('GET', `/rollouts/${r.id}?devices=0`, undefined);
        assert.deepEqual([zero.status, zero.body.error?.message], [400, 'invalid rollout query: devices: devices "0" (query parameter devices): expected a whole number from 1 to 100000 (digits only, no leading zero, e.g. 50)']);
        assert.match((await req('GET', `/rollouts/${r.id}?device=2`, undefined)).body.error?.message ?? '', /unknown query parameter "device": expected devices/);
        assert.equal((await req('GET', '/rollouts/ro-none', undefined)).status, 404);

        const noWhy = await req('POST', `/rollouts/${r.id}/pause`, {});
        assert.match(noWhy.body.error?.message ?? '', /reason/);
        const viewer = e.store.tokens.create('v2', 'viewer', 'test', e.clock.now()).token;
        assert.equal((await req('POST', `/rollouts/${r.id}/pause`, { reason: 'x' }, viewer)).status, 403);
        const paused = await req('POST', `/rollouts/${r.id}/pause`, { reason: 'hold' });
        assert.equal(paused.body['state'], 'paused');
        const twice = await req('POST', `/rollouts/${r.id}/pause`, { reason: 'hold' });
        assert.equal(twice.status, 409);
        assert.match(twice.body.error?.message ?? '', /is paused: pause expects a running rollout/);
      } finally {
        await e.close();
      }
    });

    it('previews each wave\'s devices by the same code as create: a create with the previewed id takes exactly them', async () => {
      const e = await setup(12);
      try {
        await v1Everywhere(e);
        const req = api(e);
        const changes: RolloutChange[] = [];
        e.store.rollouts.onChanged((c) => changes.push(c));
        const base = { model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 25, minDevices: 2, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 0 }] };
        const bad = await req('POST', '/rollouts/preview', { ...base, waves: [{ name: 'a', percent: 150, bakeSec: 1 }] });
        assert.equal(bad.status, 400);
        const issues = (bad.body.error as { details?: Array<{ path: unknown[] }> }).details ?? [];
        assert.ok(issues.some((i) => i.path.join('.') === 'waves.0.percent'), `the issue names the field: ${JSON.stringify(issues)}`);
        assert.equal((await req('POST', '/rollouts/preview', { ...base, version: '9.9.9' })).status, 404);
        const viewer = e.store.tokens.create('v', 'viewer', 'test', e.clock.now()).token;
        assert.equal((await req('POST', '/rollouts/preview', base, viewer)).status, 403);

        const pv = await req('POST', '/rollouts/preview', base); // no reason yet: allowed
        assert.equal(pv.status, 200, JSON.stringify(pv.body));
        const p = pv.body as unknown as { id: string; fromVersion: string; devices: number; waves: Array<{ name: string; devices: number; joiningCount: number; joining: Array<{ deviceId: string; previous: string }> }> };
        assert.match(p.id, /^ro-[0-9a-f]{10}$/);
        assert.equal(p.fromVersion, '1.0.0');
        assert.equal(p.devices, 12);
        assert.deepEqual(p.waves.map((w) => w.devices), [p.waves[0]?.joiningCount, 12]);
        assert.ok((p.waves[0]?.joiningCount ?? 0) >= 2, 'minDevices tops the canary up');
        assert.equal(p.waves.reduce((n, w) => n + w.joining.length, 0), 12, 'every device in exactly one wave');
        assert.ok(p.waves.every((w) => w.joining.every((j) => j.previous === '1.0.0')));
        assert.equal(e.store.rollouts.list().rollouts.length, 0, 'a preview stores nothing');
        assert.equal(changes.length, 0);

        const created = await req('POST', '/rollouts', { ...base, id: p.id, reason: 'as previewed' });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const shown = (await req('GET', `/rollouts/${p.id}`)).body as unknown as { devices: Array<{ deviceId: string; wave: string }>; waves: Array<{ active: number; notified: number }> };
        for (const w of p.waves) {
          assert.deepEqual(shown.devices.filter((d) => d.wave === w.name).map((d) => d.deviceId).sort(), w.joining.map((j) => j.deviceId).sort(), `wave ${w.name} took the previewed devices`);
        }
        assert.equal(shown.waves[0]?.active, 0, 'told, not active yet');
        assert.ok((shown.waves[0]?.notified ?? 0) > 0);
        await new Promise((r) => setImmediate(r));
        assert.ok(changes.length >= 1 && changes.every((c) => c.id === p.id), 'announced after the transaction');
        assert.equal(changes.at(-1)?.wave, 'canary');
        const again = await req('POST', '/rollouts', { ...base, id: p.id, target: { devices: ['d-001'] }, reason: 'same id' });
        assert.equal(again.status, 409);
        assert.match(again.body.error?.message ?? '', /^id: rollout ro-[0-9a-f]+ exists already/);
        const badId = await req('POST', '/rollouts', { ...base, id: 'ro-XYZ', reason: 'x' });
        assert.match(badId.body.error?.message ?? '', /^invalid rollout request: id: expected a rollout id/);
      } finally {
        await e.close();
      }
    });
  });
});
