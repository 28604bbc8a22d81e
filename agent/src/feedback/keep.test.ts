// The remembered predictions in agent.db (keep.ts) on a real SQLite file, a hand-moved clock: the table
// holds what the memory holds at its bounds (rows, bytes, id length, rows a request), the oldest deleted
// first; a new memory on the same file reads back the same entries in the same order with their marks,
// under the bounds it has now; a write that fails keeps its changes for the next one, reported once.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreMigration, openDb, type Db } from '../store/db.js';
import { feedbackMigration, KEEP_CHUNK, PredictionKeeper } from './keep.js';
import { entryBytes, PredictionMemory, type MemoryLimits } from './memory.js';
import type { TaskPlan } from './task.js';
import { waitFor } from '@edgefleet/examples/fleet';

const binary: TaskPlan = { kind: 'classification', output: 'p', classes: ['no', 'yes'], logits: false, column: 0 };
const out = (data: number[]) => [{ name: 'p', datatype: 'FP32' as const, shape: [data.length, 1], data: Float32Array.from(data) }];

function fileDb(t: TestContext): { path: string; open: () => Db } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-keep-'));
  const dbs: Db[] = [];
  t.after(() => {
    for (const d of dbs) if (d.open) d.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'agent.db');
  return { path, open: () => { const d = openDb(path, [coreMigration, feedbackMigration]); dbs.push(d); return d; } };
}

function kept(db: Db, limits: Partial<MemoryLimits>, now: () => number) {
  const memory = new PredictionMemory(limits, now);
  const keeper = new PredictionKeeper(db, memory, { intervalMs: 3_600_000 });
  return { memory, keeper, restored: keeper.start() };
}

const ids = (db: Db) => (db.prepare('SELECT id FROM feedback_predictions ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id);

test('the table holds at most maxRows rows, oldest deleted first, and ids and requests past their bounds never', (t) => {
  const { open } = fileDb(t);
  const db = open();
  const now = 0;
  const { memory, keeper } = kept(db, { maxRows: 5, maxIdLength: 8, maxRowsPerRequest: 3 }, () => now);
  for (let i = 0; i < 5; i++) memory.remember(`a${i}`, 'm', '1.0.0', binary, out([0.9]));
  memory.remember('x'.repeat(8), 'm', '1.0.0', binary, out([0.9])); // exactly maxIdLength: a0 goes
  memory.remember('y'.repeat(9), 'm', '1.0.0', binary, out([0.9])); // past it
  memory.remember('r3', 'm', '1.0.0', binary, out([0.9, 0.1, 0.2])); // exactly maxRowsPerRequest: a1..a3 go
  memory.remember('r4', 'm', '1.0.0', binary, out([0.9, 0.1, 0.2, 0.3])); // past it
  keeper.flush();
  assert.deepEqual(ids(db), ['a4', 'x'.repeat(8), 'r3']);
  assert.equal((db.prepare('SELECT SUM(LENGTH(labelled)) AS n FROM feedback_predictions').get() as { n: number }).n, 5, 'maxRows rows on disk');
  keeper.stop();
});

test('a new memory on the file reads back the entries in their order with their marks; a lower bound deletes the oldest', (t) => {
  const { open } = fileDb(t);
  let now = 1000;
  const first = kept(open(), {}, () => now);
  for (let i = 0; i < 4; i++) first.memory.remember(`p${i}`, 'm', '1.0.0', binary, out([0.9, 0.2]));
  first.keeper.flush();
  first.memory.markLabelled('p1', first.memory.get('p1')!, 1);
  first.memory.remember('p0', 'm', '1.0.0', binary, out([0.1])); // replaced: now the newest
  first.keeper.stop();
  now = 2000;
  const second = kept(open(), { maxRows: 5 }, () => now);
  assert.deepEqual(second.restored, { restored: 3, unreadable: 0, forgotten: 1 }, 'p1 (2 rows) forgotten for maxRows 5');
  assert.equal(second.memory.get('p1'), undefined);
  assert.deepEqual(second.memory.get('p0')!.predicted, [0]);
  assert.deepEqual([second.memory.get('p2')!.predicted, second.memory.get('p2')!.labelled, second.memory.get('p2')!.at], [[1, 0], [0, 0], 1000]);
  second.memory.markLabelled('p2', second.memory.get('p2')!, 0);
  second.memory.remember('p4', 'm', '1.0.0', binary, out([0.9])); // 6 rows: p2, the oldest, goes (its mark with it)
  second.keeper.stop();
  const db = open();
  assert.deepEqual(ids(db), ['p3', 'p0', 'p4']);
  now = 2000 + 24 * 3600_000 + 1;
  assert.deepEqual(kept(db, {}, () => now).restored, { restored: 0, unreadable: 0, forgotten: 3 }, 'older than maxAgeMs at start');
  assert.deepEqual(ids(db), []);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM feedback_tasks').get() as { n: number }).n, 0, 'tasks no row names go at the next start');
});

test('a label counted before a restart stays counted: its mark read back', (t) => {
  const { open } = fileDb(t);
  const first = kept(open(), {}, () => 0);
  first.memory.remember('a', 'm', '1.0.0', binary, out([0.9, 0.8]));
  first.keeper.flush();
  first.memory.markLabelled('a', first.memory.get('a')!, 1);
  first.keeper.stop();
  assert.deepEqual(kept(open(), {}, () => 0).memory.get('a')!.labelled, [0, 1]);
});

test('at maxBytes with the costliest ids (256 characters of 3 UTF-8 bytes): the table grows the file by no more than entryBytes counts', (t) => {
  const { path, open } = fileDb(t);
  const db = open();
  const idOf = (i: number) => `${i}`.padStart(256, '\u20ac');
  const maxBytes = 2000 * entryBytes(256, 1);
  const { memory, keeper } = kept(db, { maxBytes }, () => 0);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const before = statSync(path).size;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 2000; i++) memory.remember(idOf(round * 2000 + i), 'm', '1.0.0', binary, out([0.9]));
    keeper.flush(Number.POSITIVE_INFINITY);
  }
  assert.equal(memory.bytes, maxBytes, 'exactly at the bound');
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM feedback_predictions').get() as { n: number }).n, 2000, 'the table holds what the memory holds');
  assert.equal(ids(db)[0], idOf(4000), 'the oldest deleted first');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const grown = statSync(path).size - before;
  assert.ok(grown <= maxBytes, `the file grew ${grown} bytes for ${maxBytes} counted`);
  keeper.stop();
});

test('a write that fails keeps its changes for the next one and is reported once until one succeeds', (t) => {
  const { open } = fileDb(t);
  const db = open();
  const errors: unknown[] = [];
  const memory = new PredictionMemory({}, () => 0);
  const keeper = new PredictionKeeper(db, memory, { intervalMs: 5, onError: (e) => errors.push(e) });
  keeper.start();
  db.exec('ALTER TABLE feedback_predictions RENAME TO moved');
  memory.remember('a', 'm', '1.0.0', binary, out([0.9]));
  keeper.stop(); // fails: reported
  keeper.stop(); // fails again: not reported again
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /feedback_predictions/);
  db.exec('ALTER TABLE moved RENAME TO feedback_predictions');
  keeper.stop();
  assert.deepEqual(ids(db), ['a']);
});

test('a write takes at most KEEP_CHUNK new rows, oldest first, and every mark; the timer writes the rest', async (t) => {
  const { open } = fileDb(t);
  const db = open();
  const memory = new PredictionMemory({}, () => 0);
  const keeper = new PredictionKeeper(db, memory, { intervalMs: 3_600_000 });
  keeper.start();
  const total = 2 * KEEP_CHUNK + 10;
  for (let i = 0; i < total; i++) memory.remember(`p${i}`, 'm', '1.0.0', binary, out([0.9]));
  keeper.flush();
  assert.equal(ids(db).length, KEEP_CHUNK);
  assert.equal(ids(db).at(-1), `p${KEEP_CHUNK - 1}`);
  const late = `p${total - 1}`;
  memory.markLabelled('p0', memory.get('p0')!, 0); // on disk: its mark goes with the next write
  memory.markLabelled(late, memory.get(late)!, 0); // not yet: written with its row
  keeper.flush();
  const labelled = () => (db.prepare("SELECT COUNT(*) AS n FROM feedback_predictions WHERE labelled = X'01'").get() as { n: number }).n;
  assert.deepEqual([ids(db).length, labelled()], [2 * KEEP_CHUNK, 1]);
  keeper.stop();
  const m2 = new PredictionMemory({}, () => 0);
  const timed = new PredictionKeeper(db, m2, { intervalMs: 1 });
  t.after(() => timed.stop());
  timed.start();
  for (let i = 0; i < total; i++) m2.remember(`q${i}`, 'm', '1.0.0', binary, out([0.9]));
  await waitFor('the timer writes every row', () => ids(db).length === 2 * total, { timeoutMs: 15_000, intervalMs: 5 });
  assert.equal(labelled(), 2);
});

test('stop() ends its timer: nothing is written after it (start() armed a second interval and lost the first)', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { open } = fileDb(t);
  const db = open();
  const memory = new PredictionMemory({}, () => 0);
  const keeper = new PredictionKeeper(db, memory, { intervalMs: 1000 });
  keeper.start();
  memory.remember('a', 'm', '1.0.0', binary, out([0.9]));
  t.mock.timers.tick(1000);
  assert.deepEqual(ids(db), ['a'], 'the timer writes while running');
  keeper.stop();
  memory.remember('b', 'm', '1.0.0', binary, out([0.9]));
  t.mock.timers.tick(5000);
  assert.deepEqual(ids(db), ['a'], 'no timer left running after stop');
});
