// Purging captures (docs/hub.md "Data capture"): an ended capture's sealed chunks are deleted on request
// (after `capture fetch`) or capture.keepDays after it ended, so a device's capture storage bound
// (capture.maxBytesPerDevice) frees up for the next capture instead of refusing every later one for
// good. The capture's record and counts stay; fetching it or sending more of it is refused with why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findBytes } from '@edgefleet/examples';
import type { Capture, CaptureAck, CaptureChunk } from '@edgefleet/shared';
import type { Harness } from '../testing/harness.js';
import type { CaptureService } from './service.js';
import { makeCaptureHub, type CaptureHub } from './testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
  describe('purging captures', () => {
    let hub: CaptureHub;
    let h: Harness;
    let captures: CaptureService;
    const start = () => hub.start();
    const chunk = (captureId: number, seq: number): Promise<CaptureChunk> => hub.chunk(captureId, seq);
    /** Chunks until the device's storage bound refuses one; the last ack. */
    const fill = async (captureId: number): Promise<CaptureAck> => {
      let last: CaptureAck | undefined;
      for (let seq = 1; seq <= 10 && !last?.refused; seq++) last = captures.accept('a', await chunk(captureId, seq));
      return last as CaptureAck;
    };
    const purge = (id: number, reason?: string) => h.req('POST', `/api/v1/captures/${id}/purge`, { role: 'operator', json: reason === undefined ? {} : { reason } });
    const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error;

    before(() => {
      hub = makeCaptureHub(backend.database(), { maxBytesPerDevice: 4000, keepDays: 30 });
      ({ h, captures } = hub);
    });
    after(() => hub.close());

    it('an operator purges an ended capture: its chunks go, its bytes stop counting, more of it is refused', async () => {
      const c1 = await start();
      assert.equal((await fill(c1.id)).refused?.code, 'storage_quota', 'the device is at its capture storage bound');
      const c2 = await start();
      assert.equal((await fill(c2.id)).refused?.code, 'storage_quota', 'and so refuses every later capture');

      const early = await purge(c1.id, 'fetched');
      assert.equal(early.status, 409);
      assert.match((await errorOf(early)).message, /still captures until .*: stop it first \(edgefleet capture stop \d+\), then purge it/);
      const noReason = await purge(c1.id);
      assert.equal(noReason.status, 400);
      assert.match((await errorOf(noReason)).message, /reason/);
      const extra = await h.req('POST', `/api/v1/captures/${c1.id}/purge`, { role: 'operator', json: { reason: 'x', bytes: 0 } });
      assert.equal(extra.status, 400, 'an unknown field is refused');
      assert.match((await errorOf(extra)).message, /bytes/);
      const badId = await h.req('POST', '/api/v1/captures/abc/purge', { role: 'operator', json: { reason: 'x' } });
      assert.equal(badId.status, 400);
      assert.equal((await h.req('POST', '/api/v1/captures/999999/purge', { role: 'operator', json: { reason: 'x' } })).status, 404);
      assert.equal((await h.req('POST', `/api/v1/captures/${c1.id}/purge`, { role: 'viewer', json: { reason: 'x' } })).status, 403);

      assert.equal((await h.req('DELETE', `/api/v1/captures/${c1.id}?reason=enough`, { role: 'operator' })).status, 200);
      const stored = Number((h.store.db.prepare('SELECT SUM(bytes) AS n FROM capture_chunks WHERE capture_id = ?').get(c1.id) as { n: number }).n);
      assert.ok(stored > 0);
      const r = await purge(c1.id, 'fetched into the summer dataset');
      assert.equal(r.status, 200, await r.clone().text());
      const v = (await r.json()) as Capture;
      assert.equal(v.purged?.bytes, stored);
      assert.equal(v.purged?.by, 'operator-token');
      assert.ok(v.rows > 0, 'its counts stay');
      assert.equal(Number((h.store.db.prepare('SELECT COUNT(*) AS n FROM capture_chunks WHERE capture_id = ?').get(c1.id) as { n: number }).n), 0);
      assert.deepEqual(h.store.audit.query({ action: 'capture.purge' } as never).map((e) => [e.target, e.reason]), [[`capture ${c1.id}`, 'fetched into the summer dataset']]);

      const fetch = await h.req('GET', `/api/v1/captures/${c1.id}/chunks`, { role: 'operator' });
      assert.equal(fetch.status, 404);
      assert.match((await errorOf(fetch)).message, /chunks were purged at .* by operator-token \(fetched into the summer dataset\): nothing to fetch/);
      const late = captures.accept('a', await chunk(c1.id, 99));
      assert.equal(late.refused?.code, 'purged', 'a chunk still on its way is refused (the box drops it)');
      assert.equal((await purge(c1.id, 'again')).status, 409);

      // The bytes freed: the device's next capture stores again.
      const c3 = await start();
      assert.equal(captures.accept('a', await chunk(c3.id, 1)).refused, undefined);
    });

    it('a capture that ended capture.keepDays ago is purged by the hub, once', async () => {
      const running = captures.list().captures.filter((c) => !c.purged && !c.stopped).map((c) => c.id);
      assert.equal(captures.purgeEnded(), 0, 'nothing ended 30 days ago yet');
      hub.clock.advance(600_000 + 29 * 86_400_000);
      assert.equal(captures.purgeEnded(), 0, 'ended 29 days ago: kept');
      hub.clock.advance(2 * 86_400_000);
      assert.equal(captures.purgeEnded(), running.length, 'every capture that ended over 30 days ago');
      for (const id of running) assert.equal(captures.view(id).purged?.by, 'hub');
      const entries = h.store.audit.query({ action: 'capture.purge', actor: 'hub' } as never);
      assert.equal(entries.length, running.length);
      assert.match(entries[0]?.reason ?? '', /ended more than 30 days ago \(capture\.keepDays\)/);
      assert.equal(captures.purgeEnded(), 0, 'purged once');
    });
  });

  // What a purge deletes leaves hub.db's files: zeroed in place (secure_delete), and the WAL frames that
  // held it truncated. SQLite only: on PostgreSQL deleted rows stay in the table's files until reused.
  it('a purged capture\'s ciphertext is in none of hub.db\'s files: not in free pages, not in the WAL', async (t) => {
    if (backend.name !== 'sqlite') return t.skip('hub.db only');
    const hub = makeCaptureHub(undefined, {});
    try {
      const c = await hub.start();
      // A chunk that fits in a page and one that spills into overflow pages.
      const sent = [await hub.chunk(c.id, 1), await hub.chunk(c.id, 2, 'z'.repeat(40_000))];
      for (const m of sent) assert.equal(hub.captures.accept('a', m).refused, undefined);
      const needles = sent.flatMap((m) => [m.sealed.data.slice(200, 264), m.sealed.data.slice(-96, -32), m.sealed.key.box]).map((x) => Buffer.from(x));
      const dir = hub.h.store.dataDir;
      assert.equal(findBytes([dir], needles).hits.length > 0, true, 'the scan finds the chunks while they are stored');
      assert.equal((await hub.h.req('DELETE', `/api/v1/captures/${c.id}?reason=fetched`, { role: 'operator' })).status, 200);
      assert.equal((await hub.h.req('POST', `/api/v1/captures/${c.id}/purge`, { role: 'operator', json: { reason: 'fetched' } })).status, 200);
      assert.deepEqual(findBytes([dir], needles).hits, []);
    } finally {
      hub.close();
    }
  });
}
