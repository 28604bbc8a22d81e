// GET /audit pages by entry id (docs/hub.md "REST API"): `next` is the cursor of the following page,
// `after` continues oldest first and `before` newest first (`order=desc`), so a log where many entries
// share one timestamp is read whole, each entry once, whichever way it is paged; bad cursors name the
// parameter. On both database backends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditList } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { auditSelect } from '../store/audit-repo.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  describe('audit paging', () => {
    let h: Harness;
    /** Ids of every entry, oldest first, and of the device.tags ones. */
    let all: number[];
    let tags: number[];
    const get = async (q: string): Promise<AuditList> => {
      const r = await h.req('GET', `/api/v1/audit${q}`, { role: 'viewer' });
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()) as AuditList;
    };
    const refused = async (q: string) => {
      const r = await h.req('GET', `/api/v1/audit${q}`, { role: 'viewer' });
      assert.equal(r.status, 400, q);
      return ((await r.json()) as { error: { code: string; message: string } }).error;
    };

    before(() => {
      h = makeHarness({ database: backend.database() });
      // 1,203 entries at one instant (more than the default page of 500): a `since` cursor cannot page them.
      const at = h.clock.now();
      h.store.db.transaction(() => {
        for (let i = 0; i < 1203; i++) h.store.audit.append({ actor: 'test', action: i % 3 === 0 ? 'device.tags' : 'device.add', target: `d-${i}`, at });
      })();
      const ids = (h.store.db.prepare('SELECT id, action FROM audit ORDER BY id').all() as Array<{ id: number; action: string }>);
      all = ids.map((r) => Number(r.id));
      tags = ids.filter((r) => r.action === 'device.tags').map((r) => Number(r.id));
    });
    after(() => h.close());

    it('the default page is the oldest 500 and says where the next one starts', async () => {
      const p = await get('');
      assert.deepEqual(p.entries.map((e) => e.id), all.slice(0, 500));
      assert.equal(p.next, all[499]);
    });

    it('after=next reads every entry once, oldest first, and ends with next null', async () => {
      const seen: number[] = [];
      let next: number | null = null;
      let pages = 0;
      do {
        const p = await get(`?limit=400${next === null ? '' : `&after=${next}`}`);
        seen.push(...p.entries.map((e) => e.id));
        next = p.next;
        pages++;
      } while (next !== null);
      assert.deepEqual(seen, all);
      assert.equal(pages, Math.ceil(all.length / 400));
    });

    it('a page that ends exactly at the last entry has next null', async () => {
      const p = await get(`?after=${all[all.length - 11]}&limit=10`);
      assert.equal(p.entries.length, 10);
      assert.equal(p.next, null);
      assert.deepEqual(await get(`?after=${all.at(-1)}`), { entries: [], next: null });
    });

    it('order=desc gives the newest first and before=next pages back, with the filters', async () => {
      const newest = await get('?order=desc&limit=3');
      assert.deepEqual(newest.entries.map((e) => e.id), all.slice(-3).reverse());
      assert.equal(newest.next, all.at(-3));
      const seen: number[] = [];
      let next: number | null = null;
      do {
        const p = await get(`?order=desc&action=device.tags&limit=150${next === null ? '' : `&before=${next}`}`);
        assert.ok(p.entries.every((e) => e.action === 'device.tags'));
        seen.push(...p.entries.map((e) => e.id));
        next = p.next;
      } while (next !== null);
      assert.deepEqual(seen, [...tags].reverse());
      // A range: after and before together.
      const mid = await get(`?after=${all[9]}&before=${all[20]}`);
      assert.deepEqual(mid.entries.map((e) => e.id), all.slice(10, 20));
      assert.equal(mid.next, null);
    });

    it('refuses a bad cursor, order or limit, a parameter given twice and an unknown one, naming it', async () => {
      for (const q of ['?after=0', '?after=-1', '?after=1e3', '?after=0x10', '?after=abc', '?before=1.5']) {
        const e = await refused(q);
        assert.equal(e.code, 'SCHEMA_INVALID', q);
        assert.match(e.message, /audit entry id .* \(query parameter (after|before)\): expected a positive decimal integer/, q);
      }
      assert.match((await refused('?order=newest')).message, /order "newest" \(query parameter order\): expected asc \(oldest first\) or desc \(newest first\)/);
      assert.match((await refused('?limit=10001')).message, /limit "10001" \(query parameter limit\): expected a whole number from 1 to 10000/);
      assert.match((await refused('?after=1&after=2')).message, /query parameter after is given 2 times/);
      // A misspelt cursor would otherwise read from the start again, silently.
      assert.match((await refused('?afterr=5')).message, /afterr/);
    });

    it('a target\'s entries are read by index, not by scanning the log (migration 103)', async () => {
      const page = await get('?target=d-6&order=desc');
      assert.deepEqual(page.entries.map((e) => e.target), ['d-6']);
      if (backend.name !== 'sqlite') return; // the plan below is SQLite's; PostgreSQL has the same index by the same migration
      for (const q of [{ target: 'd-6', order: 'desc' as const }, { target: 'd-6', after: 3 }, { target: 'd-6', action: 'device.tags' }]) {
        const { sql, args } = auditSelect(q, 51);
        const plan = (h.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
        assert.match(plan, /USING (COVERING )?INDEX audit_target/, `${JSON.stringify(q)}: ${plan}`);
      }
    });
  });
}
