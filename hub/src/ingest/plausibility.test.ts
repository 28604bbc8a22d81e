// The plausibility checks on hand-made windows and events: each refusal reason, and the honest
// shapes (errors-only windows, compacted day windows, old windows after weeks offline) accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLatency, type DeviceEvent, type SeqWindow } from '@edgefleet/shared';
import { checkEvent, checkWindow, DEFAULT_INGEST_LIMITS, type DeviceContext } from './plausibility.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const ctx = (over: Partial<DeviceContext> = {}): DeviceContext => ({ nowMs: NOW, maxSeq: 10, allowed: (m, v) => m === 'm' && v === '1.0.0', ...over });

function win(over: Partial<SeqWindow> = {}): SeqWindow {
  const latency = emptyLatency();
  latency.counts[5] = 3; // three requests
  return {
    seq: 11, model: 'm', version: '1.0.0', start: '2026-03-01T11:58:00.000Z', lengthSec: 60, count: 5, errors: { INVALID_INPUT: 1 },
    latency: { ...latency, sumMs: 3 },
    features: [
      { kind: 'numeric', name: 'a', hist: { counts: [2, 2], under: 0, over: 0 }, moments: { n: 4, mean: 1, m2: 1, min: 0, max: 2 }, nulls: 0, nans: 1 },
      { kind: 'categorical', name: 'b', cat: { counts: { x: 3 }, other: 2 }, nulls: 0 },
    ],
    outputs: [], inputs: [], ...over,
  };
}

test('an honest window passes: rows from two requests, one refused request, a NaN', () => {
  assert.equal(checkWindow(win(), ctx(), DEFAULT_INGEST_LIMITS), null);
});

test('errors-only windows, compacted day windows and windows from weeks ago pass', () => {
  const errorsOnly = win({ count: 0, errors: { OVERLOADED: 3 }, features: [] });
  assert.equal(checkWindow(errorsOnly, ctx(), DEFAULT_INGEST_LIMITS), null);
  assert.equal(checkWindow(win({ lengthSec: 86_400, start: '2026-01-01T00:00:00.000Z' }), ctx(), DEFAULT_INGEST_LIMITS), null);
});

test('errorLatency: the failed requests\' part of latency, at most one sample per error', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const part = (bucket: number, n: number) => {
    const e = emptyLatency();
    e.counts[bucket] = n;
    return { ...e, sumMs: n };
  };
  assert.equal(checkWindow(win({ errorLatency: part(5, 1) }), ctx(), L), null, 'one refused request, its sample');
  assert.equal(checkWindow(win({ errorLatency: part(5, 0) }), ctx(), L), null, 'fewer after a merge with an older agent\'s window');
  assert.equal(checkWindow(win({ errorLatency: part(5, 2) }), ctx(), L), 'inconsistent_counts', 'more error samples than errors');
  assert.equal(checkWindow(win({ errors: { OVERLOADED: 2 }, errorLatency: part(6, 1) }), ctx(), L), 'inconsistent_counts', 'a bucket latency does not have');
  assert.equal(checkWindow(win({ errorLatency: { counts: [1], sumMs: 1 } }), ctx(), L), 'inconsistent_counts', 'another bucket layout');
});

test('each implausible window is refused with its reason', () => {
  const L = DEFAULT_INGEST_LIMITS;
  assert.equal(checkWindow(win({ model: 'ghost-model', version: '9.9.9' }), ctx(), L), 'unassigned_version');
  assert.equal(checkWindow(win({ version: '2.0.0' }), ctx(), L), 'unassigned_version');
  assert.equal(checkWindow(win({ seq: 2 ** 53 - 1 }), ctx(), L), 'seq_jump');
  assert.equal(checkWindow(win({ start: '2099-01-01T00:00:00.000Z' }), ctx(), L), 'future_start');
  assert.equal(checkWindow(win({ count: 1e15 }), ctx(), L), 'implausible_rate');
  assert.equal(checkWindow(win({ count: Number.MAX_SAFE_INTEGER }), ctx(), L), 'implausible_rate');
  assert.equal(checkWindow(win({ lengthSec: 10 ** 9 }), ctx(), L), 'implausible_rate');
  assert.equal(checkWindow(win({ errors: { X: 4 } }), ctx(), L), 'inconsistent_counts', 'more errors than requests');
  assert.equal(checkWindow(win({ count: 5, latency: emptyLatency(), errors: {} }), ctx(), L), 'inconsistent_counts', 'predictions without a request');
  assert.equal(checkWindow(win({ count: 3 }), ctx(), L), 'inconsistent_counts', 'a feature binned more rows than the window counts');
});

test('the limits are the configured ones', () => {
  const tight = { ...DEFAULT_INGEST_LIMITS, maxPredictionsPerSec: 0.05, futureToleranceMs: 0, maxSeqGap: 1 };
  assert.equal(checkWindow(win(), ctx(), tight), 'implausible_rate');
  assert.equal(checkWindow(win({ seq: 12 }), ctx(), { ...DEFAULT_INGEST_LIMITS, maxSeqGap: 1 }), 'seq_jump');
  assert.equal(checkWindow(win({ start: '2026-03-01T12:00:01.000Z' }), ctx(), { ...DEFAULT_INGEST_LIMITS, futureToleranceMs: 0 }), 'future_start');
});

test('events: an unassigned version, a seq jump and a future stamp are refused; events without a model pass', () => {
  const e = (over: Partial<DeviceEvent> = {}): DeviceEvent => ({ seq: 11, at: '2026-03-01T11:00:00.000Z', kind: 'activated', model: 'm', version: '1.0.0', message: 'ok', ...over });
  const L = DEFAULT_INGEST_LIMITS;
  assert.equal(checkEvent(e(), ctx(), L), null);
  assert.equal(checkEvent(e({ model: 'ghost-model', version: '9.9.9' }), ctx(), L), 'unassigned_version');
  assert.equal(checkEvent(e({ seq: 2 ** 53 - 1 }), ctx(), L), 'seq_jump');
  assert.equal(checkEvent(e({ at: '2099-01-01T00:00:00.000Z' }), ctx(), L), 'future_start');
  const { model: _m, version: _v, ...bare } = e({ kind: 'trust_rotated' });
  assert.equal(checkEvent(bare, ctx(), L), null);
});

test('labels and confidence: honest counts pass, impossible ones are refused', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const ok = (over: Partial<SeqWindow>) => checkWindow(win(over), ctx(), L);
  // 2 classes: labelled 5, correct 3 (diagonal 2 + 1), confusion sums to 5
  assert.equal(ok({ feedback: { labelled: 5, correct: 3, confusion: [2, 1, 1, 1] }, confidence: { n: 5, sum: 4.2 } }), null);
  // labels arriving in a window with no predictions of its own (for earlier ones) are fine
  assert.equal(ok({ count: 0, features: [], errors: {}, feedback: { labelled: 2, correct: 2, confusion: [1, 0, 0, 1] } }), null);
  assert.equal(ok({ feedback: { labelled: 4, absErrorSum: 2, sqErrorSum: 1, correct: 0 } }), null);
  assert.equal(ok({ feedback: { labelled: 2, correct: 3 } }), 'inconsistent_counts');
  assert.equal(ok({ feedback: { labelled: 5, correct: 3, confusion: [2, 1, 1, 2] } }), 'inconsistent_counts'); // sums to 6
  assert.equal(ok({ feedback: { labelled: 5, correct: 2, confusion: [2, 1, 1, 1] } }), 'inconsistent_counts'); // diagonal 3
  assert.equal(ok({ feedback: { labelled: 3, correct: 0, confusion: [1, 1, 1] } }), 'inconsistent_counts'); // not square
  assert.equal(ok({ feedback: { labelled: 1, correct: 1, confusion: [1] } }), 'inconsistent_counts'); // one class
  const big = new Array<number>(65 * 65).fill(0);
  big[0] = 1;
  assert.equal(ok({ feedback: { labelled: 1, correct: 1, confusion: big } }), 'inconsistent_counts'); // over 64 classes
  assert.equal(ok({ feedback: { labelled: 60 * L.maxPredictionsPerSec + 1, correct: 0 } }), 'implausible_rate');
  assert.equal(ok({ feedback: { labelled: 4, correct: 0, absErrorSum: 4, sqErrorSum: 1 } }), 'inconsistent_counts'); // sq < abs²/n
  assert.equal(ok({ feedback: { labelled: 0, correct: 0, absErrorSum: 1, sqErrorSum: 1 } }), 'inconsistent_counts');
  assert.equal(ok({ confidence: { n: 6, sum: 3 } }), 'inconsistent_counts'); // more rows than predictions
  assert.equal(ok({ confidence: { n: 5, sum: 5.5 } }), 'inconsistent_counts'); // a confidence above 1
});

test('shadow summaries: samples within answered requests, runs within samples, agreements within runs, one latency sample per run', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const lat = (n: number) => {
    const e = emptyLatency();
    e.counts[7] = n;
    return { ...e, sumMs: n };
  };
  // The window answered 2 requests (3 latency samples, 1 error).
  const sh = (over: object = {}) => win({ shadow: [{ version: '2.0.0', sampled: 2, dropped: 0, runs: 1, agree: 1, errors: 1, latency: lat(1), ...over }] });
  assert.equal(checkWindow(sh(), ctx(), L), null);
  assert.equal(checkWindow(sh({ sampled: 1, dropped: 1, runs: 1, errors: 0 }), ctx(), L), null);
  assert.equal(checkWindow(sh({ sampled: 2, dropped: 1 }), ctx(), L), 'inconsistent_counts', 'more samples than answered requests');
  assert.equal(checkWindow(sh({ runs: 2, latency: lat(2) }), ctx(), L), 'inconsistent_counts', 'more runs and failures than samples');
  assert.equal(checkWindow(sh({ agree: 2 }), ctx(), L), 'inconsistent_counts', 'more agreements than runs');
  assert.equal(checkWindow(sh({ latency: lat(5) }), ctx(), L), 'inconsistent_counts', 'latency samples are not the runs');
});
