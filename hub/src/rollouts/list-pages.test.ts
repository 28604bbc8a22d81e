// GET /rollouts and `edgefleet rollout ls` a page at a time (docs/hub.md "REST API", docs/cli.md): newest
// first by created time then id, `next` (CREATED,ID) continues with ?before= and is null after the last
// page, each rollout once even when many share a created time; a bad cursor or limit is a 400 naming it;
// the CLI notes what it left out and follows every page with --all-pages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutList } from '@edgefleet/shared';
import { appOf, cleanup, cliAgainst, prepare, setup, v1Everywhere } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('list-pages', () => {
  before(prepare);
  after(cleanup);

  it('rollouts are listed newest first a page at a time, each once, over REST and the CLI', async () => {
    const e = await setup(2);
    const cli = await cliAgainst(e);
    try {
      await v1Everywhere(e);
      const token = e.store.tokens.create('look', 'viewer', 'test', e.clock.now()).token;
      const app = appOf(e);
      const get = async (path: string) => {
        const r = await app.request(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: r.status, body: (await r.json()) as RolloutList & { error?: { message: string } } };
      };
      const created = await cli.run('rollout', 'create', 'audio-energy', '2.0.0', '--all', '--reason', 'first', '--json');
      assert.equal(created.code, 0, created.err);
      const model = e.store.rollouts.get((JSON.parse(created.out) as { id: string }).id);
      // 250 more, three to a created time (the tie is broken by id), all after the first.
      for (let i = 0; i < 250; i++) {
        const at = new Date(Date.parse(model.createdAt) + 1000 * (1 + Math.floor(i / 3))).toISOString();
        e.store.rollouts.create({ ...model, id: `ro-${i.toString(16).padStart(10, '0')}`, state: 'completed', createdAt: at, updatedAt: at });
      }
      const first = await get('/rollouts');
      assert.equal(first.status, 200);
      assert.equal(first.body.rollouts.length, 100);
      assert.equal(first.body.rollouts[0]?.id, 'ro-00000000f9', 'the newest: last created time, highest id');
      const seen: string[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const r = await get(`/rollouts?limit=60${next === null ? '' : `&before=${encodeURIComponent(next)}`}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        seen.push(...r.body.rollouts.map((x) => `${x.created},${x.id}`));
        next = r.body.next;
        pages++;
      } while (next !== null);
      assert.equal(pages, 5);
      assert.equal(new Set(seen).size, 251, 'each once');
      assert.deepEqual(seen, [...seen].sort().reverse(), 'newest first: created time, then id');
      assert.equal(seen.at(-1), `${model.createdAt},${model.id}`);

      for (const [q, message] of [
        ['before=ro-00000000f9', /before "ro-00000000f9" \(query parameter before\): expected the `next` of the page before \(a rollout's created time as stored and its id/],
        ['before=2026-13-01T00:00:00.000Z,ro-00000000f9', /query parameter before/],
        ['limit=1001', /limit "1001" \(query parameter limit\): expected a whole number from 1 to 1000/],
      ] as const) {
        const r = await get(`/rollouts?${q}`);
        assert.equal(r.status, 400, q);
        assert.match(r.body.error?.message ?? '', message, q);
      }

      const two = await cli.run('rollout', 'ls', '--limit', '2');
      assert.equal(two.code, 0, two.err);
      assert.equal(two.out.trim().split('\n').length, 3, 'header and two rollouts');
      const cursor = first.body.rollouts[1] ? `${first.body.rollouts[1].created},${first.body.rollouts[1].id}` : '';
      assert.equal(two.err, `older rollouts not shown: edgefleet rollout ls --limit 2 --before ${cursor} (or --all-pages for all of them)\n`);
      const after2 = await cli.run('rollout', 'ls', '--limit', '2', '--before', cursor, '--json');
      assert.deepEqual((JSON.parse(after2.out) as RolloutList).rollouts.map((r) => r.id), first.body.rollouts.slice(2, 4).map((r) => r.id));
      const every = await cli.run('rollout', 'ls', '--all-pages', '--limit', '1000', '--json');
      const all = JSON.parse(every.out) as RolloutList;
      assert.deepEqual([all.rollouts.length, all.next, every.err], [251, null, '']);
      const tooMany = await cli.run('rollout', 'ls', '--limit', '1001');
      assert.equal(tooMany.code, 2);
      assert.match(tooMany.err, /--limit 1001: expected at most 1000 a page/);
    } finally {
      cli.close();
      await e.close();
    }
  });
});
