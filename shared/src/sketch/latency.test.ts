import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addLatency, emptyLatency, LATENCY_BOUNDS_MS, LATENCY_BUCKETS, latencyBucket, latencyCount, latencyMean, latencyQuantile, mergeLatency,
} from './latency.js';

test('bounds: 0.01 ms growing by 2^(1/4), strictly increasing, reaching past 60 s', () => {
  assert.equal(LATENCY_BOUNDS_MS[0], 0.01);
  assert.equal(LATENCY_BOUNDS_MS[4], 0.02);
  assert.equal(LATENCY_BOUNDS_MS.length, 92);
  assert.ok((LATENCY_BOUNDS_MS.at(-1) as number) >= 60_000);
  assert.ok((LATENCY_BOUNDS_MS.at(-2) as number) < 60_000);
  for (let i = 1; i < LATENCY_BOUNDS_MS.length; i++) assert.ok((LATENCY_BOUNDS_MS[i] as number) > (LATENCY_BOUNDS_MS[i - 1] as number));
  assert.equal(emptyLatency().counts.length, LATENCY_BUCKETS);
});

test('bucket i holds (bound[i-1], bound[i]]: on each bound and just above it', () => {
  assert.equal(latencyBucket(0), 0);
  assert.equal(latencyBucket(0.01), 0);
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    const b = LATENCY_BOUNDS_MS[i] as number;
    assert.equal(latencyBucket(b), i, `on bound ${i}`);
    assert.equal(latencyBucket(b * (1 + 1e-12)), i + 1, `just above bound ${i}`);
  }
  assert.equal(latencyBucket(1e9), LATENCY_BOUNDS_MS.length);
  assert.equal(latencyBucket(Infinity), LATENCY_BOUNDS_MS.length);
});

test('bucket agrees with a linear scan', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (ms) => {
      let want = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
      if (want === -1) want = LATENCY_BOUNDS_MS.length;
      assert.equal(latencyBucket(ms), want);
    }),
    { seed: 7, numRuns: 2000 },
  );
});

test('refuses negative and NaN latencies', () => {
  for (const ms of [-1, -1e-9, Number.NaN]) assert.throws(() => addLatency(emptyLatency(), ms), { code: 'INVALID_INPUT', message: /expected a number >= 0/ });
});

test('quantiles are the upper bound of the bucket holding the nearest rank', () => {
  const l = emptyLatency();
  // 100 values: 90 of 1 ms, 9 of 10 ms, 1 of 100 ms.
  for (let i = 0; i < 90; i++) addLatency(l, 1);
  for (let i = 0; i < 9; i++) addLatency(l, 10);
  addLatency(l, 100);
  const up = (ms: number) => LATENCY_BOUNDS_MS[latencyBucket(ms)];
  // ranks: p50 -> 50th (1 ms), p90 -> 90th (1 ms), p95 -> 95th (10 ms), p99 -> 99th (10 ms), p100 -> 100 ms.
  assert.equal(latencyQuantile(l, 0.5), up(1));
  assert.equal(latencyQuantile(l, 0.9), up(1));
  assert.equal(latencyQuantile(l, 0.95), up(10));
  assert.equal(latencyQuantile(l, 0.99), up(10));
  assert.equal(latencyQuantile(l, 1), up(100));
  assert.equal(latencyQuantile(l, 0), up(1));
  assert.ok((up(10) as number) >= 10 && (up(10) as number) < 10 * 2 ** 0.25);
  assert.equal(latencyCount(l), 100);
  assert.equal(latencyMean(l), (90 + 90 + 100) / 100);
});

test('quantile edge cases: empty, overflow, q out of range', () => {
  assert.equal(latencyQuantile(emptyLatency(), 0.5), null);
  assert.equal(latencyMean(emptyLatency()), null);
  const l = emptyLatency();
  addLatency(l, 1e7);
  assert.equal(latencyQuantile(l, 0.5), Infinity);
  for (const q of [-0.1, 1.1, Number.NaN]) assert.throws(() => latencyQuantile(l, q), /expected a number in \[0, 1\]/);
});

test('merge adds counts and sums; refuses another bucket scheme', () => {
  const a = emptyLatency();
  const b = emptyLatency();
  addLatency(a, 1);
  addLatency(b, 1);
  addLatency(b, 50);
  const m = mergeLatency(a, b);
  assert.equal(latencyCount(m), 3);
  assert.equal(m.sumMs, 52);
  assert.equal(m.counts[latencyBucket(1)], 2);
  assert.throws(() => mergeLatency(a, { counts: [1, 2], sumMs: 0 }), { code: 'INVALID_INPUT', message: /93 and 2 buckets: expected 93 each/ });
});
