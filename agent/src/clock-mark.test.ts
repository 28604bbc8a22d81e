// Clock marks (clock-mark.ts, docs/decisions/0059-clock-marks.md): the mark moves when the wall clock
// steps against the monotonic one, is kept across a restart in the same boot on the same clock, and is
// new after a step while the agent was down or after a reboot; each summary window carries the mark of
// the clock that opened it, each event queued for the hub the mark of the clock when it was recorded, and
// retention never merges windows of two clocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SummaryWindow } from '@edgefleet/shared';
import { ClockMarks, STEP_MS } from './clock-mark.js';
import { openStore } from './store/agent-store.js';
import { SummaryRecorder } from './summaries/recorder.js';
import { ManualClock, tabularManifest, tempDb } from './summaries/fixtures.js';
import { mergeableGroups, outboxSource, tableSource, type WindowSource } from './summaries/retention-groups.js';
import { SummaryStore } from './summaries/store.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

test('steps move the mark; a restart on the same clock keeps it; a step while down or a reboot starts another', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-clock-mark-'));
  const db = new Database(join(dir, 'agent.db'));
  t.after(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });
  const c = { wall: T0, mono: 5_000 };
  const marks = (boot = 'a1b2c3d4-e5f6') => new ClockMarks({ db, bootId: boot, now: () => c.wall, monotonic: () => c.mono });
  const m = marks();
  assert.equal(m.current(), 'a1b2c3d4.0');
  c.wall += 60_000; c.mono += 60_000 + STEP_MS; // NTP slewing: the two drift apart by at most STEP_MS
  assert.equal(m.current(), 'a1b2c3d4.0');
  c.wall += 56 * 365 * 86_400_000; // set from 1970-ish to now: a step
  assert.equal(m.current(), 'a1b2c3d4.1');
  assert.equal(marks().current(), 'a1b2c3d4.1', 'a restarted agent on the same clock keeps the mark');
  c.wall -= 3_600_000; // stepped back an hour while the agent was down
  assert.equal(marks().current(), 'a1b2c3d4.2');
  c.mono = 1_000; // a reboot
  assert.equal(marks('ffee0011-2233').current(), 'ffee0011.0');
  const noDb = new ClockMarks({ bootId: '!!', now: () => c.wall, monotonic: () => c.mono });
  assert.equal(noDb.current(), 'boot.0', 'a boot id with nothing usable in it');
});

test('each window carries the mark of the clock that opened it; retention keeps two clocks apart', (t) => {
  const clock = new ManualClock(T0 + 1_000);
  let mark = 'b.0';
  const written: SummaryWindow[] = [];
  const manifest = tabularManifest();
  const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => { written.push(...ws); } }, manifestOf: () => manifest, clock, clockMark: () => mark, coarseClock: false });
  const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([1, 2, 0]) };
  rec.record('tab', '1.0.0', [x], [], 1);
  mark = 'b.1'; // the clock stepped inside the open window: the window keeps the mark it opened under
  rec.record('tab', '1.0.0', [x], [], 1);
  clock.t = T0 + 61_000;
  rec.record('tab', '1.0.0', [x], [], 1);
  rec.stop();
  assert.deepEqual(written.map((w) => [w.start, w.count, w.clock]), [['2026-01-01T12:00:00.000Z', 2, 'b.0'], ['2026-01-01T12:01:00.000Z', 1, 'b.1']]);
  const db = tempDb('ef-clock-mark-merge-');
  t.after(() => db.close());
  const store = new SummaryStore(db.db);
  store.writeWindows(written);
  const groups = (source: WindowSource) => [...mergeableGroups(db.db, source, 'hour', T0 + 7_200_000)];
  assert.deepEqual(groups(tableSource(['minute'])), [], 'one hour, two clocks: nothing merged');
  assert.deepEqual(groups(outboxSource(0)), [], 'nor in the outbox');
  store.writeWindows(written.map((w) => ({ ...w, clock: 'b.1' })));
  assert.deepEqual(groups(tableSource(['minute'])).map((g) => g.map((r) => r.key)), [[3, 2, 4]], 'the same clock: merged with the window it shares its mark with, oldest first');
  assert.deepEqual(groups(outboxSource(2)).map((g) => g.map((r) => r.key)), [[3, 4]], 'the outbox above the sent floor');
});

test('each event queued for the hub names the clock that stamped it, the same mark the windows and presence get', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-clock-mark-events-'));
  const c = { wall: Date.parse('1970-01-01T00:05:00Z'), mono: 300_000 }; // a box without a battery-backed clock, booted at 1970
  const s = openStore(dir, true, () => c.wall, () => c.mono);
  t.after(() => { s.db.close(); rmSync(dir, { recursive: true, force: true }); });
  s.events.add({ kind: 'activated', model: 'm', version: '1.0.0', message: 'at 1970' });
  const before = s.clockMark();
  c.wall = T0; // NTP sets the clock: a step
  s.events.add({ kind: 'error', message: 'after NTP', at: new Date(c.wall).toISOString() });
  const after = s.clockMark();
  assert.notEqual(before, after);
  const queued = s.summaries.outbox().map((o) => o.payload as { message: string; clock?: string });
  assert.deepEqual(queued.map((e) => [e.message, e.clock]), [['at 1970', before], ['after NTP', after]]);
});
