// Which clock recorded a window (clock-offset.ts, docs/decisions/0057-windows-placed-by-the-clock-that-recorded-them.md):
// ClockOffsets on a real hub.db in a temp dir, fed the readings a hub takes from presence and state, places
// windows and events by the offset of the clock that stamped them. A window the box's present clock
// recorded moves by its offset; one recorded before the clock stepped keeps its start; and no placement
// goes past the hub's future tolerance while the other one would not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyLatency, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { ClockOffsets } from './clock-offset.js';

const DAY = 86_400_000;
const MIN = 60_000;
const T = Date.parse('2026-03-10T20:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-clock-placement-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  store.devices.create('d', 'secret-of-d', {}, null, new Date(T));
  const offsets = () => new ClockOffsets({ db: store.db, logger: new RecordingLogger(), futureToleranceMs: 3600_000 });
  const clocks = offsets();
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** A presence or state stamped `deviceAt` by the box, received at hub time `hubAt`. */
  const read = (c: ClockOffsets, deviceAt: number, hubAt: number, mark?: string) => c.record('d', iso(deviceAt), new Date(hubAt), mark);
  /** The starts the hub would store for windows the box stamped `starts` (by the clock `mark` names), at hub time `hubAt`. */
  const place = (c: ClockOffsets, hubAt: number, starts: number[], lengthSec = 60, mark?: string) =>
    c.place('d', starts.map((s, i) => ({ ...window(i + 1, iso(s), lengthSec), ...(mark ? { clock: mark } : {}) })), new Date(hubAt)).map((w) => w.start);
  return { store, clocks, offsets, read, place };
}

function window(seq: number, start: string, lengthSec: number): SeqWindow {
  const latency = emptyLatency();
  latency.counts[3] = 1;
  return { seq, model: 'm', version: '1.0.0', start, lengthSec, count: 1, errors: {}, latency, features: [], outputs: [], inputs: [] };
}

test('a box whose clock jumps 400 days ahead: what it recorded before keeps its start, what it recorded after moves back', (t) => {
  const { clocks, read, place } = setup(t);
  read(clocks, T, T);
  const now = T + 3600_000;
  read(clocks, now + 400 * DAY, now);
  assert.deepEqual(place(clocks, now, [T + 30 * MIN, now + 400 * DAY - MIN]), [iso(T + 30 * MIN), iso(now - MIN)]);
});

test('a box whose clock went back to 1970 after the hub read it right: its 1970 windows move, its backlog keeps its starts', (t) => {
  const { clocks, read, place } = setup(t);
  read(clocks, T, T);
  const now = T + DAY;
  read(clocks, Date.parse('1970-01-01T00:05:00Z'), now);
  assert.deepEqual(place(clocks, now, [now - 2 * 3600_000, Date.parse('1970-01-01T00:03:00Z')]), [iso(now - 2 * 3600_000), iso(now - 2 * MIN)]);
  const events = clocks.placeEvents('d', [{ at: iso(now - 3600_000) }, { at: '1970-01-01T00:04:00.000Z' }], new Date(now));
  assert.deepEqual(events.map((e) => e.at), [iso(now - 3600_000), iso(now - MIN)]);
});

test('a clock read 2 days behind by a replayed presence: the box\'s recent and older windows keep their starts', (t) => {
  // An external broker replays a retained presence after a hub restart: its `at` is when the box connected.
  const { clocks, read, place } = setup(t);
  read(clocks, T, T);
  read(clocks, T - 2 * DAY, T);
  assert.deepEqual(place(clocks, T, [T - MIN, T - 3 * DAY]), [iso(T - MIN), iso(T - 3 * DAY)]);
});

test('no window is moved past the hub\'s future tolerance: a day window keeps its start where whole days would put it tomorrow', (t) => {
  // Never read right before: the hub takes the box's clock as wrong all along and moves what it stamped.
  const { clocks, read, place } = setup(t);
  const offset = -1.6 * DAY;
  read(clocks, T + offset, T);
  const day = Date.parse('2026-03-09T00:00:00Z'); // + round(1.6) days = 2026-03-11, past T + 1 h
  assert.deepEqual(place(clocks, T, [day], 86_400), [iso(day)]);
  assert.deepEqual(place(clocks, T, [T + offset - 5 * MIN]), [iso(T - 5 * MIN)], 'a minute window still moves');
});

test('after a hub restart, the last right reading comes from hub.db: the backlog of a box that stopped and resumed its clock keeps its starts', (t) => {
  const { store, clocks, offsets, read, place } = setup(t);
  read(clocks, T, T);
  clocks.confirm('d', iso(T + 10 * MIN), new Date(T + 10 * MIN)); // the agent's offline presence when it stopped
  clocks.flush();
  assert.equal(store.devices.get('d').clock?.measuredAt, iso(T + 10 * MIN));
  const restarted = offsets();
  const now = T + 3 * DAY + 15 * MIN;
  read(restarted, T + 15 * MIN, now); // booted with the clock it stopped with (systemd-timesyncd)
  assert.deepEqual(place(restarted, now, [T + 8 * MIN, T + 12 * MIN]), [iso(T + 8 * MIN), iso(T + 3 * DAY + 12 * MIN)]);
  assert.equal(store.devices.get('d').clock?.shiftedWindows, 1);
});

// Clock marks (clock-marks.ts, docs/decisions/0059-clock-marks.md): a window naming an earlier clock the hub read is placed by that clock.
test('marks: a power cut, then a boot on the clock saved 3 days before: the backlog of the right clock keeps its starts', (t) => {
  const { clocks, read, place } = setup(t);
  read(clocks, T, T, 'a.0'); // the hub's last reading; the box records on, then loses power with no offline presence
  const now = T + 3 * DAY + 15 * MIN;
  read(clocks, T + 15 * MIN, now, 'b.0');
  assert.deepEqual(place(clocks, now, [T + 8 * MIN, T + 12 * MIN], 60, 'a.0'), [iso(T + 8 * MIN), iso(T + 12 * MIN)]);
  assert.deepEqual(place(clocks, now, [T + 8 * MIN, T + 12 * MIN]), [iso(T + 3 * DAY + 8 * MIN), iso(T + 3 * DAY + 12 * MIN)], 'unmarked (an older agent): moved, as decision 0057 must');
  assert.deepEqual(place(clocks, now, [T + 16 * MIN], 60, 'b.0'), [iso(now + MIN)], 'the present clock: moved by its offset');
});

test('marks: windows recorded at 1970 that arrive after NTP set the clock move by the 1970 clock\'s offset', (t) => {
  const { clocks, read, place } = setup(t);
  const epoch = Date.parse('1970-01-01T00:05:00Z');
  read(clocks, epoch, T, 'c.0');
  read(clocks, T + 2 * MIN, T + 2 * MIN, 'c.1');
  assert.deepEqual(place(clocks, T + 3 * MIN, [Date.parse('1970-01-01T00:03:00Z')], 60, 'c.0'), [iso(T - 2 * MIN)]);
  assert.deepEqual(place(clocks, T + 3 * MIN, [Date.parse('1970-01-01T00:03:00Z')]), ['1970-01-01T00:03:00.000Z'], 'unmarked: its own start, as before');
  assert.deepEqual(place(clocks, T + 3 * MIN, [T + MIN], 60, 'c.1'), [iso(T + MIN)]);
});

test('marks: a late reading (a replayed retained presence) never lowers a clock\'s offset; an unknown mark is placed as before', (t) => {
  const { clocks, read, place } = setup(t);
  read(clocks, T, T, 'a.0');
  read(clocks, T - 2 * DAY, T + MIN, 'a.0'); // replayed: stamped two days before it arrived
  read(clocks, T - 3 * DAY, T + 2 * MIN, 'b.0'); // the box's clock then stepped 3 days back
  assert.deepEqual(place(clocks, T + 2 * MIN, [T - 3 * DAY, T - 10 * MIN, T + MIN], 60, 'a.0'), [iso(T - 3 * DAY), iso(T - 10 * MIN), iso(T + MIN)]);
  assert.deepEqual(place(clocks, T + 2 * MIN, [T - 3 * DAY + MIN], 60, 'z.9'), [iso(T + 3 * MIN)], 'an unknown mark: decision 0057\'s rules (the present clock stamped it)');
});
