// Every told device of a failed wave that did not install is kept (docs/rollouts.md "Gates"), at its bound: a
// wave of 25 devices in which all 25 fail. The wave's summary names the first RECORD_DEVICES and counts the
// rest; each device's row, past those too, reads `rolling back: pending (had failed: …)`; GET
// /rollouts/{id}/not-installed lists all 25 by place, a page at a time, and no more (one per device of the wave).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotInstalledPage } from '@edgefleet/shared';
import { GATES, appOf, cleanup, notified, prepare, setup, v1Everywhere } from './testing.js';
import { RECORD_DEVICES } from './not-installed.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('not-installed-all', () => {
  before(prepare);
  after(cleanup);

  const WAVE = 25;

  describe('every device of a failed wave that did not install', () => {
    it('a wave of 25 all failing: 25 kept, on their rows and paged by place; the summary names the first 20', async () => {
      const e = await setup(WAVE);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
        const told = notified(e, r.id);
        assert.equal(told.length, WAVE);
        for (const id of told) e.store.deployments.setStatus(id, 'audio-energy', '3.0.0', 'failed', e.clock.now(), { reason: `VERIFY_FAILED: bundle signature does not verify on ${id}` });
        e.clock.advance(61_000);
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.deepEqual([v.state, v.waves[0]?.state], ['rolled_back', 'failed']);
        assert.deepEqual([v.waves[0]?.notInstalled?.devices.length, v.waves[0]?.notInstalled?.more], [RECORD_DEVICES, WAVE - RECORD_DEVICES]);
        // Every row says why, past the summary's first 20 too (they read `rolling back: pending` alone before).
        const byPlace = (v.devices ?? []).map((d) => d.deviceId);
        for (const d of v.devices ?? []) assert.equal(d.status, `rolling back: pending (had failed: VERIFY_FAILED: bundle signature does not verify on ${d.deviceId})`);

        const token = e.store.tokens.create('viewer', 'viewer', 'test', e.clock.now()).token;
        const get = async (q: string) => {
          const res = await appOf(e).request(`/api/v1/rollouts/${r.id}/not-installed${q}`, { headers: { authorization: `Bearer ${token}` } });
          return { status: res.status, body: (await res.json()) as NotInstalledPage & { error?: { code: string; message: string } } };
        };
        const listed: string[] = [];
        let next: string | null = null;
        let pages = 0;
        do {
          const page = await get(`?limit=10${next ? `&after=${next}` : ''}`);
          assert.equal(page.status, 200, JSON.stringify(page.body));
          assert.ok(page.body.devices.length <= 10);
          listed.push(...page.body.devices.map((d) => d.deviceId));
          assert.ok(page.body.devices.every((d) => d.status === 'failed' && d.reason === `VERIFY_FAILED: bundle signature does not verify on ${d.deviceId}`));
          next = page.body.next;
          pages++;
        } while (next !== null);
        assert.deepEqual([pages, listed], [3, byPlace], 'all 25, by place, each once');
        assert.equal((await get('')).body.devices.length, WAVE, 'default page 100');
        const over = await get('?limit=1001');
        assert.deepEqual([over.status, over.body.error?.code], [400, 'SCHEMA_INVALID']);
        const stranger = await get('?after=d-999');
        assert.deepEqual([stranger.status, stranger.body.error?.code], [404, 'NOT_FOUND']);
        assert.match(stranger.body.error?.message ?? '', /after: device d-999 is not in rollout ro-\w+: expected a device id from the previous page's next/);

        // Back on 1.0.0: still named.
        for (const id of told) e.store.deployments.setStatus(id, 'audio-energy', '1.0.0', 'active', e.clock.now(), { progress: 1 });
        const last = e.engine.view(r.id).devices?.at(-1);
        assert.equal(last?.status, `rolled_back (had failed: VERIFY_FAILED: bundle signature does not verify on ${last?.deviceId})`);
      } finally {
        await e.close();
      }
    });
  });
});
