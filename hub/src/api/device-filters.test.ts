// GET /devices filtered by the hub (docs/decisions/0089-fleet-view-filtered-by-the-hub.md) and GET /fleet,
// through the real app on a real store (SQLite and PostgreSQL): ?q= finds a part of an id, a tag
// (key=value, any case) or a version; ?tag= one tag exactly (never a value that merely holds its text);
// ?status= and ?version=; the filters combine, page by id with `next`, and `total` counts every match.
// Bad filters are a 400 naming the parameter and what was expected.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReportedState, STATE_SCHEMA, type DeviceList, type FleetSummary } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

type Answer = { status: number; body: DeviceList & { error?: { code: string; message: string } } };
const id = (i: number) => `cam-${String(i).padStart(4, '0')}`;
const running = (deviceId: string, name: string, version: string) => ReportedState.parse({
  schema: STATE_SCHEMA, deviceId, at: '2026-12-05T12:00:00.000Z', agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1,
  models: [{ name, active: version, installed: [version], status: 'active' }],
});

function suite(): void {
  describe('GET /devices filters and GET /fleet', () => {
    let h: Harness;
    const get = async (path: string): Promise<Answer> => {
      const r = await h.req('GET', `/api/v1${path}`, { role: 'viewer' });
      return { status: r.status, body: (await r.json()) as Answer['body'] };
    };
    const ids = async (path: string) => (await get(path)).body.devices.map((d) => d.id);

    before(() => {
      h = makeHarness({ database: backend.database() });
      const now = h.clock.now();
      h.store.db.transaction(() => {
        // 2,500 devices: sites north (every third), south; cam-0007 holds a value that only contains "site":"north" as text.
        for (let i = 0; i < 2500; i++) h.store.devices.create(id(i), 's3cret-s3cret-s3cret', { site: i % 3 === 0 ? 'north' : 'south', ring: i < 10 ? 'canary' : 'main' }, null, now);
        h.store.devices.create('Gate-Lobby', 's3cret-s3cret-s3cret', { note: 'the "site":"north" door', site: 'East_Wing' }, null, now);
      })();
      for (const d of [id(1), id(2), id(3)]) h.store.devices.markSeen(d, true, now);
      h.store.devices.revoke(id(4), now);
      h.store.devices.setReported(id(1), running(id(1), 'audio-energy', '2.0.0'));
      h.store.devices.setReported(id(2), running(id(2), 'audio-energy', '1.0.0'));
      h.store.devices.setReported(id(4), running(id(4), 'audio-energy', '2.0.0'));
    });
    after(() => h.close());

    it('?tag= is one tag exactly (the value in any case), paged by id, `total` counting every match', async () => {
      const first = await get('/devices?tag=site%3Dnorth&limit=1000');
      assert.equal(first.status, 200);
      assert.equal(first.body.total, 834, 'every third of 2,500');
      assert.equal(first.body.devices.length, 834);
      assert.ok(first.body.devices.every((d) => d.tags['site'] === 'north'), 'not Gate-Lobby, whose note only holds the text');
      const page = await get('/devices?tag=site%3DNORTH&limit=500');
      assert.deepEqual([page.body.devices.length, page.body.total, page.body.next], [500, 834, page.body.devices[499]?.id]);
      const rest = await get(`/devices?tag=site%3Dnorth&limit=500&after=${page.body.next ?? ''}`);
      assert.deepEqual([rest.body.devices.length, rest.body.next, rest.body.total], [334, null, 834]);
      assert.deepEqual(await ids('/devices?tag=site%3Deast_wing'), ['Gate-Lobby']);
      assert.deepEqual(await ids('/devices?tag=site%3Dnor'), [], 'a tag is whole, not a part');
      assert.deepEqual(await ids('/devices?tag=site%3D_ast%25'), [], 'LIKE wildcards are text');
    });

    it('?q= finds a part of an id, of a tag (key=value) or of a version, any case; it combines with the others', async () => {
      assert.deepEqual(await ids('/devices?q=gate-l'), ['Gate-Lobby']);
      assert.deepEqual(await ids('/devices?q=%22site%22'), ['Gate-Lobby'], 'a quote in a value is found as typed');
      assert.deepEqual(await ids('/devices?q=ring%3Dcan'), Array.from({ length: 10 }, (_, i) => id(i)));
      assert.deepEqual(await ids('/devices?q=ENERGY%402'), [id(1), id(4)]);
      assert.deepEqual(await ids('/devices?q=energy%402&status=online'), [id(1)]);
      assert.deepEqual(await ids('/devices?q=cam-000&tag=ring%3Dcanary&status=revoked'), [id(4)]);
      const some = await get('/devices?q=cam-1&limit=3');
      assert.deepEqual([some.body.devices.map((d) => d.id), some.body.total], [[id(1000), id(1001), id(1002)], 1000]);
    });

    it('?status= and ?version=; GET /fleet counts by status and the versions of devices not revoked', async () => {
      assert.deepEqual(await ids('/devices?status=online'), [id(1), id(2), id(3)]);
      assert.deepEqual(await ids('/devices?status=revoked'), [id(4)]);
      assert.equal((await get('/devices?status=offline&limit=1')).body.total, 2501 - 4);
      assert.deepEqual(await ids('/devices?version=audio-energy%402.0.0'), [id(1), id(4)]);
      assert.equal((await get('/devices')).body.total, 2501);
      const r = await h.req('GET', '/api/v1/fleet', { role: 'viewer' });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json() as FleetSummary, {
        online: 3, offline: 2497, revoked: 1, versionsTotal: 2,
        versions: [{ model: 'audio-energy', version: '1.0.0', devices: 1 }, { model: 'audio-energy', version: '2.0.0', devices: 1 }],
      });
    });

    it('GET /fleet lists at most 50 versions, the most run first, and counts them all', async () => {
      // 52 versions, version 1.0.i on i + 1 devices (cam-0100 on): 1.0.51 is run by the most.
      let n = 100;
      for (let i = 0; i < 52; i++) for (let k = 0; k <= i; k++, n++) h.store.devices.setReported(id(n), running(id(n), 'many', `1.0.${i}`));
      const s = await (await h.req('GET', '/api/v1/fleet', { role: 'viewer' })).json() as FleetSummary;
      assert.equal(s.versionsTotal, 54, '52 of many and the two of audio-energy');
      assert.equal(s.versions.length, 50);
      assert.deepEqual(s.versions[0], { model: 'many', version: '1.0.51', devices: 52 });
      assert.deepEqual(s.versions.at(-1), { model: 'many', version: '1.0.2', devices: 3 });
    });

    it('a bad filter is a 400 naming it and what was expected', async () => {
      const cases: Array<[string, RegExp]> = [
        ['status=asleep', /status "asleep" \(query parameter status\): expected online, offline or revoked/],
        ['tag=north', /tag "north" \(query parameter tag\): expected a tag as key=value/],
        ['tag=Site%3Dnorth', /tag "Site=north" \(query parameter tag\): expected a tag as key=value \(a key of lowercase letters/],
        ['version=audio-energy', /version "audio-energy" \(query parameter version\): expected a model version as NAME@VERSION/],
        ['q=%20%20', /q " {2}" \(query parameter q\): expected text to search for in device ids, tags and versions, 1 to 256 characters/],
        [`q=${'x'.repeat(257)}`, /q "x+…?" \(query parameter q\): expected text to search for/],
        ['site=north', /unknown query parameter "site": expected limit, after, q, tag, status, version/],
      ];
      for (const [q, message] of cases) {
        const r = await get(`/devices?${q}`);
        assert.equal(r.status, 400, q);
        assert.match(r.body.error?.message ?? '', message, q);
      }
    });
  });
}
