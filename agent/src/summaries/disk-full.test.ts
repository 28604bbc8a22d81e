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
import { ManualClock, tabularManifest, tempDb } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const rows = (n: number): RecordedTensor => ({ name: 'x', datatype: 'FP32', shape: [n, 3], data: Float32Array.from({ length: n * 3 }, (_, i) => (i % 3 === 2 ? i % 3 : (i % 7) / 2)) });
const out = (n: number): RecordedTensor => ({ name: 'y', datatype: 'FP32', shape: [n, 1], data: Float32Array.from({ length: n }, (_, i) => (i % 10) / 10) });

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
    // Fill the disk: the database may not grow by a single page more.
    tdb.db.prepare('CREATE TABLE IF NOT EXISTS ballast (b BLOB)').run();
    const pages = (tdb.db.pragma('page_count', { simple: true }) as number);
    tdb.db.pragma(`max_page_count = ${pages}`);
    try {
      for (;;) tdb.db.prepare('INSERT INTO ballast VALUES (zeroblob(4096))').run();
    } catch (err) {
      assert.match(String((err as { code?: string }).code), /SQLITE_FULL/);
    }
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
