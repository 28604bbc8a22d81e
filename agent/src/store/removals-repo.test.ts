// Migration 202 (model origin and removals, decision 0066) on a database an earlier agent wrote: a model
// the last applied desired document names becomes `hub`, any other `local`; a removal row round-trips, and
// a kept-local removal entry is noted once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MIGRATIONS } from './agent-store.js';
import { openDb } from './db.js';
import { ModelsRepo } from './models-repo.js';
import { RemovalsRepo, removalsMigration, removedError } from './removals-repo.js';

describe('agent.db migration 202: model origin and removals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-removals-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('marks the models the last applied document names `hub`, the others `local`', () => {
    const path = join(dir, 'agent.db');
    const before = AGENT_MIGRATIONS.filter((m) => m.id !== removalsMigration.id);
    const old = openDb(path, before);
    for (const n of ['from-hub', 'on-the-box']) old.prepare("INSERT INTO active_models (name, active_version, updated_at) VALUES (?, '1.0.0', '2026-12-01T00:00:00.000Z')").run(n);
    old.prepare("INSERT INTO sync_kv (key, value) VALUES ('desired', ?)").run(JSON.stringify({ signed: { seq: 4, models: [{ name: 'from-hub' }, { name: 'not-installed' }] }, signatures: [] }));
    old.close();
    const db = openDb(path, AGENT_MIGRATIONS);
    try {
      const repo = new ModelsRepo(db);
      assert.deepEqual([repo.originOf('from-hub'), repo.originOf('on-the-box'), repo.originOf('not-installed')], ['hub', 'local', undefined]);
      repo.setActive('new', '1.0.0');
      assert.equal(repo.originOf('new'), 'local', 'activated on the box');
      repo.setActive('new', '1.0.0', 'hub');
      assert.equal(repo.originOf('new'), 'hub', 'activated from a desired document');

      const removals = new RemovalsRepo(db);
      const r = { name: 'from-hub', seq: 7, at: '2026-12-01T10:00:00.000Z', reason: 'line 3 retired', stoppedAt: '2026-12-01T10:00:05.000Z', keepUntil: '2026-12-08T10:00:05.000Z' };
      removals.put(r);
      assert.deepEqual(removals.get('from-hub'), r);
      assert.deepEqual(removals.list().map((x) => x.name), ['from-hub']);
      const e = removedError(r);
      assert.equal(e.code, 'MODEL_REMOVED');
      assert.equal(e.httpStatus, 410);
      for (const part of ['seq 7', r.at, 'line 3 retired', r.keepUntil]) assert.ok(e.message.includes(part), `${part} in ${e.message}`);
      assert.deepEqual([removals.clear('from-hub'), removals.clear('from-hub'), removals.get('from-hub')], [true, false, undefined]);
      removals.put({ ...r, name: 'new' });
      repo.setActive('new', '1.0.0');
      assert.equal(removals.get('new'), undefined, 'an activation ends the removal');
      assert.deepEqual([removals.noteKeptLocal('m', 'a'), removals.noteKeptLocal('m', 'a'), removals.noteKeptLocal('m', 'b')], [true, false, true]);
    } finally {
      db.close();
    }
  });
});
