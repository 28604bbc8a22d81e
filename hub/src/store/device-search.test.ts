// GET /devices?q= by its index (device_search, hub.db migration 89; docs/decisions/0099-device-search-index.md), on
// SQLite and PostgreSQL: on a varied fleet (upper case, "_", "%", "\", quotes, "=", newlines and tabs, unicode in
// tags; versions with upper-case pre-releases; tags set again and versions reported again) every page and `total`
// are those of the scan it replaces (the SQL of decision 0089, kept here as the reference), read a page at a time both
// ways a page is read (matches first, or in id order when most devices match); letters other than ASCII are found
// as written (the scan lowered the search's and found no upper-case one); a hub.db written before the index, with
// devices, is searched alike once opened; and a search of 3 characters or more is looked up by the trigram index.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportedState, STATE_SCHEMA, type Tags } from '@edgefleet/shared';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from './index.js';
import type { Db } from './db.js';
import { DEVICE_SEARCH_MIGRATION } from './device-search.js';
import { deviceFilterSql } from './device-filter.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

const BEFORE = HUB_MIGRATIONS.filter((m) => m !== DEVICE_SEARCH_MIGRATION);
const AT = '2026-12-01T00:00:00.000Z';
const VALUES = ['North', 'south', 'East_Wing', '50%_off', 'a\\b', 'say "hi"', 'Zürich', 'zürich', 'ÉCOLE', 'école', 'tab\there',
  'line\nbreak', 'k=v', '', '日本', '😀 smile', '[*?]', 'x%y_z', 'site', '"site":"north"'];
const VERSIONS = ['1.0.0', '2.0.0-RC.1', '1.10.3', '0.9.0+Build.7'];

/** The scan GET /devices?q= ran before the index (decision 0089's SQL, ASCII letters of the text in lower case). */
function scanned(db: Db, q: string, status?: 'online'): string[] {
  const lit = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const inJson = (s: string) => JSON.stringify(s).slice(1, -1);
  const t = q.trim();
  const eq = t.indexOf('=');
  const tagText = eq > 0 ? `"${inJson(t.slice(0, eq))}":"${inJson(t.slice(eq + 1))}` : inJson(t);
  const pg = backend.name === 'postgres';
  const lower = (e: string) => (pg ? `translate(${e}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')` : `LOWER(${e})`);
  const like = "LIKE ? ESCAPE '\\'";
  return (db.prepare(`SELECT id FROM devices WHERE (${lower('id')} ${like} OR ${lower('tags')} ${like} OR EXISTS (SELECT 1 FROM device_models m
    WHERE m.device_id = devices.id AND ${lower("m.name || '@' || m.version")} ${like}))${status ? ' AND revoked_at IS NULL AND online = 1' : ''} ORDER BY id`)
    .all(lit(t), lit(tagText), lit(t)) as Array<{ id: string }>).map((r) => r.id);
}

/** Every page of a search by `limit` (following `next`), and the `total` each page said. */
function searched(s: Store, q: string, limit: number, status?: 'online'): { ids: string[]; totals: Set<number> } {
  const ids: string[] = [];
  const totals = new Set<number>();
  let after: string | undefined;
  for (;;) {
    const p = s.devices.page({ q, limit, after, status });
    ids.push(...p.devices.map((d) => d.id));
    totals.add(p.total);
    if (p.next === null) return { ids, totals };
    after = p.next;
  }
}

const state = (deviceId: string, versions: string[]) => ReportedState.parse({
  schema: STATE_SCHEMA, deviceId, at: AT, agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1,
  models: versions.map((v, k) => ({ name: k % 2 ? 'vision' : 'audio-energy', active: v, installed: [v], status: 'active' })),
});

const fleetId = (i: number) => [`Cam-${i}`, `gate_${i}`, `x.Y-${i}`][i % 3] as string;
const fleetTags = (i: number): Tags => ({
  site: VALUES[i % VALUES.length] as string,
  ...(i % 4 === 0 ? { note: VALUES[(i * 7) % VALUES.length] as string } : {}),
  ...(i % 5 === 0 ? { ring: 'Canary' } : {}),
});

/** What the comparisons search: odd texts, and parts of 1 to 6 characters of each device's id, tags JSON and versions. */
function queries(s: Store): string[] {
  const out = new Set(['cam', 'CAM-1', '_', '%', '\\', '"', '"site"', 'site=', 'site=north', 'SITE=NOR', 'site="', 'note=say "h', 'k=v', '=v', 'tab\there', 'line\nbreak',
    '\n', 'a\\b', '50%_', 'x%y', '[*?]', '*', '?', '[', 'zürich', 'Zürich', '日本', '😀', 'ring=can', 'rc.1', '@2.0', 'audio-energy@1', 'build.7', '{', '":"', 'nothing at all', '  cam-1  ']);
  for (const d of s.devices.list()) {
    const texts = [d.id, JSON.stringify(d.tags), ...d.models.map((m) => `${m.name}@${m.version}`)];
    texts.forEach((t, k) => {
      const chars = [...t];
      for (const seed of [d.id.length * 7 + k * 3, d.id.charCodeAt(d.id.length - 1) + k]) {
        const from = seed % Math.max(1, chars.length);
        out.add(chars.slice(from, from + 1 + ((from + k) % 6)).join(''));
      }
    });
  }
  // Letters other than ASCII in upper case are compared as written now: checked on their own below.
  return [...out].filter((q) => q.trim().length > 0 && /^[A-Z]*$/.test(q.replace(/[^\p{Lu}]/gu, '')));
}

function suite(): void {
  describe('device search index', () => {
    let dir: string;
    let s: Store;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'ef-device-search-'));
      s = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
      const now = new Date(AT);
      for (let i = 0; i < 240; i++) s.devices.create(fleetId(i), 's3cret-s3cret-s3cret', fleetTags(i), null, now);
      for (let i = 0; i < 240; i += 2) s.devices.setReported(fleetId(i), state(fleetId(i), [VERSIONS[i % 4] as string, ...(i % 6 === 0 ? ['3.0.0'] : [])]));
      // Again: tags set and versions changed after the first write, and a state that holds the same versions.
      for (let i = 0; i < 240; i += 9) s.devices.setTags(fleetId(i), { site: VALUES[(i + 3) % VALUES.length] as string });
      for (let i = 0; i < 240; i += 8) s.devices.setReported(fleetId(i), state(fleetId(i), [VERSIONS[(i + 1) % 4] as string]));
      for (let i = 0; i < 240; i += 16) s.devices.setReported(fleetId(i), state(fleetId(i), [VERSIONS[(i + 1) % 4] as string]));
      for (let i = 0; i < 240; i += 3) s.devices.markSeen(fleetId(i), true, now);
    });
    after(() => {
      s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('finds what the scan found, page by page both ways and with `total`, for odd characters, case and unicode', () => {
      const qs = queries(s);
      assert.ok(qs.length > 150, `${qs.length} searches`);
      let dense = 0;
      for (const q of qs) {
        const want = scanned(s.db, q);
        for (const limit of [7, 1000]) {
          const got = searched(s, q, limit);
          assert.deepEqual(got.ids, want, `q ${JSON.stringify(q)} by ${limit}`);
          assert.deepEqual([...got.totals], [want.length], `q ${JSON.stringify(q)}: total`);
        }
        if (want.length * want.length > 240 * 8) dense++;
        const online = searched(s, q, 5, 'online');
        assert.deepEqual(online.ids, scanned(s.db, q, 'online'), `q ${JSON.stringify(q)} with status=online`);
      }
      assert.ok(dense > 5 && dense < qs.length - 50, `pages read both ways: ${dense} of ${qs.length} in id order`);
    });

    it('finds letters other than ASCII as written, ASCII letters in any case, on both databases', () => {
      const ids = (q: string) => searched(s, q, 1000).ids;
      const holding = (v: string) => s.devices.list().filter((d) => Object.values(d.tags).includes(v)).map((d) => d.id);
      assert.ok(holding('ÉCOLE').length > 0 && holding('école').length > 0);
      assert.deepEqual(ids('ÉCOLE'), holding('ÉCOLE'), 'the scan lowered the search to "école" and found no "ÉCOLE"');
      assert.deepEqual(ids('école'), holding('école'));
      assert.deepEqual(ids('ZÜRICH'), [], '"Ü" is not "ü"');
      assert.deepEqual(ids('zÜrich'), [], '"Ü" is not "ü"');
      assert.deepEqual(ids('Zürich'), [...holding('Zürich'), ...holding('zürich')].sort());
    });

    it('is looked up by the trigram index from 3 characters on', () => {
      if (backend.name === 'postgres') {
        const idx = s.db.prepare("SELECT indexdef FROM pg_indexes WHERE indexname = 'device_search_trgm'").get() as { indexdef: string } | undefined;
        assert.match(idx?.indexdef ?? 'none', /USING gin \(text gin_trgm_ops\)/);
        return;
      }
      const plan = (q: string) => {
        const f = deviceFilterSql({ q });
        return (s.db.prepare(`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM devices WHERE ${f.where.join(' AND ')}`).all(...f.params) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
      };
      assert.match(plan('zürich'), /SCAN device_search_fts VIRTUAL TABLE INDEX/);
      assert.match(plan('ring=can'), /device_search_fts/);
      assert.doesNotMatch(plan('ca'), /device_search_fts/, 'no trigram in 2 characters: the search table scanned');
    });
  });

  describe('device search index on a hub.db written before it', () => {
    it('is filled from the devices, tags and versions there, and follows them after', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ef-device-search-up-'));
      const database = backend.database({ empty: true });
      try {
        const old = Store.open(dir, BEFORE, { database });
        const dev = old.db.prepare('INSERT INTO devices (id, secret_hash, tags, created_at) VALUES (?, ?, ?, ?)');
        const held = old.db.prepare('INSERT INTO device_models (device_id, name, version, status) VALUES (?, ?, ?, ?)');
        for (let i = 0; i < 60; i++) {
          dev.run(fleetId(i), 'x', JSON.stringify(fleetTags(i)), AT);
          if (i % 2) held.run(fleetId(i), 'audio-energy', VERSIONS[i % 4], 'active');
          if (i % 6 === 1) held.run(fleetId(i), 'vision', '3.0.0', 'installed');
        }
        old.close();
        const s = Store.open(dir, HUB_MIGRATIONS, { database });
        try {
          for (const q of ['cam', 'Gate_1', 'x.y', 'site=north', 'école', 'say "hi"', 'a\\b', '50%_', 'rc.1', 'vision@3', 'audio-energy@1.0', '_', 'nothing']) {
            assert.deepEqual(searched(s, q, 4).ids, scanned(s.db, q), `q ${JSON.stringify(q)}`);
          }
          assert.equal(searched(s, 'vision@3', 100).ids.length, 10);
          assert.deepEqual(searched(s, 'ÉCOLE', 100).ids, s.devices.list().filter((d) => Object.values(d.tags).includes('ÉCOLE')).map((d) => d.id));
          s.devices.setTags(fleetId(1), { site: 'moved' });
          s.devices.setReported(fleetId(7), state(fleetId(7), ['9.9.9']));
          assert.deepEqual(searched(s, 'moved', 10).ids, [fleetId(1)]);
          assert.deepEqual(searched(s, 'vision@3', 100).ids.includes(fleetId(7)), false, 'the versions it holds now');
          assert.deepEqual(searched(s, '9.9.9', 10).ids, [fleetId(7)]);
        } finally {
          s.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
