// A search of 1–2 characters has no trigram to look up (device-search.ts): it reads every device's row of
// device_search, so a hub answers one while it holds at most SHORT_SEARCH_MAX_DEVICES devices and refuses it beyond
// with a 400 saying why and what to send instead (docs/decisions/0109-short-device-searches.md), on SQLite and PostgreSQL,
// over GET /devices; a search of 3 characters or more is answered at any size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from '../testing/harness.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { SHORT_SEARCH_MAX_DEVICES } from '@edgefleet/shared';
import { searchText } from './device-search.js';
import type { Db } from './db.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

/** Devices cam-00000… up to `to` (written as DevicesRepo.create writes their rows, without hashing a secret each). */
function addDevices(db: Db, from: number, to: number): void {
  const dev = db.prepare("INSERT INTO devices (id, secret_hash, tags, created_at) VALUES (?, 'x', ?, '2026-12-01T00:00:00.000Z')");
  const text = db.prepare('INSERT INTO device_search (device_id, text) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = from; i < to; i++) {
      const id = `cam-${String(i).padStart(5, '0')}`;
      const tags = JSON.stringify({ site: i % 2 ? 'north' : 'south' });
      dev.run(id, tags);
      text.run(id, searchText(id, tags, []));
    }
  })();
}

function suite(): void {
  test(`a search of 1-2 characters is answered on ${SHORT_SEARCH_MAX_DEVICES} devices and refused, saying why, on one more`, { timeout: 120_000 }, async () => {
    const h = makeHarness({ database: backend.database() });
    try {
      const get = async (q: string) => {
        const res = await h.req('GET', `/api/v1/devices?limit=5&q=${encodeURIComponent(q)}`, { role: 'viewer' });
        return { status: res.status, body: (await res.json()) as { total?: number; devices?: Array<{ id: string }>; error?: { code: string; message: string } } };
      };
      addDevices(h.store.db, 0, SHORT_SEARCH_MAX_DEVICES);
      for (const [q, total] of [['c', SHORT_SEARCH_MAX_DEVICES], ['99', 280], ['n', SHORT_SEARCH_MAX_DEVICES / 2], ['cam-0000', 10]] as const) {
        const r = await get(q);
        assert.equal(r.status, 200, `q ${q}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.total, total, `q ${q}`);
      }
      addDevices(h.store.db, SHORT_SEARCH_MAX_DEVICES, SHORT_SEARCH_MAX_DEVICES + 1);
      for (const q of ['c', ' 99 ', 'n']) {
        const r = await get(q);
        assert.equal(r.status, 400, `q ${JSON.stringify(q)}`);
        assert.equal(r.body.error?.code, 'BAD_REQUEST');
        assert.match(r.body.error?.message ?? '', new RegExp(`^search "${q.trim()}": a search of 1 or 2 characters is answered on a hub of at most 10,000 devices \\(it reads every device; 3 or more are looked up in an index\\) and this one has 10,001; expected at least 3 characters, or a filter by tag \\(tag=KEY=VALUE\\) or version$`));
      }
      for (const [q, total] of [['cam', SHORT_SEARCH_MAX_DEVICES + 1], ['site=n', (SHORT_SEARCH_MAX_DEVICES + 1) >> 1], ['10000', 1]] as const) {
        const r = await get(q);
        assert.equal(r.status, 200, `q ${q}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.total, total, `q ${q}`);
      }
    } finally {
      h.close();
    }
  });
}
