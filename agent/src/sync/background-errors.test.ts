// Work the sync layer runs in the background (the outbox drain, applying a desired document, the
// rollback after a policy breach) on a real agent.db that fails under it: writes refused (query_only,
// which fails every write the way a full disk or a read-only remount does, whatever the free space in
// existing pages) or a database closed by a stop. The failure is reported to the part's error
// handler; none becomes an unhandled rejection (which ends the daemon).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { DESIRED_SCHEMA, type DesiredBody } from '@edgefleet/shared';
import { openStore, type Store } from '../store/agent-store.js';
import { ModelManager } from '../install/manager.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { BlobDownloader } from './downloader.js';
import { OutboxSender } from './outbox.js';
import { PolicyGuard } from '../policy/guard.js';
import { SyncStore } from './sync-store.js';
import { Updater } from './updater.js';

/** Records unhandled rejections while a test runs. */
function watchUnhandled(t: { after(fn: () => void): void }): unknown[] {
  const seen: unknown[] = [];
  const on = (err: unknown) => seen.push(err);
  process.on('unhandledRejection', on);
  t.after(() => process.off('unhandledRejection', on));
  return seen;
}

function tempStore(t: { after(fn: () => void): void }): Store {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bg-errors-'));
  const s = openStore(dir);
  t.after(() => {
    if (s.db.open) s.db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** Every write fails from now on (SQLITE_READONLY), until refuseWrites(s, false). */
function refuseWrites(s: Store, on = true): void {
  s.db.pragma(`query_only = ${on ? 1 : 0}`);
}
const WRITE_REFUSED = 'SQLITE_READONLY';

async function waitUntil(pred: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > 10_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function updaterOn(s: Store) {
  const errors: Array<{ err: unknown; what: string }> = [];
  const events: string[] = [];
  const store = new SyncStore(s.db);
  const runtime = new ModelRuntime({ perModel: 1, queue: 1 });
  const manager = new ModelManager({ ...s, runtime, serving: true, agentVersion: '0.1.0', logger: pino({ level: 'silent' }) });
  const downloader = new BlobDownloader({ dir: join(s.blobs.root, '..'), store, requester: { request: () => undefined } });
  const updater = new Updater({
    manager, models: s.models, downloader, store,
    emit: (e) => events.push(e.kind), changed: () => undefined, onError: (err, what) => errors.push({ err, what }),
  });
  return { updater, downloader, errors, events };
}

const DOC: DesiredBody = {
  schema: DESIRED_SCHEMA, deviceId: 'dev-1', seq: 3, issued: '2026-03-01T12:00:00.000Z', expires: '2026-03-08T12:00:00.000Z', config: {},
  models: [{ name: 'm', version: '2.0.0', manifestSha256: 'b'.repeat(64), bundle: { sha256: 'c'.repeat(64), size: 1000 } }],
};

test('outbox: a database that fails under the drain is reported and retried, not an unhandled rejection', async (t) => {
  const unhandled = watchUnhandled(t);
  const s = tempStore(t);
  s.db.prepare("INSERT INTO outbox (kind, payload, created) VALUES ('event', ?, ?)").run(JSON.stringify({ at: '2026-03-01T12:00:00.000Z', kind: 'activated', message: 'x' }), new Date().toISOString());
  const errors: unknown[] = [];
  const sender = new OutboxSender(s.db, 'dev-1', () => Promise.resolve(), { resendAfterMs: 20 }, Date.now, (err) => errors.push(err));
  t.after(() => sender.pause());
  s.db.close(); // e.g. a stop racing the drain
  sender.resume();
  await waitUntil(() => errors.length >= 2, 'the failure reported, then the retry failing again');
  assert.match(String(errors[0]), /database connection is not open/);
  assert.deepEqual(unhandled, []);
});

test('updater: a write failing while applying a document is reported; apply() resolves', async (t) => {
  const unhandled = watchUnhandled(t);
  const s = tempStore(t);
  const u = updaterOn(s);
  refuseWrites(s);
  // The download cannot record its progress, and recording the failure (blocked_versions) fails too.
  await u.updater.apply(DOC);
  assert.equal(u.errors.length, 1, `reported once: ${JSON.stringify(u.errors.map((e) => e.what))}`);
  assert.equal(u.errors[0]?.what, 'applying desired document 3');
  assert.equal((u.errors[0]?.err as { code?: string }).code, WRITE_REFUSED);
  assert.deepEqual(u.events, ['download_started'], 'the step that failed is the last one announced');
  assert.deepEqual(unhandled, []);
  // Writes work again: the next document is applied (here: the download starts and records its progress).
  refuseWrites(s, false);
  const next = u.updater.apply({ ...DOC, seq: 4 });
  await waitUntil(() => u.downloader.isActive(DOC.models[0]!.bundle.sha256), 'the download to start');
  u.downloader.stop();
  await next;
  assert.equal(u.errors.length, 1, 'the stopped download is an install failure of the model, recorded, not an error of the updater');
  assert.deepEqual(unhandled, []);
});

test('policy guard: a write failing while handling a breach is reported; nothing is left unhandled', async (t) => {
  const unhandled = watchUnhandled(t);
  const s = tempStore(t);
  const u = updaterOn(s);
  const logged: Array<{ obj: unknown; msg: string }> = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => { const j = JSON.parse(line) as { msg: string }; logged.push({ obj: j, msg: j.msg }); } });
  const guard = new PolicyGuard({
    models: s.models, events: s.events, manager: { rollback: () => Promise.reject(new Error('unreachable')) },
    emit: (e) => s.events.add(e), logger, listener: u.updater,
  });
  refuseWrites(s);
  // What the watcher does on a breach (agent/src/policy/guard.ts): track(rollBack(breach)).
  const g = guard as unknown as { track(p: Promise<void>): void; rollBack(b: unknown): Promise<void> };
  g.track(g.rollBack({
    model: 'm', version: '2.0.0', requests: 20, errors: 5, errorRate: 0.25, p95Ms: 10, reason: 'error rate 25.0% > 10.0%',
    policy: { maxErrorRate: 0.1, maxP95LatencyMs: 100, observationWindowSec: 300, minRequests: 20 },
  }));
  await waitUntil(() => logged.length >= 1, 'the failure logged');
  assert.equal(logged[0]?.msg, 'policy rollback failed');
  await guard.stop();
  assert.deepEqual(unhandled, []);
});
