// Clock marks with several hubs on one database (clock-marks.ts, docs/decisions/0059-clock-marks.md, docs/hub.md
// "Several hubs"), on a real hub.db file shared by two Stores and on a real PostgreSQL database: hub A, which
// already holds a device's marks, receives a backlog under a mark only hub B read; A reads the device's marks
// again and places it by that clock. The read again is bounded (once per device per REREAD_EVERY_MS) and a mark
// the hub holds never touches the database.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLatency, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { ClockOffsets } from './clock-offset.js';
import { ClockMarkOffsets, REREAD_EVERY_MS } from './clock-marks.js';
import { ClockMarksRepo, type StoredMark } from './clock-marks-repo.js';

const MIN = 60_000;
const T = Date.parse('2026-03-10T20:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

/** Two hubs' Stores on one new database (hub.db in one data dir, opened shared, as cluster mode does). */
function twoHubs(t: { after(fn: () => void): void }): [Store, Store] {
  const dir = mkdtempSync(join(tmpdir(), 'ef-clock-marks-hubs-'));
  const database = backend.database() ?? join(dir, 'hub.db');
  const stores = [Store.open(dir, HUB_MIGRATIONS, { database, shared: true }), Store.open(dir, HUB_MIGRATIONS, { database, shared: true })] as [Store, Store];
  stores[0].devices.create('d', 'secret-of-d', {}, null, new Date(T));
  t.after(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return stores;
}

function window(seq: number, start: string, clock: string): SeqWindow {
  const latency = emptyLatency();
  latency.counts[3] = 1;
  return { seq, model: 'm', version: '1.0.0', start, lengthSec: 60, count: 1, errors: {}, latency, features: [], outputs: [], inputs: [], clock };
}

class CountingRepo extends ClockMarksRepo {
  loads = 0;
  override load(deviceId: string): StoredMark[] {
    this.loads++;
    return super.load(deviceId);
  }
}

function suite(): void {
  it('a backlog of a clock only the other hub read is placed by that clock: an event and a window recorded at 1970, sent after NTP', (t) => {
    const [sa, sb] = twoHubs(t);
    const hub = (s: Store) => new ClockOffsets({ db: s.db, logger: new RecordingLogger(), futureToleranceMs: 3600_000 });
    const a = hub(sa);
    const b = hub(sb);
    // Hub A reads the box on its previous boot (and so holds the device's marks), then misses the next readings.
    a.record('d', iso(T - 60 * MIN), new Date(T - 60 * MIN), 'a.0');
    a.flush(); // its batch is written (it waits at most 50 ms)
    // The box reboots at 1970; hub B reads it there, then again once NTP has set the clock.
    b.record('d', '1970-01-01T00:05:00.000Z', new Date(T), 'c.0');
    b.record('d', iso(T + 2 * MIN), new Date(T + 2 * MIN), 'c.1');
    b.flush();
    a.record('d', iso(T + 2 * MIN + 500), new Date(T + 2 * MIN + 500), 'c.1'); // A sees the present clock too
    // What the box recorded at 1970 reaches hub A: 4 minutes after boot by that clock, 1 minute before T.
    const at1970 = Date.parse('1970-01-01T00:04:00Z');
    const events = a.placeEvents('d', [{ at: iso(at1970), clock: 'c.0' }], new Date(T + 3 * MIN));
    assert.deepEqual(events.map((e) => e.at), [iso(T - MIN)]);
    const windows = a.place('d', [window(1, '1970-01-01T00:03:00.000Z', 'c.0')], new Date(T + 3 * MIN));
    assert.deepEqual(windows.map((w) => w.start), [iso(T - 2 * MIN)]);
    // Its own earlier clock and the present one are placed as before.
    assert.deepEqual(a.place('d', [window(2, iso(T - 61 * MIN), 'a.0')], new Date(T + 3 * MIN)).map((w) => w.start), [iso(T - 61 * MIN)]);
    assert.deepEqual(a.placeEvents('d', [{ at: iso(T + 2 * MIN), clock: 'c.1' }], new Date(T + 3 * MIN)).map((e) => e.at), [iso(T + 2 * MIN)]);
    // Hub A's pending reading of c.1 was written before it read: the rows hold what both hubs read, c.1 present.
    assert.deepEqual(new ClockMarksRepo(sa.db).load('d').map((m) => m.mark), ['a.0', 'c.0', 'c.1']);
  });

  it('an unknown mark reads the device\'s marks again at most once per interval; a known mark never reads', (t) => {
    const [sa, sb] = twoHubs(t);
    let now = 0;
    const repo = new CountingRepo(sa.db);
    const a = new ClockMarkOffsets({ repo, logger: new RecordingLogger(), now: () => now });
    const b = new ClockMarkOffsets({ repo: new ClockMarksRepo(sb.db), logger: new RecordingLogger() });
    a.note('d', 'a.0', -5000, new Date(T));
    a.note('d', 'a.1', 0, new Date(T + 1000));
    assert.equal(repo.loads, 1, 'read once, the first time the device is needed');
    // A busy device of known marks: the earlier one and the present one, 10,000 messages, no read.
    for (let i = 0; i < 10_000; i++) {
      assert.equal(a.earlier('d', 'a.0'), -5000);
      assert.equal(a.earlier('d', 'a.1'), undefined);
      assert.equal(a.earlier('d', undefined), undefined);
    }
    assert.equal(repo.loads, 1);
    // A device that names a mark no hub read, 100 messages a second for 3 seconds: one read a second.
    for (let i = 0; i < 300; i++, now += 10) assert.equal(a.earlier('d', 'x.9'), undefined);
    assert.equal(repo.loads, 1 + Math.ceil(300 * 10 / REREAD_EVERY_MS));
    assert.equal(a.earlier('d', 'x.9'), undefined, 'read again: the database has no such mark yet');
    const loads = repo.loads;
    // Hub B reads that clock, then the next; A finds it at its next read, not before.
    b.note('d', 'x.9', 70_000, new Date(T + 2000));
    b.note('d', 'x.10', 0, new Date(T + 3000));
    b.flush();
    now += REREAD_EVERY_MS - 1;
    assert.equal(a.earlier('d', 'x.9'), undefined, 'within the interval of the last read');
    assert.equal(repo.loads, loads);
    now += 1;
    assert.equal(a.earlier('d', 'x.9'), 70_000);
    assert.equal(repo.loads, loads + 1);
    // Now known, as are the other hub's present clock and this hub's own: no more reads.
    for (let i = 0; i < 1000; i++, now += 10) {
      assert.equal(a.earlier('d', 'x.9'), 70_000);
      assert.equal(a.earlier('d', 'x.10'), undefined);
      assert.equal(a.earlier('d', 'a.0'), -5000);
    }
    assert.equal(repo.loads, loads + 1);
  });
}
