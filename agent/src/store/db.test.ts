// agent.db migrations: the composition root's list keeps the ids earlier agents recorded (core 1,
// summaries 100, sync 200 and 201), so a database they wrote opens with nothing applied again; a list that
// uses an id twice is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MIGRATIONS } from '../agent.js';
import { coreMigration, openDb } from './db.js';

type Row = { id: number; name: string; applied_at: string };

test('a database written with the same migrations reopens unchanged; ids stay 1, 100, 200, 201', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'agent.db');
  const first = openDb(path, AGENT_MIGRATIONS);
  const before = first.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all() as Row[];
  first.prepare("INSERT INTO kv (key, value) VALUES ('k', 'v')").run();
  first.close();
  assert.deepEqual(before.map((r) => r.id), [1, 100, 200, 201]);
  const again = openDb(path, AGENT_MIGRATIONS);
  try {
    assert.deepEqual(again.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all(), before, 'nothing applied again');
    assert.deepEqual(again.prepare('SELECT value FROM kv').get(), { value: 'v' });
  } finally {
    again.close();
  }
});

test('a migration list that uses an id twice is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agentdb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => openDb(join(dir, 'agent.db'), [coreMigration, { ...coreMigration, name: 'again' }]), /migration id 1 is used twice \(again\)/);
});
