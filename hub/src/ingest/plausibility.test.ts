// The plausibility checks on hand-made windows and events: each refusal reason, and the honest
// shapes (errors-only windows, compacted day windows, old windows after weeks offline) accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BOUNDS_MS, emptyLatency, type DeviceEvent, type FeatureSummary, type MomentsSketch, type OutputSummary, type SeqWindow } from '@edgefleet/shared';
import { checkEvent, checkWindow, DEFAULT_INGEST_LIMITS, MAX_VALUES_PER_SEC, type DeviceContext } from './plausibility.js';
import { MAX_MAGNITUDE, MAX_SAMPLE_MS } from './plausibility-values.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const ctx = (over: Partial<DeviceContext> = {}): DeviceContext => ({ nowMs: NOW, maxSeq: 10, allowed: (m, v) => m === 'm' && v === '1.0.0', ...over });

// Latency buckets: counts[i] holds samples of at most LATENCY_BOUNDS_MS[i] ms (bucket 40: 10.24 ms).
const B = 40;

function win(over: Partial<SeqWindow> = {}): SeqWindow {
  const latency = emptyLatency();
  latency.counts[B] = 3; // three requests, 1 ms each
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

test('a window naming another reference than its version\'s manifest is refused as other_reference', () => {
  const A = 'a'.repeat(64);
  const refs: Record<string, string | null> = { 'm@1.0.0': A, 'm@2.0.0': null };
  const c = ctx({ allowed: () => true, referenceOf: (m, v) => refs[`${m}@${v}`] });
  assert.equal(checkWindow(win({ referenceId: A }), c, DEFAULT_INGEST_LIMITS), null, 'the manifest\'s');
  assert.equal(checkWindow(win({ referenceId: 'b'.repeat(64) }), c, DEFAULT_INGEST_LIMITS), 'other_reference');
  assert.equal(checkWindow(win({ referenceId: A, version: '2.0.0' }), c, DEFAULT_INGEST_LIMITS), 'other_reference', 'a manifest without a reference');
  assert.equal(checkWindow(win({ referenceId: A, version: '3.0.0' }), c, DEFAULT_INGEST_LIMITS), null, 'a version the registry lacks: not checked here');
  assert.equal(checkWindow(win(), c, DEFAULT_INGEST_LIMITS), null, 'a window naming no reference');
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
  assert.equal(checkWindow(win({ errorLatency: part(B, 1) }), ctx(), L), null, 'one refused request, its sample');
  assert.equal(checkWindow(win({ errorLatency: part(B, 0) }), ctx(), L), null, 'fewer after a merge with an older agent\'s window');
  assert.equal(checkWindow(win({ errorLatency: part(B, 2) }), ctx(), L), 'inconsistent_counts', 'more error samples than errors');
  assert.equal(checkWindow(win({ errors: { OVERLOADED: 2 }, errorLatency: part(B + 1, 1) }), ctx(), L), 'inconsistent_counts', 'a bucket latency does not have');
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
    e.counts[B + 2] = n;
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

test('requests are bounded by the window\'s length like predictions: a flood of errors is refused, and with it every count bounded by them', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const M = Number.MAX_SAFE_INTEGER;
  const flood = emptyLatency();
  flood.counts[0] = M;
  // The audit's window: 2^53 - 1 refused requests in a minute, no predictions.
  assert.equal(checkWindow(win({ count: 0, errors: { OVERLOADED: M }, latency: { ...flood, sumMs: 0 }, features: [] }), ctx(), L), 'implausible_rate');
  const most = 60 * L.maxPredictionsPerSec;
  const at = (n: number) => {
    const l = emptyLatency();
    l.counts[0] = n;
    return { ...l, sumMs: 0 };
  };
  assert.equal(checkWindow(win({ count: 0, errors: { OVERLOADED: most }, latency: at(most), features: [] }), ctx(), L), null, 'at the rate');
  assert.equal(checkWindow(win({ count: 0, errors: { OVERLOADED: most + 1 }, latency: at(most + 1), features: [] }), ctx(), L), 'implausible_rate');
  // The same samples over a day (a compacted window) are fine.
  assert.equal(checkWindow(win({ lengthSec: 86_400, count: 0, errors: { OVERLOADED: most + 1 }, latency: at(most + 1), features: [] }), ctx(), L), null);
  assert.equal(checkWindow(win({ count: 0, errors: { OVERLOADED: 1 }, latency: at(1), features: [] }), ctx(), { ...L, maxPredictionsPerSec: 1 / 120 }), 'implausible_rate', 'the configured rate');
});

test('each feature, output, input and shadow candidate is listed once', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const w = win();
  assert.equal(checkWindow({ ...w, features: [...w.features, w.features[0]!] }, ctx(), L), 'inconsistent_counts', 'a feature twice');
  const out: OutputSummary = { name: 'y', index: 0, hist: { counts: [1, 1], under: 0, over: 0 }, moments: { n: 2, mean: 0.5, m2: 0.02, min: 0.4, max: 0.6 } };
  assert.equal(checkWindow(win({ outputs: [out] }), ctx(), L), null);
  assert.equal(checkWindow(win({ outputs: [out, { ...out, index: 1 }] }), ctx(), L), 'inconsistent_counts', 'an output twice');
  const input = { name: 'audio', moments: { n: 3, mean: 0, m2: 2, min: -1, max: 1 }, nans: 0 };
  assert.equal(checkWindow(win({ inputs: [input, input] }), ctx(), L), 'inconsistent_counts', 'an input twice');
  const lat = emptyLatency();
  lat.counts[B] = 1;
  const sh = { version: '2.0.0', sampled: 1, dropped: 0, runs: 1, agree: 1, errors: 0, latency: { ...lat, sumMs: 1 } };
  assert.equal(checkWindow(win({ shadow: [sh] }), ctx(), L), null);
  assert.equal(checkWindow(win({ shadow: [sh, sh] }), ctx(), L), 'inconsistent_counts', 'a candidate twice');
});

test('rows: nulls count with the bins and categories, a numeric feature\'s moments with its NaNs', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const numeric = (over: Partial<Extract<FeatureSummary, { kind: 'numeric' }>>): FeatureSummary => ({
    kind: 'numeric', name: 'a', hist: { counts: [2, 2], under: 0, over: 0 }, moments: { n: 4, mean: 1, m2: 1, min: 0, max: 2 }, nulls: 0, nans: 1, ...over,
  });
  const cat = (nulls: number): FeatureSummary => ({ kind: 'categorical', name: 'b', cat: { counts: { x: 3 }, other: 1 }, nulls });
  assert.equal(checkWindow(win({ features: [numeric({}), cat(1)] }), ctx(), L), null, '3 + 1 + 1 null = 5 rows');
  assert.equal(checkWindow(win({ features: [numeric({}), cat(2)] }), ctx(), L), 'inconsistent_counts', 'categories and nulls past the count');
  assert.equal(checkWindow(win({ features: [numeric({ nulls: 1 })] }), ctx(), L), 'inconsistent_counts', 'numeric nulls past the count');
  // Without bins: the moments' values and the NaNs are rows.
  const { hist: _h, ...bare } = numeric({}) as Extract<FeatureSummary, { kind: 'numeric' }>;
  assert.equal(checkWindow(win({ features: [bare] }), ctx(), L), null);
  assert.equal(checkWindow(win({ features: [{ ...bare, nans: 2 }] }), ctx(), L), 'inconsistent_counts');
});

test('outputs: any number of values a prediction, within the values a window can record; moments within the bins', () => {
  const L = DEFAULT_INGEST_LIMITS;
  // A detection model: 5 predictions, 400 boxes' scores.
  const scores: OutputSummary = { name: 'score', index: 4, hist: { counts: [300, 100], under: 0, over: 0 }, moments: { n: 400, mean: 0.4, m2: 20, min: 0, max: 1 } };
  assert.equal(checkWindow(win({ outputs: [scores] }), ctx(), L), null);
  const values = 60 * MAX_VALUES_PER_SEC;
  assert.equal(checkWindow(win({ outputs: [{ ...scores, hist: { counts: [values, 1], under: 0, over: 0 } }] }), ctx(), L), 'implausible_rate');
  assert.equal(checkWindow(win({ outputs: [{ name: 'all', index: 0, moments: { ...scores.moments, n: values + 1 } }] }), ctx(), L), 'implausible_rate');
  assert.equal(checkWindow(win({ inputs: [{ name: 'x', moments: { n: 0, mean: 0, m2: 0, min: null, max: null }, nans: values + 1 }] }), ctx(), L), 'implausible_rate');
  // Every finite value is binned (±Infinity only binned): more moments than bins is impossible.
  assert.equal(checkWindow(win({ outputs: [{ ...scores, moments: { ...scores.moments, n: 401 } }] }), ctx(), L), 'inconsistent_counts');
});

test('moments: min and max exactly when there are values, the mean between them, the spread within them (Popoviciu)', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const withMoments = (m: MomentsSketch) => win({ features: [{ kind: 'numeric', name: 'a', moments: m, nulls: 0, nans: 0 }] });
  const ok = (m: MomentsSketch) => checkWindow(withMoments(m), ctx(), L);
  assert.equal(ok({ n: 0, mean: 0, m2: 0, min: null, max: null }), null);
  assert.equal(ok({ n: 4, mean: 1, m2: 4, min: 0, max: 2 }), null, 'two at each end: m2 = n·range²/4 exactly');
  assert.equal(ok({ n: 4, mean: 5, m2: 0, min: 5, max: 5 }), null);
  assert.equal(ok({ n: 2, mean: 1, m2: 2 ** -104, min: 1, max: 1 + 2 ** -52 }), null, 'Welford on 1 and 1 + ulp: m2 = ulp², twice the exact bound');
  assert.equal(ok({ n: 1, mean: 1e144, m2: 0, min: 1e144, max: 1e144 }), null, 'at the magnitude bound');
  assert.equal(ok({ n: 4, mean: 0.5, m2: 0, min: null, max: null }), 'implausible_values', 'values without min and max');
  assert.equal(ok({ n: 4, mean: 0.5, m2: 0, min: 0.5, max: null }), 'implausible_values');
  assert.equal(ok({ n: 0, mean: 0, m2: 0, min: 1, max: 2 }), 'implausible_values', 'no values, a min and max');
  assert.equal(ok({ n: 2, mean: 1, m2: 0, min: 2, max: 0 }), 'implausible_values', 'min above max');
  assert.equal(ok({ n: 1, mean: 1e308, m2: 0, min: 5, max: 5 }), 'implausible_values', 'the audit\'s mean far outside [min, max]');
  assert.equal(ok({ n: 4, mean: 2.001, m2: 0, min: 0, max: 2 }), 'implausible_values');
  assert.equal(ok({ n: 1, mean: 5, m2: 1e308, min: 5, max: 5 }), 'implausible_values', 'a spread min = max does not allow');
  assert.equal(ok({ n: 4, mean: 1, m2: 4.01, min: 0, max: 2 }), 'implausible_values', 'more spread than Popoviciu allows');
  assert.equal(ok({ n: 1, mean: MAX_MAGNITUDE * 2, m2: 0, min: MAX_MAGNITUDE * 2, max: MAX_MAGNITUDE * 2 }), 'implausible_values', 'past the magnitude rollups can merge');
  assert.equal(ok({ n: 2, mean: 0, m2: 1e307, min: -1e308, max: 1e308 }), 'implausible_values', 'a range whose square overflows');
  // Outputs alike; inputs' moments are merged nowhere (only their counts are summed).
  assert.equal(checkWindow(win({ outputs: [{ name: 'y', index: 0, moments: { n: 4, mean: 0.5, m2: 0, min: null, max: null } }] }), ctx(), L), 'implausible_values');
  assert.equal(checkWindow(win({ inputs: [{ name: 'x', moments: { n: 3, mean: 1e300, m2: 0, min: null, max: null }, nans: 0 }] }), ctx(), L), null);
});

test('latency sums: each sample at most its bucket\'s bound, the open overflow bucket at most MAX_SAMPLE_MS', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const lat = (bucket: number, n: number, sumMs: number) => {
    const l = emptyLatency();
    l.counts[bucket] = n;
    return { ...l, sumMs };
  };
  const bound = LATENCY_BOUNDS_MS[B]!;
  const top = LATENCY_BOUNDS_MS.length; // the overflow bucket
  assert.equal(checkWindow(win({ latency: lat(B, 3, 3 * bound) }), ctx(), L), null, 'every sample at its bucket\'s bound');
  assert.equal(checkWindow(win({ latency: lat(B, 3, 3 * bound * 1.001) }), ctx(), L), 'implausible_values');
  assert.equal(checkWindow(win({ latency: lat(top, 3, 3 * MAX_SAMPLE_MS) }), ctx(), L), null, 'three requests of ten years');
  assert.equal(checkWindow(win({ latency: lat(top, 3, 1.7e308) }), ctx(), L), 'implausible_values', 'the audit\'s sum');
  assert.equal(checkWindow(win({ latency: { counts: [3], sumMs: 3 * MAX_SAMPLE_MS } }), ctx(), L), null, 'a bucket layout not the agent\'s: MAX_SAMPLE_MS each');
  assert.equal(checkWindow(win({ latency: { counts: [3], sumMs: 4 * MAX_SAMPLE_MS } }), ctx(), L), 'implausible_values');
  assert.equal(checkWindow(win({ errorLatency: lat(B, 1, 2 * bound) }), ctx(), L), 'implausible_values', 'errorLatency alike');
  const sh = { version: '2.0.0', sampled: 1, dropped: 0, runs: 1, agree: 1, errors: 0, latency: lat(B, 1, 2 * bound) };
  assert.equal(checkWindow(win({ shadow: [sh] }), ctx(), L), 'implausible_values', 'a shadow\'s latency alike');
});

test('regression error sums: within what a rollup can add (|error| <= 2 · MAX_MAGNITUDE a label)', () => {
  const L = DEFAULT_INGEST_LIMITS;
  const ok = (absErrorSum: number, sqErrorSum: number, labelled = 4) => checkWindow(win({ feedback: { labelled, correct: 0, absErrorSum, sqErrorSum } }), ctx(), L);
  assert.equal(ok(2e144, 4e288, 1), null, 'one label off by 2e144');
  assert.equal(ok(1e142, 1e282, 100), null, 'errors of 1e140 (a float32 output is at most 3.4e38)');
  assert.equal(ok(0, 1.7e308, 1), 'implausible_values', 'the audit\'s sum');
  assert.equal(ok(3e144, 9e288, 1), 'implausible_values', 'one label off by 3e144');
});
