import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addLatency, emptyLatency } from '@edgefleet/shared';
import { deviceSeries, type SeriesWindow } from './device-series.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
function win(minute: number, count: number, errors: Record<string, number>, latencies: number[]): SeriesWindow {
  const latency = emptyLatency();
  for (const ms of latencies) addLatency(latency, ms);
  return { start: new Date(T0 + minute * 60_000).toISOString(), lengthSec: 60, count, errors, latency };
}

test('windows are bucketed: predictions summed, error rate of all kinds, p95 from merged sketches', () => {
  const ws = [
    win(0, 10, {}, Array(10).fill(2)),
    win(1, 10, { MODEL_ERROR: 1, INVALID_INPUT: 1 }, [...Array(8).fill(2), 500, 500]),
    win(30, 4, { SHED_LOAD: 4 }, [1, 1, 1, 1]),
  ];
  const s = deviceSeries(ws, T0, T0 + 60 * 60_000, 4);
  assert.equal(s.stepMs, 15 * 60_000);
  assert.deepEqual(s.predictions, [20, 0, 4, 0]);
  assert.deepEqual(s.errorRate, [0.1, null, 1, null]);
  assert.equal(s.p95[1], null);
  assert.ok((s.p95[0] as number) >= 500 && (s.p95[0] as number) < 600, `p95 ${s.p95[0]} is the 500 ms requests' bucket (2 of 20)`);
  assert.ok((s.p95[2] as number) >= 1 && (s.p95[2] as number) < 2);
  assert.equal(s.windows, 3);
  assert.equal(s.skipped, 0);
});

test('windows outside the range and numbers that cannot be summed are skipped, not summed', () => {
  const good = win(5, 3, {}, [1, 1, 1]);
  const ws: SeriesWindow[] = [
    good,
    win(-1, 100, {}, [1]),
    win(60, 100, {}, [1]),
    { ...good, count: -5 },
    { ...good, count: Number.NaN },
    { ...good, errors: { X: -1 } },
    { ...good, latency: { counts: [1, 2, 3], sumMs: 1 } },
    { ...good, latency: { counts: good.latency.counts.map(() => Number.POSITIVE_INFINITY), sumMs: 1 } },
    { ...good, start: 'yesterday' },
  ];
  const s = deviceSeries(ws, T0, T0 + 60 * 60_000, 2);
  assert.deepEqual(s.predictions, [3, 0]);
  assert.equal(s.windows, 1);
  assert.equal(s.skipped, 8);
  assert.equal(deviceSeries([{ ...good, errors: { X: 7 } }], T0, T0 + 60 * 60_000, 1).errorRate[0], 1, 'more errors than requests is capped at 1');
});

test('the error rate is over requests (latency samples), not answered rows: a version failing every request reads 1', () => {
  // As the agent records them: count is the answered rows, every request (failed too) one latency sample.
  const ws = [win(0, 0, { INFERENCE_FAILED: 5 }, Array(5).fill(3)), win(20, 6, { INFERENCE_FAILED: 2 }, Array(8).fill(3))];
  const s = deviceSeries(ws, T0, T0 + 30 * 60_000, 2);
  assert.deepEqual(s.predictions, [0, 6]);
  assert.deepEqual(s.errorRate, [1, 0.25]);
});

test('the range and bucket count are checked', () => {
  assert.throws(() => deviceSeries([], T0, T0, 4), /since < until/);
  assert.throws(() => deviceSeries([], T0, T0 + 1, 0), /1\.\.1000 buckets/);
  assert.throws(() => deviceSeries([], T0, T0 + 1, 1001), /1\.\.1000 buckets/);
  assert.deepEqual(deviceSeries([], T0, T0 + 1000, 2).errorRate, [null, null]);
});

test('the request rate is over the time the version had windows, not the whole range', () => {
  // A version installed 15 minutes before the end of a 6-hour range, 60 requests a minute (two windows of one start counted once in the time).
  const ws = Array.from({ length: 15 }, (_, k) => win(345 + k, 60, {}, Array(60).fill(3)));
  ws.push({ ...win(359, 6, {}, Array(6).fill(3)), lengthSec: 30 });
  const s = deviceSeries(ws, T0, T0 + 6 * 3600_000, 24);
  assert.equal(s.coveredSec, 15 * 60);
  assert.equal(s.reqPerSec, (15 * 60 + 6) / (15 * 60), 'requests (latency samples, failed ones too) over the 15 minutes served');
  assert.equal(deviceSeries([{ ...win(0, 0, {}, []) }], T0, T0 + 3600_000, 4).reqPerSec, null, 'no request: no rate');
  const bad = deviceSeries([win(0, 5, {}, [1, 1, 1, 1, 1]), { ...win(1, 5, {}, [1]), lengthSec: 0 }, { ...win(2, 5, {}, [1]), lengthSec: Number.NaN }], T0, T0 + 3600_000, 4);
  assert.equal(bad.skipped, 2, 'a window without a usable length is left out');
  assert.equal(bad.reqPerSec, 5 / 60);
});
