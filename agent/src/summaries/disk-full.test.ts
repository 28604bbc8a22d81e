// A full disk while summary windows are written: SQLite refuses the write (SQLITE_FULL, simulated with
// max_page_count on a real database file), the recorder keeps the closed windows in memory and reports
// the error as DISK_FULL, nothing reaches the table half-written, and once space is back the next tick
// writes them: no prediction is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toAppError, windowTotals } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';
import { SummaryRecorder } from './recorder.js';
import { SummaryStore } from './store.js';
import { HELD_WINDOWS } from './held.js';
import { ManualClock, tabularManifest, tempDb, type TempDb } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const rows = (n: number): RecordedTensor => ({ name: 'x', datatype: 'FP32', shape: [n, 3], data: Float32Array.from({ length: n * 3 }, (_, i) => (i % 3 === 2 ? i % 3 : (i % 7) / 2)) });
const out = (n: number): RecordedTensor => ({ name: 'y', datatype: 'FP32', shape: [n, 1], data: Float32Array.from({ length: n }, (_, i) => (i % 10) / 10) });

/** Fills the disk: the database may not grow by a single page more. */
function fillDisk(db: TempDb['db']): void {
  db.prepare('CREATE TABLE IF NOT EXISTS ballast (b BLOB)').run();
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  try {
    for (;;) db.prepare('INSERT INTO ballast VALUES (zeroblob(4096))').run();
  } catch (err) {
    assert.match(String((err as { code?: string }).code), /SQLITE_FULL/);
  }
}

test('windows survive a full disk and are written once space is back', () => {
  const tdb = tempDb();
  try {
    const manifest = tabularManifest();
    const store = new SummaryStore(tdb.db);
    const clock = new ManualClock(T0 + 1000);
    const errors: unknown[] = [];
    const rec = new SummaryRecorder({ sink: store, manifestOf: () => manifest, clock, windowSec: 60, onError: (e) => errors.push(e) });
    let sent = 0;
    for (let minute = 0; minute < 5; minute++) {
      clock.t = T0 + minute * 60_000 + 1000;
      rec.record(manifest.name, manifest.version, [rows(4)], [out(4)], 1.5);
      sent += 4;
    }
    fillDisk(tdb.db);
    clock.t = T0 + 10 * 60_000;
    rec.tick();
    assert.ok(errors.length >= 1, 'the failed write is reported');
    assert.equal(toAppError(errors[0]).code, 'DISK_FULL', `reported as DISK_FULL: ${String(errors[0])}`);
    assert.equal(store.listWindows().length, 0, 'nothing half-written');
    assert.equal(rec.pending().reduce((n, w) => n + w.count, 0), sent, 'every prediction still held in memory');

    // Space is back.
    tdb.db.pragma('max_page_count = 1073741823');
    tdb.db.prepare('DROP TABLE ballast').run();
    rec.tick();
    const stored = store.listWindows().map((w) => w.window);
    assert.equal(windowTotals(stored).count, sent, 'every prediction written once');
    assert.equal(rec.pending().length, 0);
    assert.equal(store.outbox(0, 100).filter((e) => e.kind === 'window').length, stored.length, 'each window queued for the hub once');
  } finally {
    tdb.close();
  }
});

test('a disk full for 30 days: the windows waiting in memory stay bounded, merged hourly then daily, and every prediction is written once room is back', () => {
  const tdb = tempDb();
  try {
    const manifest = tabularManifest({ nFeatures: 12 });
    const store = new SummaryStore(tdb.db);
    const clock = new ManualClock(T0 + 1000);
    let refused = 0;
    const rec = new SummaryRecorder({ sink: store, manifestOf: () => manifest, clock, windowSec: 60, onError: () => refused++ });
    fillDisk(tdb.db);
    const x = { name: 'x', datatype: 'FP32' as const, shape: [2, 12], data: Float32Array.from({ length: 24 }, (_, i) => i % 7) };
    const y = { name: 'y', datatype: 'FP32' as const, shape: [2, 1], data: Float32Array.from([0.1, 0.9]) };
    let sent = 0;
    let most = 0;
    for (let minute = 0; minute < 30 * 1440; minute++) {
      clock.t = T0 + minute * 60_000 + 1000;
      rec.record(manifest.name, manifest.version, [x], [y], 1.5);
      sent += 2;
      if (minute % 60 === 59) {
        rec.tick();
        most = Math.max(most, rec.pending().length);
      }
    }
    assert.ok(refused >= 700, `every hourly write was refused (${refused})`);
    assert.ok(most <= HELD_WINDOWS + 61, `at most ${HELD_WINDOWS} windows held, and an hour's closed since the last write (most ${most}; it was one a minute: 43,200)`);
    assert.equal(windowTotals(rec.pending()).count, sent, 'every prediction still held');

    tdb.db.pragma('max_page_count = 1073741823');
    tdb.db.prepare('DROP TABLE ballast').run();
    rec.flush();
    const stored = store.listWindows().map((w) => w.window);
    assert.equal(windowTotals(stored).count, sent, 'every prediction written once');
    assert.ok(stored.some((w) => w.lengthSec === 86_400), 'the oldest merged into daily windows');
    assert.equal(rec.pending().length, 0);
  } finally {
    tdb.close();
  }
});
