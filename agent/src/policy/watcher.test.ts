// PolicyWatcher: a freshly activated version is watched against its manifest policy for the
// observation window (injected clock); a breach of error rate or p95 latency is reported with the
// measured values; nothing is judged below minRequests; the watch ends after the window. Only the
// model's own failures count: invalid input and shed load are counted apart and never judged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BOUNDS_MS, type Policy } from '@edgefleet/shared';
import type { PredictionRecorder } from '../runtime/recorder.js';
import { setTimeout as delay } from 'node:timers/promises';
import { MAX_LATENCY_ROWS, MAX_WATCH_TIMER_MS, PolicyWatcher, teeRecorder, type Breach } from './watcher.js';

const POLICY: Policy = { maxErrorRate: 0.1, maxP95LatencyMs: 100, observationWindowSec: 300, minRequests: 20 };

function setup(t: { after(fn: () => void): void }) {
  const clock = { t: Date.parse('2026-03-01T12:00:00Z') };
  const breaches: Breach[] = [];
  const w = new PolicyWatcher((b) => breaches.push(b), () => clock.t);
  t.after(() => w.stop());
  return { w, breaches, clock };
}

const ok = (w: PredictionRecorder, n: number, latencyMs: number, version = '2.0.0') => {
  for (let i = 0; i < n; i++) w.record('m', version, [], [], latencyMs);
};

test('breaches on the error rate, reporting the measured values', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  ok(w, 17, 5);
  w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  assert.equal(breaches.length, 0, '2 errors in 19 requests: below minRequests');
  w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  assert.equal(breaches.length, 1);
  const b = breaches[0] as Breach;
  assert.deepEqual([b.model, b.version, b.requests, b.errors, b.errorRate], ['m', '2.0.0', 20, 3, 0.15]);
  assert.ok(b.p95Ms <= 100);
  assert.equal(b.reason, 'policy breached after 20 requests: error rate 15.0% > 10.0%');
  assert.deepEqual(b.policy, POLICY);
  assert.equal(w.watching('m'), undefined, 'a breach ends the watch');
  w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  assert.equal(breaches.length, 1, 'reported once');
});

test('breaches on p95 latency with the measured p95', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  ok(w, 18, 20);
  ok(w, 2, 400); // 2 of 20 = 10 % above the bound: p95 is in the 400 ms bucket
  assert.equal(breaches.length, 1);
  const b = breaches[0] as Breach;
  assert.equal(b.requests, 20);
  assert.equal(b.errors, 0);
  const bucket = LATENCY_BOUNDS_MS.find((x) => x >= 400) as number;
  assert.equal(b.p95Ms, bucket);
  assert.ok(b.p95Ms >= 400 && b.p95Ms < 400 * 1.2);
  assert.match(b.reason, new RegExp(`p95 latency ${bucket.toFixed(1)} ms > 100 ms`));
});

test('one slow request in twenty is within p95', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  ok(w, 19, 20);
  ok(w, 1, 5000);
  assert.equal(w.evaluate('m', false), undefined);
  assert.equal(breaches.length, 0);
  assert.equal(w.watching('m'), '2.0.0');
});

test('no breach below minRequests, even at 100 % errors', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  for (let i = 0; i < 19; i++) w.recordError('m', '2.0.0', 'X', 1000);
  assert.equal(w.evaluate('m', false), undefined);
  assert.equal(breaches.length, 0);
  assert.equal(w.watching('m'), '2.0.0');
});

test('only the watched version counts', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  for (let i = 0; i < 40; i++) w.recordError('m', '1.0.0', 'X', 1000);
  for (let i = 0; i < 40; i++) w.recordError('other', '2.0.0', 'X', 1000);
  assert.equal(breaches.length, 0);
  assert.equal(w.evaluate('m', false), undefined);
});

test('the watch ends after the observation window; later traffic is not judged', (t) => {
  const { w, breaches, clock } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  ok(w, 30, 5);
  clock.t += 299_000;
  assert.equal(w.evaluate('m', false), undefined);
  assert.equal(w.watching('m'), '2.0.0', 'still inside the window');
  clock.t += 1_000;
  assert.equal(w.evaluate('m', false), undefined);
  assert.equal(w.watching('m'), undefined, 'passed: no longer watched');
  for (let i = 0; i < 30; i++) w.recordError('m', '2.0.0', 'X', 1000);
  assert.equal(breaches.length, 0);
});

test('a breach found at the end of the window is still reported', (t) => {
  const { w, breaches, clock } = setup(t);
  w.watch('m', '2.0.0', { ...POLICY, minRequests: 5 });
  ok(w, 5, 300); // evaluated on record only every 10 requests
  assert.equal(breaches.length, 0);
  clock.t += 300_000;
  const b = w.evaluate('m', true);
  assert.ok(b);
  assert.equal(breaches.length, 1);
  assert.match(b.reason, /after 5 requests: p95 latency/);
});

test('a window longer than one timer can wait (30 days) is watched, not ended at once', async (t) => {
  // Node fires a setTimeout past 2^31 - 1 ms after 1 ms: the watch ended before its first request.
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', { ...POLICY, observationWindowSec: 30 * 86_400 });
  await delay(20);
  assert.equal(w.watching('m'), '2.0.0', 'still watched after the overflowed timer would have fired');
  for (let i = 0; i < 20; i++) w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  assert.equal(breaches.length, 1, 'a breach on day one is rolled back');
});

test('a long window is waited for in steps of MAX_WATCH_TIMER_MS and ends with a final judgement', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', { ...POLICY, minRequests: 5, observationWindowSec: 30 * 86_400 });
  ok(w, 5, 300); // judged on record only every 10 requests: the end of the window judges them
  // Node 20's mock timers run a timer set by a timer only at the next tick: one tick a step.
  for (let i = 1; i < 30 * 86_400_000 / MAX_WATCH_TIMER_MS; i++) t.mock.timers.tick(MAX_WATCH_TIMER_MS);
  t.mock.timers.tick(MAX_WATCH_TIMER_MS - 1);
  assert.equal(w.watching('m'), '2.0.0', 'a millisecond before the 30 days: not over yet');
  assert.equal(breaches.length, 0);
  t.mock.timers.tick(1);
  assert.equal(w.watching('m'), undefined, 'over after 30 days');
  assert.match(breaches[0]?.reason ?? '', /after 5 requests: p95 latency/);
});

test('watching a new version replaces the old watch', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  ok(w, 15, 5);
  w.watch('m', '3.0.0', POLICY);
  for (let i = 0; i < 19; i++) w.recordError('m', '3.0.0', 'X', 5);
  assert.equal(breaches.length, 0, 'counts restart for the new version');
  w.recordError('m', '3.0.0', 'X', 5);
  assert.deepEqual(breaches.map((b) => [b.version, b.requests]), [['3.0.0', 20]]);
});

test('invalid input and shed load are not held against the model (issue 9: 2 wrong shapes in 20, a 503 burst)', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', { ...POLICY, maxErrorRate: 0.05 });
  ok(w, 9, 5);
  w.recordError('m', '2.0.0', 'INVALID_INPUT', 0.01);
  w.recordError('m', '2.0.0', 'BAD_REQUEST', 0.01);
  ok(w, 9, 5);
  for (let i = 0; i < 131; i++) w.recordError('m', '2.0.0', 'OVERLOADED', 0.01);
  ok(w, 2, 5);
  assert.equal(w.evaluate('m', false), undefined);
  assert.equal(breaches.length, 0);
  assert.equal(w.watching('m'), '2.0.0');
  // The same watch still judges the model's own failures, and says what it left out.
  w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  w.recordError('m', '2.0.0', 'INFERENCE_FAILED', 5);
  assert.equal(breaches.length, 1);
  const b = breaches[0] as Breach;
  assert.deepEqual([b.requests, b.errors, b.invalidInput, b.shed], [22, 2, 2, 131]);
  assert.equal(b.reason, 'policy breached after 22 requests: error rate 9.1% > 5.0% (not judged: 2 invalid input, 131 shed)');
});

test('p95 is over answered requests: fast refusals do not hide a slow model', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  for (let i = 0; i < 400; i++) w.recordError('m', '2.0.0', 'OVERLOADED', 0.01);
  ok(w, 20, 400);
  assert.equal(breaches.length, 1);
  assert.ok((breaches[0] as Breach).p95Ms >= 400, JSON.stringify(breaches[0]));
  assert.match((breaches[0] as Breach).reason, /after 20 requests: p95 latency .* > 100 ms \(not judged: 0 invalid input, 400 shed\)$/);
});

test('teeRecorder forwards every call to each recorder', () => {
  const calls: string[] = [];
  const rec = (name: string): PredictionRecorder => ({
    record: (m, v, _f, _o, l) => calls.push(`${name} ok ${m}@${v} ${l}`),
    recordError: (m, v, c, l) => calls.push(`${name} err ${m}@${v} ${c} ${l}`),
  });
  const tee = teeRecorder(rec('a'), rec('b'));
  tee.record('m', '1.0.0', [], [], 3);
  tee.recordError('m', '1.0.0', 'X', 4);
  assert.deepEqual(calls, ['a ok m@1.0.0 3', 'b ok m@1.0.0 3', 'a err m@1.0.0 X 4', 'b err m@1.0.0 X 4']);
});

test('latency is the model\'s: time waiting for a run slot is not judged, nor requests of more than MAX_LATENCY_ROWS rows', (t) => {
  const { w, breaches } = setup(t);
  w.watch('m', '2.0.0', POLICY);
  const rows = (n: number) => [{ name: 'x', datatype: 'FP32' as const, shape: [n, 3], data: new Float32Array(n * 3) }];
  // 400 ms answered, 390 of them waiting behind other requests: 10 ms of the model's.
  for (let i = 0; i < 20; i++) w.record('m', '2.0.0', rows(1), [], 400, 390);
  // A caller sending 100,000-row requests, each slow by its size.
  for (let i = 0; i < 20; i++) w.record('m', '2.0.0', rows(MAX_LATENCY_ROWS + 1), [], 900, 0);
  assert.equal(breaches.length, 0, 'neither queueing nor large requests breach the latency policy');
  // Requests of at most MAX_LATENCY_ROWS rows are judged from their run's start: a slow model still breaches.
  for (let i = 0; i < 20; i++) w.record('m', '2.0.0', rows(MAX_LATENCY_ROWS), [], 450, 50);
  assert.equal(breaches.length, 1);
  const b = breaches[0] as Breach;
  assert.equal(b.large, 20);
  assert.match(b.reason, new RegExp(`p95 latency [\\d.]+ ms > 100 ms \\(not judged: the latency of 20 requests of more than ${MAX_LATENCY_ROWS} rows\\)`));
});
