// A window's errorLatency (docs/agent-summaries.md "Error kinds"): the failed requests' part of the
// latency histogram, so answered latency survives quick refusals; valid on the wire (zod and the fast
// path), merged with windows of older agents that have none, absent when nothing failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SummaryWindow, TelemetryBatch, fastTelemetryBatch, latencyBucket, latencyCount, mergeWindows, parseWire } from '@edgefleet/shared';
import { SummaryRecorder } from './recorder.js';
import { ManualClock, tabularManifest } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([0.5, 1, 0]) };

function windowOf(record: (r: SummaryRecorder) => void): SummaryWindow {
  const written: SummaryWindow[] = [];
  const m = tabularManifest();
  const rec = new SummaryRecorder({ sink: { writeWindows: (ws) => { written.push(...ws); } }, manifestOf: () => m, clock: new ManualClock(T0 + 1000) });
  record(rec);
  rec.stop();
  assert.equal(written.length, 1);
  return parseWire(SummaryWindow, written[0], 'window');
}

test('failed requests are counted in latency and again in errorLatency; answered latency is the difference', () => {
  const w = windowOf((r) => {
    for (let i = 0; i < 5; i++) r.record('tab', '1.0.0', [x], [], 40);
    for (let i = 0; i < 131; i++) r.recordError('tab', '1.0.0', 'OVERLOADED', 0.02);
    r.recordError('tab', '1.0.0', 'INVALID_INPUT', 0.05);
    r.recordError('tab', '1.0.0', 'INFERENCE_FAILED', 3);
  });
  assert.ok(w.errorLatency);
  assert.equal(latencyCount(w.latency), 5 + 133);
  assert.equal(latencyCount(w.errorLatency), 133);
  const answered = w.latency.counts.map((c, i) => c - (w.errorLatency!.counts[i] as number));
  assert.equal(answered[latencyBucket(40)], 5);
  assert.equal(answered.reduce((a, b) => a + b, 0), 5, 'only the answered requests remain');
  assert.ok(Math.abs(w.errorLatency.sumMs - (131 * 0.02 + 0.05 + 3)) < 1e-9);
  const batch = { schema: 'edgefleet.telemetry/v1', deviceId: 'box-1', windows: [{ ...w, seq: 1 }] };
  assert.equal(fastTelemetryBatch(JSON.parse(JSON.stringify(batch))) !== null, true, 'the fast path accepts it');
  assert.deepEqual(parseWire(TelemetryBatch, batch, 'batch').windows[0]?.errorLatency, w.errorLatency);
  const bad = JSON.parse(JSON.stringify(batch)) as { windows: { errorLatency: { counts: number[] } }[] };
  bad.windows[0]!.errorLatency.counts[0] = -1;
  assert.equal(fastTelemetryBatch(bad), null);
  assert.throws(() => parseWire(TelemetryBatch, bad, 'batch'), /errorLatency/);
});

test('a window without failures has no errorLatency; a merge with an older agent\'s window keeps the one it has', () => {
  const clean = windowOf((r) => r.record('tab', '1.0.0', [x], [], 1));
  assert.equal(clean.errorLatency, undefined);
  const failed = windowOf((r) => r.recordError('tab', '1.0.0', 'OVERLOADED', 0.02));
  const merged = mergeWindows(clean, failed);
  assert.deepEqual(merged.errorLatency, failed.errorLatency);
  assert.equal(mergeWindows(clean, clean).errorLatency, undefined);
  assert.equal(latencyCount(mergeWindows(failed, failed).errorLatency!), 2);
});
