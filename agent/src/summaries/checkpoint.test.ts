// The open windows' checkpoint (docs/agent-summaries.md "Crashes") on a real SQLite file: at every
// step a prediction is either in a closed window or in the checkpoint, never both; a checkpoint left
// by a dead process becomes a closed window (and an outbox entry) exactly once; an idle recorder does
// not rewrite it; an agent.db from before the checkpoint opens with the new table.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SummaryWindow } from '@edgefleet/shared';
import { AGENT_MIGRATIONS, openStore } from '../store/agent-store.js';
import { coreMigration, migrate, openDb } from '../store/db.js';
import { syncMigration } from '../sync/sync-store.js';
import type { RecordedTensor } from '../runtime/recorder.js';
import { summariesMigration } from './migration.js';
import { SummaryRecorder } from './recorder.js';
import { SummaryStore } from './store.js';
import { ManualClock, tabularManifest, tempDb } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const x: RecordedTensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) };
const y: RecordedTensor = { name: 'y', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([0, 0.5]) };

describe('open window checkpoint', () => {
  const tdb = tempDb();
  const dirs: string[] = [];
  after(() => {
    tdb.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const sum = (sql: string) => (tdb.db.prepare(sql).get() as { n: number }).n;
  const closedCount = () => sum('SELECT COALESCE(SUM(count), 0) AS n FROM summary_windows');
  const savedCount = () => sum('SELECT COALESCE(SUM(count), 0) AS n FROM open_windows');
  const reset = () => tdb.db.exec('DELETE FROM summary_windows; DELETE FROM outbox; DELETE FROM open_windows;');

  it('saves the open window every interval; a close moves it from the checkpoint to the windows in one step', () => {
    reset();
    const store = new SummaryStore(tdb.db);
    const clock = new ManualClock(T0 + 1000);
    const manifest = tabularManifest();
    const rec = new SummaryRecorder({ sink: store, manifestOf: () => manifest, clock, windowSec: 60, checkpointMs: 5000 });
    const record = (n: number) => { for (let i = 0; i < n; i++) rec.record('tab', '1.0.0', [x], [y], 1); };
    record(10);
    rec.tick(); // the first tick saves at once
    assert.deepEqual([closedCount(), savedCount()], [0, 10]);
    record(5);
    clock.t += 1000;
    rec.tick(); // within the interval: not saved yet
    assert.deepEqual([closedCount(), savedCount()], [0, 10]);
    clock.t += 4000;
    rec.tick();
    assert.deepEqual([closedCount(), savedCount()], [0, 15]);
    clock.t += 60_000; // the window ended: closed in full, the checkpoint holds only the new one
    record(3);
    rec.tick();
    assert.deepEqual([closedCount(), savedCount()], [15, 3]);
    rec.stop(); // everything closed, nothing left in the checkpoint
    assert.deepEqual([closedCount(), savedCount()], [18, 0]);
  });

  it('a checkpoint left by a killed process becomes a closed window and an outbox entry, once', () => {
    reset();
    const store = new SummaryStore(tdb.db);
    const clock = new ManualClock(T0 + 1000);
    const manifest = tabularManifest();
    const rec = new SummaryRecorder({ sink: store, manifestOf: () => manifest, clock, windowSec: 60, checkpointMs: 5000 });
    for (let i = 0; i < 7; i++) rec.record('tab', '1.0.0', [x], [y], 1);
    rec.tick();
    for (let i = 0; i < 4; i++) rec.record('tab', '1.0.0', [x], [y], 1); // after the checkpoint: lost by the kill
    // kill -9: the recorder is dropped without stop(); the next process recovers at start.
    const recovered = new SummaryStore(tdb.db).recoverOpen();
    assert.deepEqual(recovered.map((w: SummaryWindow) => [w.model, w.version, w.start, w.count]), [['tab', '1.0.0', new Date(T0).toISOString(), 7]]);
    assert.deepEqual([closedCount(), savedCount()], [7, 0]);
    const outbox = store.outbox();
    assert.equal(outbox.length, 1);
    assert.equal((outbox[0]!.payload as SummaryWindow).count, 7);
    assert.deepEqual(new SummaryStore(tdb.db).recoverOpen(), [], 'a second start finds nothing to recover');
    assert.equal(closedCount(), 7);
  });

  it('an idle recorder does not rewrite the same checkpoint; no sink.persist means no checkpoint', () => {
    reset();
    const store = new SummaryStore(tdb.db);
    let persists = 0;
    const clock = new ManualClock(T0 + 1000);
    const manifest = tabularManifest();
    const rec = new SummaryRecorder({
      sink: { writeWindows: (ws) => store.writeWindows(ws), persist: (c, o) => { persists++; store.persist(c, o); } },
      manifestOf: () => manifest, clock, windowSec: 60, checkpointMs: 5000,
    });
    rec.record('tab', '1.0.0', [x], [y], 1);
    rec.tick();
    for (let i = 0; i < 5; i++) {
      clock.t += 5000;
      rec.tick();
    }
    assert.equal(persists, 1, 'saved once, then unchanged');
    assert.equal(savedCount(), 1);
    const plain = new SummaryRecorder({ sink: { writeWindows: (ws) => store.writeWindows(ws) }, manifestOf: () => manifest, clock, checkpointMs: 5000 });
    plain.record('tab', '1.0.0', [x], [y], 1);
    plain.tick();
    assert.equal(savedCount(), 1, 'a sink without persist is only written on close');
  });

  it('an agent.db written before the checkpoint existed opens with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-old-db-'));
    dirs.push(dir);
    const old = openDb(join(dir, 'agent.db'), [coreMigration, summariesMigration, syncMigration]);
    old.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', '{}', 'x')").run();
    old.close();
    const s = openStore(dir);
    try {
      const ids = (s.db.prepare('SELECT id FROM migrations ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
      assert.deepEqual(ids, AGENT_MIGRATIONS.map((m) => m.id).sort((a, b) => a - b));
      assert.deepEqual(s.summaries.recoverOpen(), []);
      assert.equal(s.summaries.outbox().length, 1, 'the old outbox is kept');
      migrate(s.db, AGENT_MIGRATIONS); // idempotent
    } finally {
      s.db.close();
    }
  });
});
