// The ingest's batch writer (window-writer.ts) on a real hub.db in a temp dir: windows and events of
// several devices queued in one tick are stored in one transaction with their rollups, at most
// MAX_BATCH a turn of the loop (windows once MAX_BATCH of them wait, and past MAX_QUEUED, at once), each message's stored step (the event
// listeners) runs after the commit and before the ack, each device gets one ack
// for all its seqs after the commit, a resend stores nothing twice, and a batch that cannot be stored
// fails alone (no ack, so the device resends; flush() names it) while the others of its tick are stored and acked;
// a busy database fails the tick at once, without trying each batch again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toAppError, type DeviceEvent, type Feature, type Reference, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { MAX_BATCH, MAX_QUEUED, WindowWriter } from './window-writer.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REFERENCE: Reference = {
  id: 'c'.repeat(64), rows: 672, features: [numericReference('temp')],
  outputs: [{ name: 'score', index: 0, edges: [0, 0.5, 1], counts: [1, 1], under: 0, over: 0 }],
};
const T0 = Date.parse('2026-11-30T10:00:00Z');

/** `n` events with seqs from `first`. */
function events(first: number, n: number): DeviceEvent[] {
  return Array.from({ length: n }, (_, i) => ({ seq: first + i, at: new Date(T0).toISOString(), kind: 'activated', model: 'vib', version: '1.0.0', message: 'vib 1.0.0 active' }));
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ef-window-writer-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  registerVersion(store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
  const at = new Date(T0 + 30_000);
  for (const id of ['a', 'b', 'c']) store.devices.create(id, 'secret-of-' + id, {}, null, at);
  const acks: Array<{ deviceId: string; seqs: number[]; committed: number; known?: Array<[number, number]>; maxSeq?: number }> = [];
  const count = () => (store.db.prepare('SELECT COUNT(*) AS n FROM device_windows').get() as { n: number }).n;
  const events = () => (store.db.prepare('SELECT COUNT(*) AS n FROM device_events').get() as { n: number }).n;
  const stored = new Map<string, number>();
  const resent: number[] = [];
  const writer = new WindowWriter({
    telemetry: store.telemetry,
    transaction: (fn) => store.db.transaction(fn)(),
    now: () => at,
    touch: (id, t) => store.devices.touch(id, t),
    stored: (id, bytes) => stored.set(id, (stored.get(id) ?? 0) + bytes),
    ack: (deviceId, payload) => {
      const { ranges, known, maxSeq } = JSON.parse(payload) as { ranges: Array<[number, number]>; known?: Array<[number, number]>; maxSeq?: number };
      acks.push({ deviceId, seqs: ranges.flatMap(([a, z]) => Array.from({ length: z - a + 1 }, (_, i) => a + i)), committed: count(), known, maxSeq });
      return Promise.resolve();
    },
    maxSeq: (id) => (id === 'a' ? 40 : undefined), // the guard's view (IngestGuard.maxSeq)
    resent: (n) => resent.push(n),
  });
  const rand = seeded(3);
  const windows = (seqs: number[]): SeqWindow[] =>
    seqs.map((seq) => ({ ...sampleWindow({ model: 'vib', version: '1.0.0', start: T0, lengthSec: 60 }, FEATURES, REFERENCE, 20, { numeric: { temp: () => rand() * 10 }, outputs: { score: rand } }, rand), seq }));
  return { store, writer, acks, count, events, stored, resent, windows, at, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

test('one tick: every device stored in one transaction, one ack per device after the commit, rollups and last seen written', async () => {
  const h = setup();
  try {
    const done = Promise.all([
      h.writer.write({ deviceId: 'a', windows: h.windows([1, 2]), seqs: [1, 2], touch: true }),
      h.writer.write({ deviceId: 'b', windows: h.windows([1]), seqs: [1], touch: false }),
      h.writer.write({ deviceId: 'a', windows: h.windows([3]), seqs: [3, 4], touch: false }), // seq 4 was refused by the guard: acked, not stored
    ]);
    assert.equal(h.count(), 0, 'nothing is written before the tick ends');
    await done;
    assert.equal(h.count(), 4);
    assert.deepEqual(h.acks.map((a) => [a.deviceId, a.seqs]).sort(), [['a', [1, 2, 3, 4]], ['b', [1]]]);
    assert.ok(h.acks.every((a) => a.committed === 4), 'acks are published after the commit');
    assert.deepEqual(h.acks.map((a) => [a.deviceId, a.known, a.maxSeq]).sort(), [['a', undefined, 40], ['b', undefined, undefined]], 'nothing was held already; the highest seq held is told');
    const rollup = h.store.db.prepare("SELECT windows FROM rollups WHERE device_id = 'a' AND grain = 3600").get() as { windows: number };
    assert.equal(rollup.windows, 3);
    assert.equal(h.store.devices.get('a').lastSeen, h.at.toISOString());
    assert.equal(h.store.devices.get('b').lastSeen, null, 'no touch was due for b');
    assert.ok((h.stored.get('a') ?? 0) > 0);
    // A resend of stored seqs with a new one: acked again, stored once, rollups unchanged; the ack names the
    // seqs held already (an agent numbering below the hub moves those, agent/src/sync/outbox-behind.ts).
    await h.writer.write({ deviceId: 'a', windows: h.windows([1, 2, 5]), seqs: [1, 2, 5], touch: false });
    assert.equal(h.count(), 5);
    assert.equal((h.store.db.prepare("SELECT windows FROM rollups WHERE device_id = 'a' AND grain = 3600").get() as { windows: number }).windows, 4);
    assert.deepEqual([h.acks.at(-1)?.seqs, h.acks.at(-1)?.known], [[1, 2, 5], [[1, 2]]]);
    assert.deepEqual(h.resent, [2], 'the two held already are counted as resent (edgefleet_ingest_resent_total), the first sends not');
  } finally {
    h.close();
  }
});

test('a batch that cannot be stored fails alone: no ack for it, the rest of its tick stored and acked', async () => {
  const h = setup();
  try {
    const bad = h.windows([1]).map((w) => ({ ...w, count: 1n as unknown as number })); // JSON.stringify throws on a BigInt
    const writes = Promise.allSettled([
      h.writer.write({ deviceId: 'a', windows: h.windows([1]), seqs: [1], touch: false }),
      h.writer.write({ deviceId: 'b', windows: bad, seqs: [1], touch: false }),
      h.writer.write({ deviceId: 'c', windows: h.windows([1, 2]), seqs: [1, 2], touch: false }),
    ]);
    // Flushed as the ingest's stop does: what was not stored is returned, for the stop's log.
    assert.deepEqual(h.writer.flush(), [{ deviceId: 'b', seqs: [1] }]);
    const results = await writes;
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(h.count(), 3);
    assert.deepEqual(h.acks.map((a) => a.deviceId).sort(), ['a', 'c']);
  } finally {
    h.close();
  }
});

/** The next turn of the event loop: a setImmediate queued after the writer's runs after it. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('more than MAX_BATCH windows queued: a batch of MAX_BATCH written as it is queued, the rest at the turn\'s end', async () => {
  const h = setup();
  try {
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 51; i++) pending.push(h.writer.write({ deviceId: 'a', windows: h.windows(Array.from({ length: 10 }, (_, k) => i * 10 + k + 1)), seqs: [], touch: false }));
    // Windows do not wait for the turn once a batch is queued (issue 13's cost a window: decision 0091).
    assert.deepEqual([h.count(), h.writer.transactions], [MAX_BATCH, 1], 'the 50th message brought MAX_BATCH windows: written at once');
    await turn();
    assert.deepEqual([h.count(), h.writer.transactions], [510, 2], 'the turn wrote the rest');
    await Promise.all(pending);
  } finally {
    h.close();
  }
});

test('more than MAX_BATCH events queued: a batch of at most MAX_BATCH a transaction, a turn of the loop each', async () => {
  const h = setup();
  try {
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 51; i++) pending.push(h.writer.write({ deviceId: 'a', events: events(i * 10 + 1, 10), seqs: [], touch: false }));
    assert.equal(h.events(), 0, 'nothing is written while the messages arrive');
    await turn();
    assert.deepEqual([h.events(), h.writer.transactions], [MAX_BATCH, 1], 'the first turn wrote one batch');
    await turn();
    assert.deepEqual([h.events(), h.writer.transactions], [510, 2], 'the next turn wrote the rest');
    await Promise.all(pending);
  } finally {
    h.close();
  }
});

test('MAX_QUEUED windows and events waiting: the write that reaches it stores them all at once', async () => {
  const h = setup();
  try {
    const per = 10;
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < MAX_QUEUED / per - 1; i++) pending.push(h.writer.write({ deviceId: 'a', events: events(i * per + 1, per), seqs: [], touch: false }));
    assert.equal(h.events(), 0, 'below the bound the events wait for the loop');
    pending.push(h.writer.write({ deviceId: 'a', events: events(MAX_QUEUED - per + 1, per), seqs: [], touch: false }));
    assert.deepEqual([h.events(), h.writer.transactions], [MAX_QUEUED, MAX_QUEUED / MAX_BATCH], 'written at once, still MAX_BATCH a transaction');
    await Promise.all(pending);
  } finally {
    h.close();
  }
});

test('events and windows of one batch: one transaction; each message\'s stored step after the commit, in arrival order, before its ack; a step that throws fails its message alone', async () => {
  const h = setup();
  try {
    const steps: string[] = [];
    const step = (name: string) => () => {
      steps.push(`${name}: ${h.events()} events, ${h.acks.length} acks`);
      if (name === 'c') throw new Error('listener failed');
    };
    const results = Promise.allSettled([
      h.writer.write({ deviceId: 'a', events: events(1, 2), seqs: [1, 2], touch: true, stored: step('a1') }),
      h.writer.write({ deviceId: 'b', windows: h.windows([1]), seqs: [1], touch: false }),
      h.writer.write({ deviceId: 'c', events: events(1, 1), seqs: [1], touch: false, stored: step('c') }),
      h.writer.write({ deviceId: 'a', events: events(3, 1), seqs: [3], touch: false, stored: step('a2') }),
    ]);
    assert.deepEqual((await results).map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.equal(h.writer.transactions, 1);
    assert.deepEqual(steps, ['a1: 4 events, 0 acks', 'c: 4 events, 0 acks', 'a2: 4 events, 0 acks']);
    assert.deepEqual(h.acks.map((a) => [a.deviceId, a.seqs]).sort(), [['a', [1, 2, 3]], ['b', [1]]], 'c is stored but not acked: it resends, its listeners run again');
    assert.equal(h.store.devices.get('a').lastSeen, h.at.toISOString());
    // The resend: stored once, the ack names the seqs held already.
    await h.writer.write({ deviceId: 'c', events: events(1, 1), seqs: [1], touch: false });
    assert.deepEqual([h.events(), h.acks.at(-1)?.deviceId, h.acks.at(-1)?.known], [4, 'c', [[1, 1]]]);
  } finally {
    h.close();
  }
});

test('a busy database fails the whole tick at once: no batch is tried again alone, none is acked, and a resend stores them', async () => {
  const h = setup();
  const other = new Database(h.store.db.name);
  try {
    (h.store.db as unknown as { pragma(s: string): unknown }).pragma('busy_timeout = 200');
    const tries: number[] = [];
    const put = h.store.telemetry.putWindowsMany.bind(h.store.telemetry);
    h.store.telemetry.putWindowsMany = (batches, ...rest) => {
      tries.push(batches.length);
      return put(batches, ...rest);
    };
    other.exec('BEGIN IMMEDIATE'); // another writer holds hub.db (another hub process, a backup)
    const results = await Promise.allSettled([
      h.writer.write({ deviceId: 'a', windows: h.windows([1]), seqs: [1], touch: false }),
      h.writer.write({ deviceId: 'b', windows: h.windows([1]), seqs: [1], touch: false }),
      h.writer.write({ deviceId: 'c', windows: h.windows([1, 2]), seqs: [1, 2], touch: false }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    assert.deepEqual(results.map((r) => r.status === 'rejected' && toAppError(r.reason).code), ['DATABASE_BUSY', 'DATABASE_BUSY', 'DATABASE_BUSY']);
    assert.deepEqual(tries, [3], 'one try for the tick: waiting again for each batch would only hold the loop longer');
    assert.equal(h.acks.length, 0);
    other.exec('ROLLBACK');
    await Promise.all([h.writer.write({ deviceId: 'a', windows: h.windows([1]), seqs: [1], touch: false }), h.writer.write({ deviceId: 'c', windows: h.windows([1, 2]), seqs: [1, 2], touch: false })]);
    assert.equal(h.count(), 3);
    assert.deepEqual(h.acks.map((a) => a.deviceId).sort(), ['a', 'c']);
  } finally {
    other.close();
    h.close();
  }
});
