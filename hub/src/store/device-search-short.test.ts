// A search of 1–2 characters has no trigram to look up (device-search.ts): it reads every device's row of
// device_search, so a hub answers one while it holds at most SHORT_SEARCH_MAX_DEVICES devices and refuses it beyond
// with a 400 saying why and what to send instead (docs/decisions/0109-short-device-searches.md), on SQLite and PostgreSQL,
// over GET /devices; a search of 3 characters or more is answered at any size. Its `total` is exact up to SEARCH_COUNT_MAX
// matches, and beyond on those 10,000 devices; on one more device it is SEARCH_COUNT_MAX, `totalExact` false, and the
// pages still list every match once (docs/decisions/0123-device-search-count-capped.md); a search with a tag or status
// filter is counted alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { SEARCH_COUNT_MAX, SHORT_SEARCH_MAX_DEVICES } from '@edgefleet/shared';
import { searchText } from './device-search.js';
import type { Db } from './db.js';

let backend: Backend;
/** A search with a tag filter: the odd devices, half the fleet. */
const NORTH_CAMS = 'cam&tag=site%3Dnorth';
forEachBackend((b) => { backend = b; }, suite);

/** Devices cam-00000… up to `to`, the odd ones site=north (written as DevicesRepo.create writes their rows, without hashing a secret each). */
function addDevices(db: Db, from: number, to: number): void {
  const dev = db.prepare("INSERT INTO devices (id, secret_hash, tags, created_at) VALUES (?, 'x', ?, '2026-12-01T00:00:00.000Z')");
  const text = db.prepare('INSERT INTO device_search (device_id, text) VALUES (?, ?)');
  const tag = db.prepare("INSERT INTO device_tags (device_id, key, value) VALUES (?, 'site', ?)");
  db.transaction(() => {
    for (let i = from; i < to; i++) {
      const id = `cam-${String(i).padStart(5, '0')}`;
      const site = i % 2 ? 'north' : 'south';
      const tags = JSON.stringify({ site });
      dev.run(id, tags);
      tag.run(id, site);
      text.run(id, searchText(id, tags, []));
    }
  })();
}

function suite(): void {
  test(`a search of 1-2 characters is answered on ${SHORT_SEARCH_MAX_DEVICES} devices and refused, saying why, on one more`, { timeout: 120_000 }, async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      /** `q`: the search, or a search with other filters (`cam&tag=site%3Dnorth`), as sent. */
      const get = async (q: string) => {
        const res = await h.req('GET', `/api/v1/devices?limit=5&q=${q.includes('&') ? q : encodeURIComponent(q)}`, { role: 'viewer' });
        return { status: res.status, body: (await res.json()) as { total?: number; totalExact?: boolean; next?: string | null; devices?: Array<{ id: string }>; error?: { code: string; message: string } } };
      };
      /** Asks `q` and checks its `total` and whether it is exact. */
      const counted = async (q: string, total: number, totalExact: boolean) => {
        const r = await get(q);
        assert.equal(r.status, 200, `q ${q}: ${JSON.stringify(r.body)}`);
        assert.deepEqual([r.body.total, r.body.totalExact], [total, totalExact], `q ${q}`);
      };
      addDevices(h.store.db, 0, SHORT_SEARCH_MAX_DEVICES);
      for (const [q, total] of [['c', SHORT_SEARCH_MAX_DEVICES], ['99', 280], ['n', SHORT_SEARCH_MAX_DEVICES / 2], ['cam-0000', 10],
        ['cam', SHORT_SEARCH_MAX_DEVICES], ['site=n', SHORT_SEARCH_MAX_DEVICES / 2], ['cam-01', SEARCH_COUNT_MAX],
        [NORTH_CAMS, SHORT_SEARCH_MAX_DEVICES / 2], ['cam&status=offline', SHORT_SEARCH_MAX_DEVICES]] as const) await counted(q, total, true);
      addDevices(h.store.db, SHORT_SEARCH_MAX_DEVICES, SHORT_SEARCH_MAX_DEVICES + 1);
      for (const q of ['c', ' 99 ', 'n']) {
        const r = await get(q);
        assert.equal(r.status, 400, `q ${JSON.stringify(q)}`);
        assert.equal(r.body.error?.code, 'BAD_REQUEST');
        assert.match(r.body.error?.message ?? '', new RegExp(`^search "${q.trim()}": a search of 1 or 2 characters is answered on a hub of at most 10,000 devices \\(it reads every device; 3 or more are looked up in an index\\) and this one has 10,001; expected at least 3 characters, or a filter by tag \\(tag=KEY=VALUE\\) or version$`));
      }
      // Past SEARCH_COUNT_MAX matches the count stops there; up to it, it is exact.
      for (const [q, total, exact] of [['cam', SEARCH_COUNT_MAX, false], ['site=n', SEARCH_COUNT_MAX, false], ['10000', 1, true], ['cam-01', SEARCH_COUNT_MAX, true],
        [NORTH_CAMS, SEARCH_COUNT_MAX, false], ['cam&status=offline', SEARCH_COUNT_MAX, false], ['cam-0000&tag=site%3Dnorth', 5, true]] as const) await counted(q, total, exact);
      h.store.devices.create('zz-cam-01', 'secret-0123456789abcdef', {}, null, new Date());
      await counted('cam-01', SEARCH_COUNT_MAX, false);
      // Every match once, in id order, a page at a time, each page saying its count is not exact.
      const north = Array.from({ length: (SHORT_SEARCH_MAX_DEVICES + 1) >> 1 }, (_, i) => `cam-${String(2 * i + 1).padStart(5, '0')}`);
      for (const q of ['site%3Dn', NORTH_CAMS]) {
        const ids: string[] = [];
        for (let after = ''; ;) {
          const res = await h.req('GET', `/api/v1/devices?limit=1000&q=${q}${after ? `&after=${after}` : ''}`, { role: 'viewer' });
          const p = (await res.json()) as { devices: Array<{ id: string }>; next: string | null; total: number; totalExact: boolean };
          assert.deepEqual([p.total, p.totalExact], [SEARCH_COUNT_MAX, false], q);
          ids.push(...p.devices.map((d) => d.id));
          if (p.next === null) break;
          after = p.next;
        }
        assert.deepEqual(ids, north, q);
      }
    } finally {
      h.close();
    }
  });
}
