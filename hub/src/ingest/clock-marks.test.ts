// Clock marks kept in the hub's database (clock-marks.ts, clock-marks-repo.ts, docs/decisions/0059-clock-marks.md),
// on a real hub.db file and on a real PostgreSQL database: a hub restarted between reading a clock and
// receiving what that clock recorded still places it by that clock, windows and events alike; a device keeps
// at most 8 marks, the oldest evicted; and the readings of a steady clock write nothing.
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
import { ClockMarkOffsets, SAVE_STEP_MS } from './clock-marks.js';
import { ClockMarksRepo, MARKS_PER_DEVICE, type MarkWrite } from './clock-marks-repo.js';

const DAY = 86_400_000;
const MIN = 60_000;
const T = Date.parse('2026-03-10T20:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-clock-marks-'));
  const database = backend.database();
  let store = Store.open(dir, HUB_MIGRATIONS, { database });
  store.devices.create('d', 'secret-of-d', {}, null, new Date(T));
  const offsets = () => new ClockOffsets({ db: store.db, logger: new RecordingLogger(), futureToleranceMs: 3600_000 });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    db: () => store.db,
    offsets,
    /** A hub restart: ingest's stop writes what is pending, the database is closed and opened again. */
    restart(c: ClockOffsets): ClockOffsets {
      c.flush();
      store.close();
      store = Store.open(dir, HUB_MIGRATIONS, { database });
      return offsets();
    },
    /** A presence or state stamped `deviceAt` by the box's clock `mark`, received at hub time `hubAt`. */
    read: (c: ClockOffsets, deviceAt: number, hubAt: number, mark: string) => c.record('d', iso(deviceAt), new Date(hubAt), mark),
    /** The starts the hub would store for minute windows the box stamped `starts` by the clock `mark` names. */
    place: (c: ClockOffsets, hubAt: number, starts: number[], mark?: string) =>
      c.place('d', starts.map((s, i) => ({ ...window(i + 1, iso(s)), ...(mark ? { clock: mark } : {}) })), new Date(hubAt)).map((w) => w.start),
    /** The times the hub would store for events the box stamped `ats` by the clock `mark` names. */
    placeEvents: (c: ClockOffsets, hubAt: number, ats: number[], mark?: string) =>
      c.placeEvents('d', ats.map((at) => ({ at: iso(at), ...(mark ? { clock: mark } : {}) })), new Date(hubAt)).map((e) => e.at),
  };
}

function window(seq: number, start: string): SeqWindow {
  const latency = emptyLatency();
  latency.counts[3] = 1;
  return { seq, model: 'm', version: '1.0.0', start, lengthSec: 60, count: 1, errors: {}, latency, features: [], outputs: [], inputs: [] };
}

class CountingRepo extends ClockMarksRepo {
  readonly writes: MarkWrite[] = [];
  override write(batch: readonly MarkWrite[]): void {
    this.writes.push(...batch);
    super.write(batch);
  }
}

function suite(): void {
  it('a hub restarted after reading the right clock places the backlog of a box that lost power and booted on a clock saved 3 days before', (t) => {
    const h = setup(t);
    let clocks = h.offsets();
    h.read(clocks, T, T, 'a.0'); // the hub's last reading; the box records on, then loses power (no offline presence)
    clocks = h.restart(clocks);
    const now = T + 3 * DAY + 15 * MIN;
    h.read(clocks, T + 15 * MIN, now, 'b.0'); // booted with the clock saved 3 days before (systemd-timesyncd)
    assert.deepEqual(h.place(clocks, now, [T + 8 * MIN, T + 12 * MIN], 'a.0'), [iso(T + 8 * MIN), iso(T + 12 * MIN)]);
    assert.deepEqual(h.placeEvents(clocks, now, [T + 9 * MIN], 'a.0'), [iso(T + 9 * MIN)], 'an event of that clock: the same placement');
    assert.deepEqual(h.place(clocks, now, [T + 8 * MIN]), [iso(T + 3 * DAY + 8 * MIN)], 'unmarked (an older agent): moved, as decision 0057 must');
    assert.deepEqual(h.placeEvents(clocks, now, [T + 9 * MIN]), [iso(T + 3 * DAY + 9 * MIN)], 'an unmarked event: likewise');
  });

  it('an event recorded at 1970 and sent after NTP set the clock, to a hub restarted meanwhile, moves by the 1970 clock\'s offset', (t) => {
    const h = setup(t);
    let clocks = h.offsets();
    const epoch = Date.parse('1970-01-01T00:05:00Z');
    h.read(clocks, epoch, T, 'c.0'); // booted at 1970
    h.read(clocks, T + 2 * MIN, T + 2 * MIN, 'c.1'); // NTP set the clock
    clocks = h.restart(clocks);
    const at1970 = Date.parse('1970-01-01T00:04:00Z');
    assert.deepEqual(h.placeEvents(clocks, T + 3 * MIN, [at1970], 'c.0'), [iso(T - MIN)]);
    assert.deepEqual(h.placeEvents(clocks, T + 3 * MIN, [T + 2 * MIN + 30_000], 'c.1'), [iso(T + 2 * MIN + 30_000)], 'the present clock, right: as stamped');
    assert.deepEqual(h.placeEvents(clocks, T + 3 * MIN, [at1970]), [iso(at1970)], 'unmarked: its own time, as decision 0057 leaves it');
    assert.deepEqual(h.place(clocks, T + 3 * MIN, [Date.parse('1970-01-01T00:03:00Z')], 'c.0'), [iso(T - 2 * MIN)], 'a window of that clock: the same');
  });

  it(`a device keeps its last ${MARKS_PER_DEVICE} marks in the database; the oldest is evicted and placed as if never read`, (t) => {
    const h = setup(t);
    let clocks = h.offsets();
    // Nine clocks, the i-th (i + 1) days behind, each read once, a minute apart.
    for (let i = 0; i <= MARKS_PER_DEVICE; i++) h.read(clocks, T + i * MIN - (i + 1) * DAY, T + i * MIN, `m.${i}`);
    clocks = h.restart(clocks);
    const rows = h.db().prepare('SELECT mark FROM device_clock_marks WHERE device_id = ? ORDER BY read_order').pluck().all('d');
    assert.deepEqual(rows, Array.from({ length: MARKS_PER_DEVICE }, (_, i) => `m.${i + 1}`));
    const now = T + (MARKS_PER_DEVICE + 1) * MIN;
    // m.1's clock: 2 days behind, so a window it stamped T - 2 days happened at T.
    assert.deepEqual(h.place(clocks, now, [T - 2 * DAY], 'm.1'), [iso(T)]);
    // m.0's is gone: decision 0057 keeps a stamp later than the present clock (9 days behind) reads now.
    assert.deepEqual(h.place(clocks, now, [T - DAY], 'm.0'), [iso(T - DAY)]);
    assert.deepEqual(h.placeEvents(clocks, now, [T - DAY + 30_000], 'm.0'), [iso(T - DAY + 30_000)]);
  });

  it('the readings of a steady clock write nothing: a mark is written when new, when it is the present clock again, or when its offset grew', (t) => {
    const h = setup(t);
    const repo = new CountingRepo(h.db());
    const marks = new ClockMarkOffsets({ repo, logger: new RecordingLogger() });
    const at = (i: number) => new Date(T + i * 250);
    marks.note('d', 'a.0', -5000, at(0));
    for (let i = 1; i <= 1000; i++) marks.note('d', 'a.0', -5000 - (i % 40) + (i % 7) * 100, at(i)); // network jitter, below SAVE_STEP_MS
    marks.flush();
    assert.deepEqual(repo.writes.map((w) => [w.mark, w.offsetMs, w.fresh]), [['a.0', -5000, true]]);
    marks.note('d', 'a.0', -5000 + SAVE_STEP_MS, at(1001)); // a clock running fast: written once it has grown SAVE_STEP_MS
    marks.note('d', 'b.0', 70_000, at(1002)); // a step: a new mark
    marks.note('d', 'a.0', -9000, at(1003)); // a replayed reading of the older clock: present again, its offset kept
    marks.note('d', 'a.0', -4500, at(1004));
    marks.flush();
    assert.deepEqual(repo.writes.slice(1).map((w) => [w.mark, w.offsetMs, w.fresh]), [['b.0', 70_000, true], ['a.0', -5000 + SAVE_STEP_MS, false]]);
    assert.deepEqual(repo.load('d'), [{ mark: 'b.0', offsetMs: 70_000 }, { mark: 'a.0', offsetMs: -5000 + SAVE_STEP_MS }]);
    // Another hub sharing the database with a lower reading never lowers what is stored.
    repo.write([{ deviceId: 'd', mark: 'b.0', offsetMs: 10, fresh: false, at: iso(T) }]);
    assert.deepEqual(repo.load('d'), [{ mark: 'a.0', offsetMs: -5000 + SAVE_STEP_MS }, { mark: 'b.0', offsetMs: 70_000 }]);
    // A device the hub does not have (a test's, or a removed row) is skipped, not an error.
    repo.write([{ deviceId: 'ghost', mark: 'x.0', offsetMs: 1, fresh: true, at: iso(T) }]);
    assert.deepEqual(repo.load('ghost'), []);
  });
}
