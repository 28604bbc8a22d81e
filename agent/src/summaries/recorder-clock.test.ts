// The coarse clock of SummaryRecorder: far from a window's end records skip the
// clock (the timer decides each tick); within the guard before the end every
// record reads it, so records land in the window of their own time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SummaryWindow } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';
import { SummaryRecorder } from './recorder.js';
import { ManualClock, tabularManifest } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const x: RecordedTensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 0]) };

function setup(at: number) {
  const clock = new ManualClock(at);
  const written: SummaryWindow[] = [];
  const manifest = tabularManifest();
  const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => { written.push(...ws); } }, manifestOf: () => manifest, clock, coarseClock: true, flushIntervalMs: 1000 });
  return { clock, written, rec };
}

describe('SummaryRecorder coarse clock', () => {
  it('near a window end reads the clock on every record', () => {
    const { clock, written, rec } = setup(T0 + 57_500); // 2.5 s before the end: inside the 3 s guard
    rec.start();
    rec.record('tab', '1.0.0', [x], [], 1);
    clock.t = T0 + 60_001;
    rec.record('tab', '1.0.0', [x], [], 1);
    rec.record('tab', '1.0.0', [x], [], 1);
    rec.stop();
    assert.deepEqual(written.map((w) => [w.start, w.count]), [['2026-01-01T12:00:00.000Z', 1], ['2026-01-01T12:01:00.000Z', 2]]);
  });

  it('far from the end skips the clock until the timer ticks', () => {
    const { clock, written, rec } = setup(T0 + 1_000);
    rec.start();
    rec.record('tab', '1.0.0', [x], [], 1);
    clock.t = T0 + 60_500; // the timer has not ticked: the record still counts in the open window
    rec.record('tab', '1.0.0', [x], [], 1);
    rec.tick(); // closes and writes it; the new window is far from its end: coarse again
    assert.deepEqual(written.map((w) => [w.start, w.count]), [['2026-01-01T12:00:00.000Z', 2]]);
    rec.record('tab', '1.0.0', [x], [], 1);
    clock.t = T0 + 118_000;
    rec.tick(); // 2 s before the end: exact from here
    clock.t = T0 + 120_001;
    rec.record('tab', '1.0.0', [x], [], 1);
    rec.stop();
    assert.deepEqual(written.map((w) => [w.start, w.count]), [
      ['2026-01-01T12:00:00.000Z', 2], ['2026-01-01T12:01:00.000Z', 1], ['2026-01-01T12:02:00.000Z', 1],
    ]);
  });

  it('without the timer (not started) reads the clock on every record', () => {
    const { clock, written, rec } = setup(T0 + 1_000);
    rec.record('tab', '1.0.0', [x], [], 1);
    clock.t = T0 + 61_000;
    rec.record('tab', '1.0.0', [x], [], 1);
    rec.flush();
    assert.deepEqual(written.map((w) => [w.start, w.count]), [['2026-01-01T12:00:00.000Z', 1], ['2026-01-01T12:01:00.000Z', 1]]);
  });
});
