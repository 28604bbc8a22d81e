// agent.db's WAL under a long reader (docs/agent.md "Database"): a second real connection holds a
// read transaction, the agent writes, the WAL grows and the keeper's truncating checkpoint is
// refused without blocking; once the reader goes the next attempt truncates it to zero, and
// /metrics' series reports the size.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AGENT_MIGRATIONS } from '../store/agent-store.js';
import { agentMetrics } from '../metrics.js';
import { JOURNAL_SIZE_LIMIT, openDb } from './db.js';
import { WalKeeper, walBytes } from './wal.js';

/** agent.db in a temp dir and a second, read-only connection to it (both closed after the test). */
function dbAndReader(t: TestContext): { db: ReturnType<typeof openDb>; reader: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-wal-'));
  const path = join(dir, 'agent.db');
  const db = openDb(path, AGENT_MIGRATIONS);
  const reader = new Database(path, { readonly: true });
  t.after(() => {
    if (reader.open) reader.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, reader };
}

test('the WAL grows behind a reader and is truncated once the reader goes', (t) => {
  const { db, reader } = dbAndReader(t);
  assert.equal(db.pragma('journal_size_limit', { simple: true }), JOURNAL_SIZE_LIMIT);
  const threshold = 256 * 1024;
  const warnings: string[] = [];
  const logger = { warn: (_o: unknown, m: string) => warnings.push(m), info: () => undefined, error: () => undefined } as never;
  const keeper = new WalKeeper({ db, logger, thresholdBytes: threshold });

  // An operator's sqlite3 (or a backup) in the middle of a read.
  reader.exec('BEGIN');
  reader.prepare('SELECT COUNT(*) FROM outbox').get();
  const ins = db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', ?, ?)");
  const payload = 'x'.repeat(2000);
  for (let i = 0; i < 100; i++) db.transaction(() => { for (let j = 0; j < 10; j++) ins.run(payload, new Date().toISOString()); })();
  const grown = walBytes(db);
  assert.ok(grown > threshold, `the WAL grew behind the reader (${grown} bytes)`);
  assert.equal(keeper.tick(), false, 'refused while the reader holds its snapshot');
  assert.equal(keeper.tick(), false);
  assert.deepEqual(warnings.length, 1, 'the blocking reader is logged once');
  assert.ok(walBytes(db) >= grown);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000, 'the busy timeout is restored');

  reader.exec('COMMIT');
  reader.close();
  assert.equal(keeper.tick(), true, 'the checkpoint goes through after the reader left');
  assert.equal(walBytes(db), 0);
  assert.match(agentMetrics(db, undefined), /^edgefleet_agent_db_wal_bytes 0$/m);
  ins.run(payload, new Date().toISOString());
  assert.match(agentMetrics(db, undefined), new RegExp(`^edgefleet_agent_db_wal_bytes ${walBytes(db)}$`, 'm'));
  assert.ok(walBytes(db) > 0);
  assert.equal(keeper.tick(), false, 'a small WAL is left alone');
});

test('truncateSoon truncates a WAL below the threshold at once, or on the first tick after a reader goes', (t) => {
  const { db, reader } = dbAndReader(t);
  const keeper = new WalKeeper({ db, logger: { warn: () => undefined, info: () => undefined, error: () => undefined } as never });
  const ins = db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', ?, ?)");
  ins.run('x'.repeat(2000), new Date().toISOString());
  assert.ok(walBytes(db) > 0 && walBytes(db) < JOURNAL_SIZE_LIMIT);
  assert.equal(keeper.tick(), false, 'below the threshold a tick leaves it');
  assert.equal(keeper.truncateSoon(), true);
  assert.equal(walBytes(db), 0);

  ins.run('y'.repeat(2000), new Date().toISOString());
  reader.exec('BEGIN');
  reader.prepare('SELECT COUNT(*) FROM outbox').get();
  assert.equal(keeper.truncateSoon(), false, 'a reader holds the WAL');
  assert.ok(walBytes(db) > 0);
  reader.exec('COMMIT');
  assert.equal(keeper.tick(), true, 'the next tick truncates it although it is below the threshold');
  assert.equal(walBytes(db), 0);
  ins.run('z'.repeat(2000), new Date().toISOString());
  assert.equal(keeper.tick(), false, 'once done, the threshold applies again');
});
