// Migrations: a database made by an older hub (schema version 1, with data)
// is migrated at open without losing rows; a newer database is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_MIGRATIONS as MIGRATIONS } from '../schema.js';
import { STORE_MIGRATIONS } from './migrations.js';
import { openDb, schemaVersion } from './db.js';
import { Store } from './index.js';
import Database from 'better-sqlite3';
import type { AppError } from '@edgefleet/shared';
import { hashSecret } from './secrets.js';
import { HUB_VERSION } from '../version.js';

test('an old (version 1) hub.db is migrated to the latest schema with its rows kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mig-'));
  try {
    const old = openDb(join(dir, 'hub.db'), MIGRATIONS.filter((m) => m.version === 1));
    assert.equal(schemaVersion(old), 1);
    old.prepare("INSERT INTO devices (id, secret_hash, tags, created_at) VALUES ('old-1', ?, '{\"site\":\"x\"}', '2025-01-01T00:00:00.000Z')").run(hashSecret('s3cret-s3cret-s3cret'));
    old.prepare("INSERT INTO audit (at, actor, action, target) VALUES ('2025-01-01T00:00:00.000Z', 'admin', 'device.add', 'old-1')").run();
    assert.throws(() => old.prepare('SELECT online FROM devices').get(), /no such column/);
    old.close();
    // An older hub left its data dir and hub.db world-readable: opening tightens them.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'hub.db'), 0o644);

    const store = Store.open(dir, MIGRATIONS);
    try {
      assert.equal(schemaVersion(store.db), Math.max(...MIGRATIONS.map((m) => m.version)));
      const d = store.devices.get('old-1');
      assert.deepEqual(d.tags, { site: 'x' });
      assert.equal(d.online, false);
      assert.equal(d.clock, null, 'no clock offset measured yet (migration 4)');
      assert.equal(await store.devices.authenticate('old-1', 's3cret-s3cret-s3cret'), 'ok');
      const mode = (f: string) => statSync(join(dir, f)).mode & 0o777;
      assert.equal(mode('.'), 0o700);
      for (const f of ['hub.db', 'hub.db-wal', 'hub.db-shm']) assert.equal(mode(f), 0o600, f);
      // Entries from before migration 4 have no actor id; new ones carry it.
      assert.deepEqual(store.audit.query({}).map((e) => [e.actor, e.actorId]), [['admin', null]]);
      store.audit.append({ actor: 'ops', actorId: 'tok_1', action: 'device.add', target: 'old-2', at: new Date() });
      assert.deepEqual(store.audit.query({ actorId: 'tok_1' }).map((e) => [e.actor, e.actorId, e.target]), [['ops', 'tok_1', 'old-2']]);
      assert.throws(() => store.db.prepare("UPDATE audit SET actor_id = 'x'").run(), /append-only/);
      assert.deepEqual(store.models.list(), []);
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      store.close();
    }
    // Opening again applies nothing; the versions and names are the ones earlier hubs recorded.
    assert.deepEqual(STORE_MIGRATIONS.map((m) => m.version), [1, 2, 3, 4], 'the store keeps versions 1 to 4');
    const again = Store.open(dir, MIGRATIONS);
    assert.equal((again.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n, MIGRATIONS.length);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hub.db newer than this hub is refused (SCHEMA_TOO_NEW) naming the unknown migration, and left unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mig-'));
  try {
    const path = join(dir, 'hub.db');
    const db = openDb(path, [...MIGRATIONS.filter((m) => m.version === 1), { version: 9999, name: 'future', sql: 'CREATE TABLE future (x)' }]);
    // The hub that applied it recorded its version (here this one's, as 0.2.0 would).
    assert.equal(db.prepare('SELECT program_version FROM schema_migrations WHERE version = 9999').pluck().get(), HUB_VERSION);
    db.prepare("UPDATE schema_migrations SET program_version = '0.2.0' WHERE version = 9999").run();
    db.close();
    assert.throws(() => Store.open(dir, MIGRATIONS), (err: AppError) => {
      assert.equal(err.code, 'SCHEMA_TOO_NEW');
      assert.equal(err.message, `hub.db at ${path} was written by a newer hub (0.2.0; this hub is ${HUB_VERSION}): it records migration 9999 ("future") `
        + `that hub ${HUB_VERSION} does not know. Run hub 0.2.0 (or newer) on it, or restore a backup taken by hub ${HUB_VERSION} (or older) `
        + 'before the upgrade; a database is never migrated back');
      assert.deepEqual(err.details, { file: path, unknownMigrations: [{ id: 9999, name: 'future' }], version: HUB_VERSION, writtenBy: '0.2.0' });
      return true;
    });
    const after = new Database(path, { readonly: true });
    assert.deepEqual(after.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 9999], 'nothing applied');
    after.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('versions are pre-assigned per part: an unknown LOWER version is refused too, and a missing lower one is applied', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mig-'));
  try {
    const m = (version: number) => ({ version, name: `m${version}`, sql: `CREATE TABLE t${version} (x)` });
    // Written by a hub with parts 1 and 20; a hub with 1, 10 and 20 applies 10 although 20 is recorded.
    openDb(join(dir, 'a.db'), [m(1), m(20)]).close();
    const a = openDb(join(dir, 'a.db'), [m(1), m(10), m(20)]);
    assert.deepEqual(a.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 10, 20]);
    a.close();
    // Written by a hub with 1 and 10: a hub with 1 and 20 does not know 10 (smaller than its latest) and refuses.
    openDb(join(dir, 'b.db'), [m(1), m(10)]).close();
    assert.throws(() => openDb(join(dir, 'b.db'), [m(1), m(20)]), (err: AppError) => err.code === 'SCHEMA_TOO_NEW' && /migration 10 \("m10"\)/.test(err.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hub.db written by the hub before clock offsets (versions 1-3) opens with its devices and deployments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mig-'));
  try {
    const old = openDb(join(dir, 'hub.db'), MIGRATIONS.filter((m) => m.version <= 3));
    old.prepare("INSERT INTO devices (id, secret_hash, tags, created_at, last_seen, online) VALUES ('d-3', ?, '{}', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', 1)").run(hashSecret('s3cret-s3cret-s3cret'));
    old.close();
    const store = Store.open(dir, MIGRATIONS);
    try {
      assert.equal(schemaVersion(store.db), Math.max(...MIGRATIONS.map((m) => m.version)));
      const d = store.devices.get('d-3');
      assert.deepEqual([d.lastSeen, d.online, d.clock], ['2026-01-02T00:00:00.000Z', true, null]);
      store.db.prepare("UPDATE devices SET clock_offset_ms = 1500, clock_offset_at = '2026-01-03T00:00:00.000Z' WHERE id = 'd-3'").run();
      assert.deepEqual(store.devices.get('d-3').clock, { offsetMs: 1500, measuredAt: '2026-01-03T00:00:00.000Z', shiftedWindows: 0 });
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 92: a stored target of no tags becomes every device; other targets are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-mig-tags-'));
  try {
    const old = openDb(join(dir, 'hub.db'), MIGRATIONS.filter((m) => m.version < 92));
    const add = old.prepare("INSERT INTO deployments (model, version, target, reason, created_by, created_at) VALUES ('m', '1.0.0', ?, 'r', 'admin', '2026-01-01T00:00:00.000Z')");
    for (const t of ['{"tags":{}}', '{"tags":{"site":"x"}}', '{"devices":["d-1"]}']) add.run(t);
    old.close();
    const store = Store.open(dir, MIGRATIONS);
    try {
      const targets = (store.db.prepare('SELECT target FROM deployments ORDER BY id').all() as Array<{ target: string }>).map((r) => JSON.parse(r.target) as unknown);
      assert.deepEqual(targets, [{ all: true }, { tags: { site: 'x' } }, { devices: ['d-1'] }]);
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
