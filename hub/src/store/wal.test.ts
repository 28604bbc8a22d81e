// hub.db's WAL after a burst and under a long reader (docs/hub.md "Database"): without a size limit and a
// truncating checkpoint the file kept its largest size for as long as the hub ran (a 30 MB transaction
// left a 30 MB hub.db-wal; 10,000 writes behind a reader left 84 MB). A real second connection holds a
// read transaction, the hub writes through its store, the keeper is refused without blocking, and once
// the reader goes the WAL goes back to zero; a burst is cut back to the size limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WAL_SIZE_LIMIT, walBytes } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from './index.js';

test('hub.db: the WAL grows behind a reader, is truncated once it goes, and a burst is cut back to the limit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hub-wal-'));
  const logged: string[] = [];
  const logger = { warn: (_o: object, m: string) => logged.push(m), info: (_o: object, m: string) => logged.push(m), error: (_o: object, m: string) => logged.push(m) };
  const store = Store.open(dir, HUB_MIGRATIONS, { logger, walIntervalMs: 20 });
  const reader = new Database(join(dir, 'hub.db'), { readonly: true });
  t.after(() => {
    if (reader.open) reader.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(store.db.pragma('journal_size_limit', { simple: true }), WAL_SIZE_LIMIT);
  const ins = store.db.prepare("INSERT INTO audit (at, actor, action, target, details) VALUES ('2026-01-01T00:00:00.000Z', 'hub', 'test', 't', ?)");
  const details = JSON.stringify({ pad: 'x'.repeat(2000) });
  const write = (n: number) => { for (let i = 0; i < n; i += 50) store.db.transaction(() => { for (let j = 0; j < 50; j++) ins.run(details); })(); };

  reader.exec('BEGIN');
  reader.prepare('SELECT COUNT(*) FROM audit').get();
  write(4000); // ~8 MB behind the reader's snapshot
  const grown = walBytes(store.db);
  assert.ok(grown > WAL_SIZE_LIMIT, `the WAL grew behind the reader (${grown} bytes)`);
  await waitFor('the blocked checkpoint logged', () => logged.some((m) => m.includes('holds hub.db open for reading')));
  assert.ok(walBytes(store.db) >= grown, 'nothing truncated while the reader holds its snapshot');
  reader.exec('COMMIT');
  reader.close();
  await waitFor('the WAL truncated', () => walBytes(store.db) === 0, { timeoutMs: 5000 });
  assert.ok(logged.some((m) => m.includes('hub.db WAL checkpointed and truncated')), logged.join('; '));

  // One large transaction (a migration, a big delete): afterwards the WAL is at most the limit.
  store.db.transaction(() => { for (let i = 0; i < 4000; i++) ins.run(details); })();
  write(50); // the next commit after the checkpoint reset the WAL
  await waitFor('the WAL cut back', () => walBytes(store.db) <= WAL_SIZE_LIMIT, { timeoutMs: 5000 });
});
