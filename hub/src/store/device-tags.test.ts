// The tag index (device_tags, hub.db migration 97; docs/operations.md "Upgrades"), on SQLite and PostgreSQL:
// a hub.db written before it, with devices, gains every device's tags when the newer hub opens it (values
// with quotes and upper-case letters found as GET /devices?tag= finds them); tags set or a device added
// afterwards keep it in step; the hub before it refuses the upgraded database (SCHEMA_TOO_NEW), unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppError } from '@edgefleet/shared';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from './index.js';
import { DEVICE_TAGS_MIGRATION } from './device-tags.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

const BEFORE = HUB_MIGRATIONS.filter((m) => m !== DEVICE_TAGS_MIGRATION);

function suite(): void {
  describe('device tags index', () => {
    let dir: string;
    let database: string | undefined;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'ef-device-tags-'));
      database = backend.database({ empty: true });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const open = (migrations: readonly typeof HUB_MIGRATIONS[number][]) => Store.open(dir, migrations, { database });
    const tagged = (s: Store, tag: string) => s.devices.page({ limit: 100, tag }).devices.map((d) => d.id);

    it('is filled from the devices an older hub wrote, follows tags set and devices added, and the older hub refuses it', () => {
      const old = open(BEFORE);
      const ins = old.db.prepare('INSERT INTO devices (id, secret_hash, tags, created_at) VALUES (?, ?, ?, ?)');
      ins.run('a', 'x', JSON.stringify({ site: 'North', note: 'say "hi", \\ ok' }), '2026-12-01T00:00:00.000Z');
      ins.run('b', 'x', JSON.stringify({ site: 'south' }), '2026-12-01T00:00:00.000Z');
      ins.run('c', 'x', '{}', '2026-12-01T00:00:00.000Z');
      old.close();

      const s = open(HUB_MIGRATIONS);
      try {
        assert.deepEqual(tagged(s, 'site=north'), ['a'], 'an upper-case value found in any case');
        assert.deepEqual(tagged(s, 'site=NORTH'), ['a']);
        assert.deepEqual(tagged(s, 'note=say "hi", \\ ok'), ['a'], 'a value with quotes and a backslash, as the JSON held it');
        assert.deepEqual(tagged(s, 'site=south'), ['b']);
        s.devices.setTags('b', { site: 'north', ring: 'canary' });
        s.devices.create('d', 's3cret-s3cret-s3cret', { site: 'NORTH' }, null, new Date());
        assert.deepEqual(tagged(s, 'site=north'), ['a', 'b', 'd']);
        assert.deepEqual(tagged(s, 'site=south'), [], 'the old tag is gone');
        assert.deepEqual(s.devices.page({ limit: 100, tag: 'ring=canary' }).total, 1);
      } finally {
        s.close();
      }
      assert.throws(() => open(BEFORE), (err: AppError) => err.code === 'SCHEMA_TOO_NEW' && /migration 97 \("device tags indexed for the tag filter"\)/.test(err.message));
      const again = open(HUB_MIGRATIONS);
      try {
        assert.deepEqual(tagged(again, 'site=north'), ['a', 'b', 'd'], 'the refused open changed nothing');
      } finally {
        again.close();
      }
    });
  });
}
