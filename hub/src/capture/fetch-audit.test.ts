// Every page of GET /captures/{id}/chunks is audited as capture.fetch (docs/hub.md "Data capture"). Chunk
// ids are global (AUTOINCREMENT over all captures), so a fetch that starts with `after=1`, or at the
// capture's own first chunk, reads (nearly) all of it: such pages went unaudited when only a request
// without `after` was. On both database backends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureChunkPage } from '@edgefleet/shared';
import { makeCaptureHub, type CaptureHub } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  describe('capture fetch audit', () => {
    let hub: CaptureHub;
    /** Stores `n` chunks of the capture and returns their ids. */
    const upload = async (captureId: number, n: number): Promise<number[]> => {
      for (let seq = 1; seq <= n; seq++) assert.equal(hub.captures.accept('a', await hub.chunk(captureId, seq, 'row')).refused, undefined);
      return (hub.h.store.db.prepare('SELECT id FROM capture_chunks WHERE capture_id = ? ORDER BY id').all(captureId) as Array<{ id: number }>).map((r) => Number(r.id));
    };
    const page = async (id: number, after?: number): Promise<CaptureChunkPage> => {
      const r = await hub.h.req('GET', `/api/v1/captures/${id}/chunks${after === undefined ? '' : `?after=${after}`}`, { role: 'operator' });
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()) as CaptureChunkPage;
    };
    const fetches = () => hub.h.store.audit.query({ action: 'capture.fetch' });

    // One chunk a page (a page holds at least one), so a fetch has several pages.
    before(() => { hub = makeCaptureHub(backend.database(), { pageBytes: 1 }); });
    after(() => hub.close());

    it('audits every page, however the fetch starts: no after, after=1 and the capture\'s own first chunk id', async () => {
      const earlier = await hub.start();
      await upload(earlier.id, 3); // chunk ids 1-3 belong to another capture
      const c = await hub.start();
      const ids = await upload(c.id, 3);
      assert.ok(ids[0]! > 3, `the capture's chunks start above 1: ${ids.join(',')}`);

      for (const from of [undefined, 1, ids[0]]) {
        const before = fetches().length;
        const got: number[] = [];
        const cursors: Array<number | null> = [];
        let next: number | null | undefined = from;
        do {
          cursors.push(next ?? null);
          const p = await page(c.id, next ?? undefined);
          got.push(...p.chunks.map((x) => x.id));
          next = p.next;
        } while (next !== null);
        assert.deepEqual(got, from === ids[0] ? ids.slice(1) : ids, `from ${from}`);
        const entries = fetches().slice(before);
        assert.equal(entries.length, cursors.length, `from ${from}: one entry per page`);
        for (const [i, e] of entries.entries()) {
          assert.equal(e.target, `capture ${c.id}`);
          assert.equal(e.actor, 'operator-token');
          assert.match(e.actorId ?? '', /^tok_/);
          assert.deepEqual(e.details, { id: c.id, after: cursors[i], next: cursors[i + 1] ?? null, chunks: 1 });
        }
      }
    });

    it('a viewer is refused and nothing is audited', async () => {
      const before = fetches().length;
      const c = hub.captures.list().captures[0]!;
      assert.equal((await hub.h.req('GET', `/api/v1/captures/${c.id}/chunks?after=1`, { role: 'viewer' })).status, 403);
      assert.equal(fetches().length, before);
    });
  });
}
