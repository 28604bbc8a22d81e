// Each device's stored bytes as a running count (stored-bytes.ts, docs/decisions/0062-stored-history-rolls.md),
// on each database backend: the count always equals what the device's stored windows and events hold
// (inserts, resends, expiry, eviction), migration 7 fills it from what is stored, and eviction takes a
// device's oldest windows only, down to its target, never its events, with the rollups left exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent, Feature, Reference, SeqWindow } from '@edgefleet/shared';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { mergeRollups } from '../rollups/query.js';
import { WindowRetention } from '../rollups/retention.js';
import { noopLogger } from '../mqtt/ports.js';
import { DELETE_BATCH } from './stored-bytes.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REFERENCE: Reference = { id: 'b'.repeat(64), rows: 100, features: [numericReference('temp')], outputs: [] };
const T0 = Date.parse('2026-11-28T00:00:00Z');
const RANGE = { model: 'vib', version: '1.0.0', since: T0, until: T0 + 10 * 86_400_000 };

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function open(migrations = HUB_MIGRATIONS, dir = mkdtempSync(join(tmpdir(), 'ef-stored-')), database = backend.database({ empty: migrations !== HUB_MIGRATIONS })): { store: Store; dir: string; close(): void } {
  const store = Store.open(dir, migrations, { database });
  return { store, dir, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** `n` windows of device `id` from seq `from`, one every 10 minutes from T0. */
function windows(n: number, from = 1): SeqWindow[] {
  const rand = seeded(from);
  return Array.from({ length: n }, (_, i) => ({
    ...sampleWindow({ model: 'vib', version: '1.0.0', start: T0 + (from + i) * 600_000 }, FEATURES, REFERENCE, 4, { numeric: { temp: () => rand() * 10 } }, rand),
    seq: from + i,
  }));
}

const event = (seq: number): DeviceEvent => ({ seq, at: new Date(T0 + seq * 1000).toISOString(), kind: 'activated', model: 'vib', version: '1.0.0', message: `event ${seq}` });

/** What the device's rows hold, summed as migration 7 does. */
function summed(s: Store, id: string): number {
  const w = s.db.prepare('SELECT COALESCE(SUM(LENGTH(window)), 0) AS n FROM device_windows WHERE device_id = ?').get(id) as { n: number };
  const e = s.db.prepare('SELECT COALESCE(SUM(LENGTH(event)), 0) AS n FROM device_events WHERE device_id = ?').get(id) as { n: number };
  return Number(w.n) + Number(e.n);
}

function suite(): void {
  test('the count follows inserts, resends, events and expiry', () => {
    const h = open();
    try {
      registerVersion(h.store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
      const t = h.store.telemetry;
      const first = t.putWindows('d0', windows(30), new Date());
      assert.ok(first > 0);
      assert.equal(t.putWindows('d0', windows(10, 21), new Date()), h.store.stored.get('d0') - first, 'a resend of seqs 21-30 adds nothing; 31-40 add theirs');
      t.putEvents('d0', [event(1), event(2)], new Date());
      t.putEvents('d0', [event(2)], new Date());
      t.putWindows('d1', windows(5), new Date());
      for (const id of ['d0', 'd1']) assert.equal(h.store.stored.get(id), summed(h.store, id), id);
      assert.equal(h.store.stored.get('nobody'), 0);
      // Expiry: windows of the first 100 minutes (seqs 1-9) go, the count with them.
      assert.equal(h.store.stored.expireWindows(new Date(T0 + 100 * 60_000)), 9 + 5);
      for (const id of ['d0', 'd1']) assert.equal(h.store.stored.get(id), summed(h.store, id), id);
    } finally {
      h.close();
    }
  });

  test('migration 7 counts what a hub stored before it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-stored-'));
    const database = backend.database({ empty: true }); // the same database opened twice (a fresh one per call on PostgreSQL)
    let h = open(HUB_MIGRATIONS.filter((m) => m.version !== 7), dir, database);
    try {
      const ins = h.store.db.prepare("INSERT INTO device_windows (device_id, seq, model, version, start, length_sec, count, window, received_at) VALUES (?, ?, 'vib', '1.0.0', ?, 60, 1, ?, ?)");
      for (let i = 1; i <= 3; i++) ins.run('old', i, new Date(T0 + i * 60_000).toISOString(), JSON.stringify({ n: 'x'.repeat(i * 100) }), new Date(T0).toISOString());
      h.store.db.prepare("INSERT INTO device_events (device_id, seq, at, kind, message, event, received_at) VALUES ('old', 9, ?, 'activated', 'm', ?, ?)").run(new Date(T0).toISOString(), JSON.stringify(event(9)), new Date(T0).toISOString());
      const expected = summed(h.store, 'old');
      h.store.close();
      h = open(HUB_MIGRATIONS, dir, database);
      assert.equal(h.store.stored.get('old'), expected);
      assert.ok(expected > 600);
    } finally {
      h.close();
    }
  });

  test(`eviction takes a device's oldest windows down to 80 % of its bound, never its events, in batches of ${DELETE_BATCH}; the rollups stay exact`, () => {
    const h = open();
    try {
      registerVersion(h.store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
      const t = h.store.telemetry;
      const n = DELETE_BATCH + 500;
      h.store.db.transaction(() => {
        for (let from = 1; from <= n; from += 500) t.putWindows('big', windows(500, from), new Date());
      })();
      t.putEvents('big', [event(1)], new Date());
      t.putWindows('small', windows(10), new Date());
      const big = h.store.stored.get('big');
      const small = h.store.stored.get('small');
      const before = mergeRollups(h.store.rollups, RANGE);
      // A bound the big device is far past: it goes down to 80 % of it, about 85 % of its windows, more than one batch.
      const bound = Math.ceil(big * 0.19);
      const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(T0) }, logger: noopLogger, maxStoredBytesPerDevice: bound }, {});
      const { evicted } = retention.runOnce();
      const left = h.store.telemetry.windows({ deviceId: 'big' }).map((w) => w.seq);
      assert.equal(left.length, n - evicted);
      assert.ok(evicted > DELETE_BATCH, `evicted ${evicted}`);
      assert.deepEqual(left, Array.from({ length: left.length }, (_, i) => evicted + 1 + i), 'the oldest (lowest seqs) went');
      const now = h.store.stored.get('big');
      assert.equal(now, summed(h.store, 'big'));
      assert.ok(now <= bound * 0.8, `${now} <= 80 % of ${bound}`);
      assert.ok(now + (big / n) * 2 > bound * 0.8, 'and not much further');
      assert.equal(h.store.telemetry.events({ deviceId: 'big' }).length, 1, 'events stay');
      assert.equal(h.store.stored.get('small'), small, 'a device under the bound is untouched');
      assert.deepEqual(mergeRollups(h.store.rollups, RANGE), before, 'the rollups keep what the evicted windows held');
      assert.deepEqual(retention.runOnce(), { expired: 0, evicted: 0 }, 'under 90 % now: nothing more');
      // A device whose count is past the bound with no window left (only events) stops the loop, not the hub.
      h.store.db.prepare("INSERT INTO device_stored (device_id, bytes) VALUES ('events-only', ?)").run(bound * 2);
      assert.equal(h.store.stored.evictOldestWindows('events-only', bound), 0);
    } finally {
      h.close();
    }
  });
}
