// Folding retention's own unsent records (retention-events.ts) on a real agent.db: only records of the
// kind (and resolution) asked for, only above the sent mark (a record the link took may be on the hub and
// stays), oldest first, with their counts added up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/agent-store.js';
import { carryCompacted, carryDropped, takeUnsentEvents, type Compacted, type Dropped } from './retention-events.js';

test('unsent records of one kind and resolution are taken out and added up; sent ones and others stay', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-ret-events-'));
  const store = openStore(dir);
  t.after(() => {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const add = (kind: string, at: string, data: Record<string, unknown>) => store.summaries.addEvent({ kind: kind as never, at, message: kind, data });
  const sent = add('backlog_compacted', '2026-01-01T00:00:00.000Z', { resolution: 'hour', mergedEntries: 100 });
  add('backlog_compacted', '2026-01-02T00:00:00.000Z', { resolution: 'hour', mergedEntries: 59 });
  add('backlog_compacted', '2026-01-03T00:00:00.000Z', { resolution: 'day', mergedEntries: 23 });
  add('backlog_compacted', '2026-01-04T00:00:00.000Z', { resolution: 'hour', mergedEntries: 60, passes: 2, since: '2026-01-03T12:00:00.000Z' });
  add('backlog_dropped', '2026-01-05T00:00:00.000Z', { droppedOutbox: 3, droppedPredictions: 7, firstStart: '2025-12-30T00:00:00.000Z' });
  add('error', '2026-01-06T00:00:00.000Z', { resolution: 'hour' });
  const before = store.summaries.outbox(0, 100).length;

  const c: Compacted = { entries: 5, passes: 1, since: undefined };
  const freed = takeUnsentEvents(store.db, 'backlog_compacted', sent, (json) => carryCompacted(c, 'hour', json));
  assert.deepEqual(c, { entries: 5 + 59 + 60, passes: 1 + 1 + 2, since: '2026-01-02T00:00:00.000Z' });
  const left = store.summaries.outbox(0, 100).map((e) => (e.payload as { at: string }).at);
  assert.equal(left.length, before - 2);
  assert.ok(left.includes('2026-01-01T00:00:00.000Z'), 'the record at the sent mark stays');
  assert.ok(left.includes('2026-01-03T00:00:00.000Z'), 'the daily record stays');
  assert.ok(freed > 100 && freed < 1000, `${freed} bytes freed`);

  const d: Dropped = { windows: 1, outbox: 0, predictions: 0, unacked: 0, unackedPredictions: 0, events: 0 };
  let first: string | undefined;
  takeUnsentEvents(store.db, 'backlog_dropped', sent, (json) => carryDropped(d, json, (s) => { first = s; }));
  assert.deepEqual([d.windows, d.outbox, d.predictions, first], [1, 3, 7, '2025-12-30T00:00:00.000Z']);
  assert.deepEqual(store.summaries.outbox(0, 100).map((e) => (e.payload as { kind: string }).kind), ['backlog_compacted', 'backlog_compacted', 'error']);
});
