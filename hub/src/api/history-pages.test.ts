// The lists that grow with history, GET /captures and GET /deployments (docs/hub.md "REST API"), through
// the real app on a real store (SQLite and PostgreSQL): newest first, `limit` a page (100 by default,
// 1,000 at most), `next` continues with ?before= and is null after the last page, each record exactly
// once; a bad limit or cursor is a 400 naming it. A capture's listed state is whether it can still
// collect rows; refused chunks are logged once a minute per reason, however many a device sends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Capture, CaptureList, DeploymentList } from '@edgefleet/shared';
import { makeCaptureHub, type CaptureHub } from '../capture/testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  describe('GET /captures and GET /deployments a page at a time', () => {
    let hub: CaptureHub;
    const get = async <T>(path: string): Promise<{ status: number; body: T & { error?: { code: string; message: string } } }> => {
      const r = await hub.h.req('GET', `/api/v1${path}`, { role: 'viewer' });
      return { status: r.status, body: (await r.json()) as T & { error?: { code: string; message: string } } };
    };
    /** Every id of a list, following `next` with ?before= (page size `limit`). */
    const walk = async (list: 'captures' | 'deployments', limit: number): Promise<{ ids: number[]; pages: number }> => {
      const ids: number[] = [];
      let before: number | null = null;
      let pages = 0;
      do {
        const r: { status: number; body: { next: number | null } & Record<string, unknown> } = await get<{ next: number | null }>(`/${list}?limit=${limit}${before === null ? '' : `&before=${before}`}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        ids.push(...(r.body[list] as Array<{ id: number }>).map((x) => x.id));
        before = r.body.next;
        pages++;
      } while (before !== null);
      return { ids, pages };
    };

    before(() => {
      hub = makeCaptureHub(backend.database(), {});
    });
    after(() => hub.close());

    it('deployments: 100 by default and `next`; every page newest first, each deployment once; counts per status', async () => {
      const { store } = hub.h;
      for (let i = 0; i < 1001; i++) store.deployments.create({ model: 'pump', version: '1.0.0', target: { devices: ['a'] }, reason: `d${i}`, createdBy: 'test', at: hub.clock.now() });
      store.deployments.addDevices(1001, 'pump', ['a'], hub.clock.now());
      const first = await get<DeploymentList>('/deployments');
      assert.equal(first.body.deployments.length, 100);
      assert.deepEqual([first.body.deployments[0]?.id, first.body.deployments.at(-1)?.id, first.body.next], [1001, 902, 902]);
      assert.equal(first.body.deployments[0]?.counts.pending, 1, 'counted per status');
      assert.equal(first.body.deployments[1]?.counts.pending, 0);
      const most = await get<DeploymentList>('/deployments?limit=1000');
      assert.deepEqual([most.body.deployments.length, most.body.next], [1000, 2]);
      const last = await get<DeploymentList>('/deployments?limit=1000&before=2');
      assert.deepEqual([last.body.deployments.map((d) => d.id), last.body.next], [[1], null]);
      const all = await walk('deployments', 300);
      assert.equal(all.pages, 4);
      assert.deepEqual(all.ids, Array.from({ length: 1001 }, (_, i) => 1001 - i), 'each once, newest first');
    });

    it('a bad limit or cursor is a 400 naming it and what was expected', async () => {
      const cases: Array<[string, RegExp]> = [
        ['limit=1001', /limit "1001" \(query parameter limit\): expected a whole number from 1 to 1000/],
        ['limit=0', /limit "0" \(query parameter limit\): expected a whole number from 1 to 1000/],
        ['limit=1e3', /limit "1e3"/],
        ['before=abc', /id "abc" \(query parameter before\): expected a positive decimal integer/],
        ['before=0x10', /id "0x10" \(query parameter before\)/],
        ['after=3', /unknown query parameter "after": expected limit, before/],
      ];
      for (const list of ['captures', 'deployments']) {
        for (const [q, message] of cases) {
          const r = await get<object>(`/${list}?${q}`);
          assert.equal(r.status, 400, `${list}?${q}`);
          assert.match(r.body.error?.message ?? '', message, `${list}?${q}`);
        }
      }
    });

    it('captures: newest first a page at a time, each once', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await hub.start();
        ids.push(c.id);
        assert.equal((await hub.h.req('DELETE', `/api/v1/captures/${c.id}?reason=next`, { role: 'operator' })).status, 200);
      }
      const first = await get<CaptureList>('/captures?limit=2');
      assert.deepEqual([first.body.captures.map((c) => c.id), first.body.next], [[ids[4], ids[3]], ids[3]]);
      const all = await walk('captures', 2);
      assert.deepEqual([all.ids, all.pages], [[...ids].reverse(), 3]);
      assert.deepEqual((await get<CaptureList>('/captures')).body.next, null, 'five fit the default page');
    });

    it('a capture is listed active only while a device can still add to it', async () => {
      const post = async (maxRows: number) => (await (await hub.h.req('POST', '/api/v1/captures', { role: 'operator', json: { model: 'pump', target: { devices: ['a'] }, rate: 1, maxRows, durationSec: 600, reason: 'state' } })).json()) as Capture;
      const listed = async (id: number) => (await get<CaptureList>('/captures')).body.captures.find((c) => c.id === id)?.state;
      const full = await post(1);
      assert.equal(full.state, 'active');
      assert.equal(hub.captures.accept('a', await hub.chunk(full.id, 1)).refused, undefined);
      assert.equal(await listed(full.id), 'ended', 'its one device reached maxRows: more would be refused');
      assert.equal((await get<Capture>(`/captures/${full.id}`)).body.state, 'ended');
      assert.equal(hub.captures.accept('a', await hub.chunk(full.id, 2)).refused?.code, 'too_many_rows');

      const done = await post(10);
      assert.equal(await listed(done.id), 'active');
      assert.equal(hub.captures.accept('a', { ...await hub.chunk(done.id, 1), end: 'done', reason: 'enough' }).refused, undefined);
      assert.equal(await listed(done.id), 'ended', 'its device ended its part');

      const running = await post(10);
      assert.equal(hub.captures.accept('a', await hub.chunk(running.id, 1)).refused, undefined);
      assert.equal(await listed(running.id), 'active', 'a device still capturing, below maxRows');
      hub.clock.advance(601_000);
      assert.equal(await listed(running.id), 'ended', 'past until');
      assert.equal((await hub.h.req('POST', `/api/v1/captures/${running.id}/purge`, { role: 'operator', json: { reason: 'fetched' } })).status, 200);
      assert.equal(await listed(running.id), 'purged');
      assert.equal(await listed(1), 'stopped');
    });

    it('refused chunks are logged once a minute per reason, with how many were not', async () => {
      const warned = () => hub.logger.lines.filter((l) => l.level === 'warn' && /capture chunk refused/.test(l.msg ?? ''));
      const before = warned().length;
      for (let seq = 1; seq <= 200; seq++) assert.equal(hub.captures.accept('a', await hub.chunk(999_999, seq)).refused?.code, 'unknown_capture');
      assert.equal(warned().length - before, 1, '200 refusals, one line');
      hub.clock.advance(60_000);
      assert.equal(hub.captures.accept('a', await hub.chunk(999_999, 201)).refused?.code, 'unknown_capture');
      const lines = warned().slice(before);
      assert.equal(lines.length, 2);
      assert.deepEqual(lines.map((l) => (l.obj as { unloggedBefore: number }).unloggedBefore), [0, 199]);
    });
  });
}
