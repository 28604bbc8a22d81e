// GET /tokens and GET /enrollment-tokens a page at a time (docs/hub.md "REST API"), through the real app
// on a real store (SQLite and PostgreSQL), and `edgefleet tokens ls` / `enroll-token ls` over it
// (docs/cli.md): newest first by created time then id, `limit` a page (100 by default, 1,000 at most),
// `next` (CREATED,ID) continues with ?before= and is null after the last page, each token exactly once
// even when many share a created time; a bad limit or cursor is a 400 naming it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EnrollmentTokenList, TokenList } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';
import { cliOver } from '../testing/cli.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

type List = TokenList | EnrollmentTokenList;
type Answer = { status: number; body: List & { error?: { code: string; message: string } } };

function suite(): void {
  describe('GET /tokens and GET /enrollment-tokens a page at a time', () => {
    let h: Harness;
    const lists = [
      { path: '/tokens', role: 'admin', own: 'tok_0123456789abcdef', other: 'et_0123456789abcdef' },
      { path: '/enrollment-tokens', role: 'viewer', own: 'et_0123456789abcdef', other: 'tok_0123456789abcdef' },
    ] as const;
    const get = async (path: string, role: 'admin' | 'viewer'): Promise<Answer> => {
      const r = await h.req('GET', `/api/v1${path}`, { role });
      return { status: r.status, body: (await r.json()) as Answer['body'] };
    };
    const key = (t: { created: string; id: string }) => `${t.created},${t.id}`;
    /** Every token of a list, following `next` with ?before= (page size `limit`). */
    const walk = async (path: string, role: 'admin' | 'viewer', limit: number): Promise<{ keys: string[]; pages: number }> => {
      const keys: string[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const r: Answer = await get(`${path}?limit=${limit}${next === null ? '' : `&before=${encodeURIComponent(next)}`}`, role);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        keys.push(...r.body.tokens.map(key));
        next = r.body.next;
        pages++;
      } while (next !== null);
      return { keys, pages };
    };

    before(() => {
      h = makeHarness({ database: backend.database() });
      // 1,001 of each, three to a created time (ties broken by id); the harness's three API tokens share the first time.
      for (let i = 0; i < 1001; i++) {
        if (i % 3 === 0) h.clock.advance(1000);
        h.store.tokens.create(`t${i}`, 'viewer', 'test', h.clock.now());
        h.store.enrollment.create({ tags: {}, expires: new Date(h.clock.now().getTime() + 86_400_000), maxUses: 1, createdBy: 'test', at: h.clock.now() });
      }
    });
    after(() => h.close());

    for (const { path, role } of lists) {
      it(`${path}: 100 by default, 1,000 at most, every page newest first, each token once, ties split across pages`, async () => {
        const total = path === '/tokens' ? 1004 : 1001;
        const first = await get(path, role);
        assert.equal(first.status, 200);
        assert.equal(first.body.tokens.length, 100);
        const last = first.body.tokens.at(-1);
        assert.ok(last);
        assert.equal(first.body.next, key(last));
        const second = await get(`${path}?before=${encodeURIComponent(first.body.next ?? '')}`, role);
        assert.equal(second.body.tokens[0]?.created, last.created, 'the page ends inside a created time: the next page holds the rest of it');
        assert.ok((second.body.tokens[0]?.id ?? '') < last.id);

        const most = await get(`${path}?limit=1000`, role);
        assert.equal(most.body.tokens.length, 1000);
        const rest = await get(`${path}?limit=1000&before=${encodeURIComponent(most.body.next ?? '')}`, role);
        assert.deepEqual([rest.body.tokens.length, rest.body.next], [total - 1000, null]);

        const all = await walk(path, role, 300);
        assert.equal(all.pages, 4);
        assert.equal(new Set(all.keys).size, total, 'each once');
        assert.deepEqual(all.keys, [...all.keys].sort().reverse(), 'newest first: created time, then id');

        const empty = await get(`${path}?before=${encodeURIComponent(`2000-01-01T00:00:00.000Z,${last.id}`)}`, role);
        assert.deepEqual([empty.status, empty.body.tokens, empty.body.next], [200, [], null], 'nothing older: an empty last page');
      });
    }

    it('a bad limit or cursor is a 400 naming it and what was expected', async () => {
      for (const { path, role, own, other } of lists) {
        const what = path === '/tokens' ? 'an API token' : 'an enrollment token';
        const cases: Array<[string, RegExp]> = [
          ['limit=1001', /limit "1001" \(query parameter limit\): expected a whole number from 1 to 1000/],
          ['limit=0', /limit "0" \(query parameter limit\): expected a whole number from 1 to 1000/],
          ['before=abc', new RegExp(`before "abc" \\(query parameter before\\): expected the \`next\` of the page before \\(${what}'s created time as stored and its id`)],
          [`before=2026-01-01T00:00:00.000Z,${other}`, /query parameter before/],
          [`before=2026-13-01T00:00:00.000Z,${own}`, /query parameter before/],
          [`before=${own}`, /before "[a-z]+_0123456789abcdef" \(query parameter before\)/],
          ['after=3', /unknown query parameter "after": expected limit, before/],
        ];
        for (const [q, message] of cases) {
          const r = await get(`${path}?${q}`, role);
          assert.equal(r.status, 400, `${path}?${q}`);
          assert.equal(r.body.error?.code, q.startsWith('after') ? 'BAD_REQUEST' : 'SCHEMA_INVALID', `${path}?${q}`);
          assert.match(r.body.error?.message ?? '', message, `${path}?${q}`);
        }
      }
    });

    it('tokens ls and enroll-token ls: a page, the note naming the older page, --all-pages, --limit over 1000 refused', async () => {
      const cli = await cliOver(h.app, h.tokens.admin, h.dir);
      try {
        for (const [command, path, total] of [['tokens', '/tokens', 1004], ['enroll-token', '/enrollment-tokens', 1001]] as const) {
          const first = (await get(`${path}?limit=2`, 'admin')).body;
          const two = await cli.run(command, 'ls', '--limit', '2');
          assert.equal(two.code, 0, two.err);
          assert.equal(two.out.trim().split('\n').length, 3, 'header and two tokens');
          assert.equal(two.err, `older tokens not shown: edgefleet ${command} ls --limit 2 --before ${first.next ?? ''} (or --all-pages for all of them)\n`);
          const older = await cli.run(command, 'ls', '--limit', '2', '--before', first.next ?? '', '--json');
          const page = JSON.parse(older.out) as List;
          assert.deepEqual(page.tokens.map((t) => t.id), (await get(`${path}?limit=4`, 'admin')).body.tokens.slice(2).map((t) => t.id));
          const every = await cli.run(command, 'ls', '--all-pages', '--limit', '1000', '--json');
          const all = JSON.parse(every.out) as List;
          assert.deepEqual([all.tokens.length, all.next, every.err], [total, null, '']);
          const tooMany = await cli.run(command, 'ls', '--limit', '1001');
          assert.equal(tooMany.code, 2);
          assert.match(tooMany.err, /--limit 1001: expected at most 1000 a page/);
          const badCursor = await cli.run(command, 'ls', '--before', 'abc');
          assert.equal(badCursor.code, 1);
          assert.match(badCursor.err, /before "abc" \(query parameter before\)/);
        }
      } finally {
        cli.close();
      }
    });
  });
}
