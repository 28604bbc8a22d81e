// GET /devices and GET /config/devices a page at a time (docs/hub.md "REST API"), through the real app
// on a real store (SQLite and PostgreSQL), and `edgefleet devices ls` and `config show fleet --devices`
// over them (docs/cli.md): by id, `limit` a page (1,000 by
// default and at most: a fleet of 5,000 answered 2.2 MB and 0.5 MB in one body before), `next` continues with
// ?after= and is null after the last page, each device exactly once even when devices are added
// between pages; a bad limit or cursor is a 400 naming it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigDeviceList, DeviceList } from '@edgefleet/shared';
import { ConfigService } from '../config/service.js';
import { makeHarness, type Harness } from '../testing/harness.js';
import { cliOver } from '../testing/cli.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

type Answer = { status: number; body: DeviceList & { error?: { code: string; message: string } } };
const id = (i: number) => `d-${String(i).padStart(5, '0')}`;

function suite(): void {
  describe('GET /devices a page at a time', () => {
    let h: Harness;
    const get = async (path: string): Promise<Answer> => {
      const r = await h.req('GET', `/api/v1${path}`, { role: 'viewer' });
      return { status: r.status, body: (await r.json()) as Answer['body'] };
    };

    before(() => {
      h = makeHarness({ database: backend.database(), parts: (store) => ({ config: new ConfigService(store) }) });
      // Every other id, so a device can be added inside a page already read (d-00001) and after it.
      h.store.db.transaction(() => {
        for (let i = 0; i < 2001; i++) h.store.devices.create(id(2 * i), 's3cret-s3cret-s3cret', { site: 'a' }, null, h.clock.now());
      })();
    });
    after(() => h.close());

    it('1,000 by default and at most, by id; `next` continues with ?after=, each device once, null after the last page', async () => {
      const first = await get('/devices');
      assert.equal(first.status, 200);
      assert.equal(first.body.devices.length, 1000, 'not the 2,001 the fleet holds');
      assert.deepEqual([first.body.devices[0]?.id, first.body.next], [id(0), id(1998)]);
      // Added while a client pages: one before the cursor (not listed again), one after it (listed once).
      h.store.devices.create(id(1), 's3cret-s3cret-s3cret', {}, null, h.clock.now());
      h.store.devices.create(id(4001), 's3cret-s3cret-s3cret', {}, null, h.clock.now());
      const ids = first.body.devices.map((d) => d.id);
      let next = first.body.next;
      let pages = 1;
      while (next !== null) {
        const p: Answer = await get(`/devices?after=${encodeURIComponent(next)}`);
        assert.equal(p.status, 200, JSON.stringify(p.body));
        assert.ok(p.body.devices.length <= 1000);
        ids.push(...p.body.devices.map((d) => d.id));
        next = p.body.next;
        pages++;
      }
      assert.equal(pages, 3);
      const expected = [...Array.from({ length: 2001 }, (_, i) => id(2 * i)), id(4001)].sort();
      assert.deepEqual(ids, expected, 'each once, by id; d-00001 came after its place was read');

      const small = await get(`/devices?limit=2&after=${id(3998)}`);
      assert.deepEqual([small.body.devices.map((d) => d.id), small.body.next], [[id(4000), id(4001)], null], 'the last page exactly full: next is null');
      const none = await get(`/devices?after=${id(4001)}`);
      assert.deepEqual([none.status, none.body.devices, none.body.next], [200, [], null]);
      const gone = await get('/devices?limit=1&after=d-00000x');
      assert.deepEqual(gone.body.devices.map((d) => d.id), [id(1)], 'a cursor that names no device still continues after it');
    });

    it('a bad limit or cursor is a 400 naming it and what was expected', async () => {
      const cases: Array<[string, string, RegExp]> = [
        ['limit=1001', 'SCHEMA_INVALID', /limit "1001" \(query parameter limit\): expected a whole number from 1 to 1000/],
        ['limit=0', 'SCHEMA_INVALID', /limit "0" \(query parameter limit\): expected a whole number from 1 to 1000/],
        ['after=a%20b', 'SCHEMA_INVALID', /after "a b" \(query parameter after\): expected the `next` of the page before, a device id/],
        ['before=d-00002', 'BAD_REQUEST', /unknown query parameter "before": expected limit, after/],
      ];
      for (const [q, code, message] of cases) {
        const r = await get(`/devices?${q}`);
        assert.equal(r.status, 400, q);
        assert.equal(r.body.error?.code, code, q);
        assert.match(r.body.error?.message ?? '', message, q);
      }
    });

    it('GET /config/devices: the devices not revoked, 1,000 a page by id, as GET /devices', async () => {
      h.store.devices.revoke(id(2), h.clock.now());
      const first = await h.req('GET', '/api/v1/config/devices', { role: 'viewer' });
      const p1 = (await first.json()) as ConfigDeviceList;
      assert.equal(first.status, 200);
      assert.deepEqual([p1.devices.length, p1.devices.slice(0, 3).map((d) => d.deviceId), p1.next], [1000, [id(0), id(1), id(4)], p1.devices[999]?.deviceId]);
      const p2 = (await (await h.req('GET', `/api/v1/config/devices?limit=1000&after=${p1.next ?? ''}`, { role: 'viewer' })).json()) as ConfigDeviceList;
      const p3 = (await (await h.req('GET', `/api/v1/config/devices?after=${p2.next ?? ''}`, { role: 'viewer' })).json()) as ConfigDeviceList;
      assert.deepEqual([p2.devices.length, p3.devices.length, p3.next], [1000, 2, null], '2,002 not revoked');
      // GET /devices's filters are not this route's: refused, not ignored (decision 0089).
      const filtered = await h.req('GET', '/api/v1/config/devices?tag=site%3Da', { role: 'viewer' });
      assert.equal(filtered.status, 400);
      assert.match(((await filtered.json()) as { error: { message: string } }).error.message, /unknown query parameter "tag": expected limit, after/);
      const bad = await h.req('GET', '/api/v1/config/devices?limit=5000', { role: 'viewer' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: { message: string } }).error.message, /limit "5000" \(query parameter limit\): expected a whole number from 1 to 1000/);
      const cli = await cliOver(h.app, h.tokens.admin, h.dir);
      try {
        const r = await cli.run('config', 'show', 'fleet', '--devices', '--json');
        assert.equal(r.code, 0, r.err);
        assert.equal((JSON.parse(r.out) as ConfigDeviceList).devices.length, 2002, 'every page');
      } finally {
        cli.close();
      }
    });

    it('devices ls follows every page, filtered by the hub', async () => {
      const cli = await cliOver(h.app, h.tokens.admin, h.dir);
      try {
        const r = await cli.run('devices', 'ls', '--json');
        assert.equal(r.code, 0, r.err);
        const all = JSON.parse(r.out) as { devices: Array<{ id: string }> };
        assert.equal(all.devices.length, 2003, 'the 2,001 and the two added by the first test');
        assert.equal(new Set(all.devices.map((d) => d.id)).size, all.devices.length);
        // Filtered by the hub: --search, --status; bad values named (exit 2 here, the hub's 400 exit 1).
        const some = JSON.parse((await cli.run('devices', 'ls', '--search', 'D-0399', '--json')).out) as { devices: Array<{ id: string }> };
        assert.deepEqual(some.devices.map((d) => d.id).filter((x) => x.startsWith('d-0399') && Number(x.slice(2)) % 2 === 0), ['d-03990', 'd-03992', 'd-03994', 'd-03996', 'd-03998']);
        assert.ok(some.devices.every((d) => d.id.includes('d-0399')), 'only matching devices');
        const revoked = JSON.parse((await cli.run('devices', 'ls', '--status', 'revoked', '--json')).out) as { devices: Array<{ id: string; revoked: boolean }> };
        assert.deepEqual(revoked.devices.map((d) => [d.id, d.revoked]), [['d-00002', true]], 'the one the GET /config/devices test revoked');
        const bad = await cli.run('devices', 'ls', '--status', 'gone');
        assert.equal(bad.code, 2);
        assert.match(bad.err, /--status: expected online, offline, revoked, got "gone"/);
        assert.equal((await cli.run('devices', 'ls', '--tag', 'site')).code, 2);
        const refused = await cli.run('devices', 'ls', '--version', 'no-at-sign');
        assert.equal(refused.code, 1);
        assert.match(refused.err, /version/);
      } finally {
        cli.close();
      }
    });
  });
}
