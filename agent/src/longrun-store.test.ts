// What a daemon that runs for months accumulates in agent.db, on disk and in memory, pushed well past
// each bound in one process on real SQLite files in temp dirs: the event log, the outbox of a box that
// never reaches a hub (events included, and retention's own records over months), the batch jobs'
// ledger, the recorder's per-version state and downloads the hub no longer asks for. Each stays within
// its bound however long it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SummaryWindow } from '@edgefleet/shared';
import { openStore, type Store } from './store/agent-store.js';
import { EVENTS_KEEP, EVENTS_PRUNE_EVERY } from './store/events-repo.js';
import { SummaryRecorder } from './summaries/recorder.js';
import { Retention } from './summaries/retention.js';
import { ManualClock, tabularManifest } from './summaries/fixtures.js';
import { BatchScheduler } from './batch/scheduler.js';
import { BlobDownloader } from './sync/downloader.js';
import { SyncStore } from './sync/sync-store.js';

const T0 = Date.UTC(2026, 0, 1);

function withStore(t: { after(fn: () => void): void }): { dir: string; store: Store } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-longrun-store-'));
  const store = openStore(dir);
  // Many small transactions: durability is not what these tests look at.
  store.db.pragma('synchronous = OFF');
  t.after(() => {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, store };
}

const count = (s: Store, table: string, where = '1') => (s.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;

test('the event log keeps the newest events and each model\'s latest switch', (t) => {
  const { store } = withStore(t);
  store.events.add({ kind: 'activated', model: 'old', version: '1.0.0', message: 'the only switch of "old"' });
  const total = EVENTS_KEEP + 3 * EVENTS_PRUNE_EVERY;
  store.db.transaction(() => {
    for (let i = 0; i < total; i++) store.events.add({ kind: 'download_progress', model: 'm', version: '2.0.0', message: `event ${i}` });
  })();
  const n = count(store, 'events');
  assert.ok(n <= EVENTS_KEEP + EVENTS_PRUNE_EVERY + 1, `events table holds ${n} rows after ${total + 1} events: expected at most ${EVENTS_KEEP + EVENTS_PRUNE_EVERY + 1}`);
  assert.ok(n >= EVENTS_KEEP, `the newest ${EVENTS_KEEP} are kept (${n})`);
  assert.equal(store.events.lastSwitch('old')?.version, '1.0.0', 'the policy guard still finds the latest switch of a model');
  assert.equal(store.events.list({ afterSeq: total - 1 }).at(-1)?.message, `event ${total - 1}`);
});

/** A box that never reaches a hub: one prediction a minute for `minutes`, its windows written within `budget`. */
function offline(store: Store, budget: number, minutes: number): void {
  const clock = new ManualClock(T0);
  const retention = new Retention({ db: store.db, budgetBytes: budget, clock, emit: (e) => store.events.add(e) });
  const m = tabularManifest();
  const rec = new SummaryRecorder({
    sink: { writeWindows: (ws) => retention.writeWithin(() => store.summaries.writeWindows(ws)) },
    manifestOf: () => m, clock,
  });
  for (let i = 0; i < minutes; i++) {
    clock.t = T0 + i * 60_000 + 500;
    rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([i % 5, 1, 2]) }], [], 1);
    rec.tick();
  }
  rec.stop();
}

test('a box that never reaches a hub: the outbox (windows and events) stays within the budget', (t) => {
  const { store } = withStore(t);
  const budget = 64 * 1024;
  const MINUTES = 3 * 1440; // three days of minute windows, one prediction each
  offline(store, budget, MINUTES);
  const size = store.summaries.sizeBytes();
  assert.ok(size.total <= budget, `windows and outbox hold ${size.total} bytes (outbox ${size.outbox}) against a budget of ${budget}`);
  const dropped = store.events.list({ kind: 'backlog_dropped', limit: 1e6 });
  assert.ok(dropped.length > 100, `the budget was reached and windows dropped (${dropped.length} backlog_dropped events)`);
  assert.ok(dropped.some((e) => Number(e.data?.droppedEvents) > 0), 'queued events were dropped with the windows around them');
  const events = count(store, 'outbox', "kind = 'event'");
  assert.ok(events < dropped.length, `the outbox holds ${events} of ${dropped.length} events recorded`);
  // What is left is the newest: the last window written is in the outbox.
  const newest = store.summaries.outbox(0, 1e6).filter((e) => e.kind === 'window').at(-1)?.payload as SummaryWindow | undefined;
  assert.equal(newest?.start, new Date(T0 + (MINUTES - 1) * 60_000).toISOString());
});

test('a scheduled batch job forgets files that left its input directory', async (t) => {
  const { dir, store } = withStore(t);
  const inDir = join(dir, 'in');
  mkdirSync(inDir);
  const m = tabularManifest({ name: 'tab', version: '1.0.0' });
  const job = { name: 'drop', model: 'tab', cron: '0 2 * * *', input: join(inDir, '*.csv'), outputDir: join(dir, 'out') };
  const other = { ...job, name: 'other', input: join(dir, 'elsewhere', '*.csv') };
  const s = new BatchScheduler({ db: store.db, jobs: [job], resolveModel: () => ({ name: 'tab', version: '1.0.0', manifest: m, run: () => Promise.resolve([]) }) });
  // Another job's row is not this job's to forget.
  store.db.prepare("INSERT INTO processed_files (path, size, mtime_ms, sha256, job, output, rows, errors, processed_at) VALUES (?, 1, 1, 'x', ?, 'o', 1, 0, 'now')").run(join(dir, 'elsewhere', 'k.csv'), other.name);
  const ROUNDS = 40;
  for (let i = 0; i < ROUNDS; i++) {
    // The producer drops a file, the job processes it, a consumer takes it away.
    const path = join(inDir, `batch-${String(i).padStart(3, '0')}.csv`);
    writeFileSync(path, 'f0,f1,f2\n1,2,a\n');
    const r = await s.runJob(job);
    assert.deepEqual(r.processed.map((p) => p.path), [path]);
    assert.ok(count(store, 'processed_files', `job = '${job.name}'`) <= 2, `round ${i}: the ledger holds the files present and the one just gone`);
    unlinkSync(path);
  }
  writeFileSync(join(inDir, 'last.csv'), 'f0,f1,f2\n1,2,a\n');
  assert.equal((await s.runJob(job)).processed.length, 1);
  const again = await s.runJob(job);
  assert.deepEqual([again.processed.length, again.skipped.length], [0, 1], 'a file still present is still processed once');
  assert.equal(count(store, 'processed_files', `job = '${other.name}'`), 1);
  await s.stop();
});

test('the summary recorder forgets versions that no longer serve', () => {
  const clock = new ManualClock(T0);
  const written: SummaryWindow[] = [];
  const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => void written.push(...ws) }, manifestOf: (n, v) => tabularManifest({ name: n, version: v }), clock, windowSec: 60 });
  const VERSIONS = 50;
  for (let i = 0; i < VERSIONS; i++) {
    // A new version every "day": each serves a while, then never again.
    clock.t = T0 + i * 86_400_000;
    rec.tick();
    rec.record('tab', `1.0.${i}`, [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 1, 2]) }], [], 1);
    rec.recordError('tab', `1.0.${i}`, 'INVALID_INPUT', 1);
    assert.ok(rec.openVersions <= 2, `day ${i}: ${rec.openVersions} versions held in memory`);
  }
  clock.t += 2 * 60_000;
  rec.tick(); // its window with a prediction closes; the next one opens
  clock.t += 2 * 60_000;
  rec.tick();
  assert.equal(rec.openVersions, 0, 'a whole window without a request: nothing held');
  rec.record('tab', '1.0.0', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 1, 2]) }], [], 1);
  rec.stop();
  assert.equal(written.reduce((n, w) => n + w.count, 0), VERSIONS + 1, 'every prediction is in a written window');
  assert.equal(written.filter((w) => w.version === '1.0.0').length, 2, 'a version seen again opens a new window');
});

test('downloads the desired document no longer names leave the disk with their progress', (t) => {
  const { dir, store } = withStore(t);
  const sync = new SyncStore(store.db);
  const dl = new BlobDownloader({ dir, store: sync, requester: { request: () => undefined } });
  const sha = (c: string) => c.repeat(64);
  for (const c of ['a', 'b', 'c']) {
    writeFileSync(join(dir, 'partial', `${sha(c)}.part`), 'x');
    sync.save({ sha256: sha(c), size: 10, committed: 1 });
  }
  writeFileSync(join(dir, 'bundles', `${sha('d')}.efb`), 'x'); // renamed into place, then the process was killed
  writeFileSync(join(dir, 'partial', 'README'), 'not ours'); // a name that is no download stays
  assert.equal(dl.prune(new Set([sha('b')])), 3);
  assert.deepEqual(['a', 'b', 'c'].map((c) => existsSync(join(dir, 'partial', `${sha(c)}.part`))), [false, true, false]);
  assert.deepEqual(['a', 'b', 'c'].map((c) => sync.get(sha(c)) !== null), [false, true, false]);
  assert.equal(existsSync(join(dir, 'bundles', `${sha('d')}.efb`)), false);
  assert.equal(existsSync(join(dir, 'partial', 'README')), true);
});

test('months offline: retention\'s own records do not crowd the windows out of the outbox', (t) => {
  const { store } = withStore(t);
  // A small budget, so the months pass quickly: a box records about one compaction an hour of new
  // windows (~7 KB a day of records), and at its budget one drop a pass. Kept one by one until the hub
  // took them, the records outgrew the windows they reported on.
  const budget = 256 * 1024;
  const MINUTES = 60 * 1440;
  offline(store, budget, MINUTES);
  const entries = store.summaries.outbox(0, 1e6);
  const records = entries.filter((e) => e.kind === 'event').map((e) => e.payload as { kind: string; data: Record<string, unknown> });
  const byKind = (k: string) => records.filter((e) => e.kind === k);
  assert.ok(byKind('backlog_compacted').length <= 2, `${byKind('backlog_compacted').length} backlog_compacted records queued: expected at most one per resolution`);
  assert.ok(byKind('backlog_dropped').length <= 1, `${byKind('backlog_dropped').length} backlog_dropped records queued: expected at most one`);
  assert.ok(store.events.list({ kind: 'backlog_compacted', limit: 1e6 }).length > 100, 'the passes were many (the local log has each)');
  const recordBytes = records.reduce((n, e) => n + JSON.stringify(e).length, 0);
  assert.ok(recordBytes <= 3 * 1024, `the records take ${recordBytes} of the ${budget} bytes`);
  const windows = entries.filter((e) => e.kind === 'window').map((e) => e.payload as SummaryWindow);
  // Kept one by one, the records held ~196 KB of the budget here and left 68 windows, and every pass dropped some.
  assert.ok(windows.length > 100, `${windows.length} windows queued`);
  const drops = store.events.list({ kind: 'backlog_dropped', limit: 1e6 }).length;
  assert.ok(drops < 100, `${drops} passes dropped windows: only when the windows alone outgrow the budget`);
  // Every prediction is in a window queued or counted by the record of what was dropped.
  const dropped = byKind('backlog_dropped').reduce((n, e) => n + Number(e.data.droppedPredictions ?? 0), 0);
  assert.equal(windows.reduce((n, w) => n + w.count, 0) + dropped, MINUTES);
  const compacted = byKind('backlog_compacted').reduce((n, e) => n + Number(e.data.passes ?? 1), 0);
  assert.ok(compacted > 100, `the queued records say how many passes they stand for (${compacted})`);
});
