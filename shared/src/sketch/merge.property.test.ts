// Property tests (fast-check, fixed seeds): every merge is associative and
// commutative, and sketching a sample in parts cut at random points, then merging
// the parts in a random tree, equals sketching the whole sample — exactly for
// counts, within 1e-9 for moments and sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SummaryWindow } from '../wire/telemetry.js';
import { addCategory, emptyCategorical, mergeCategorical } from './categorical.js';
import { addToHistogram, emptyHistogram, mergeHistograms } from './histogram.js';
import { addLatency, emptyLatency, mergeLatency } from './latency.js';
import { addMoment, emptyMoments, mergeMoments } from './moments.js';
import type { LatencySketch, MomentsSketch } from './schema.js';
import { emptyWindow, mergeWindows, windowTotals } from './window.js';

const RUNS = { numRuns: 200 };

/** Cuts `xs` at the given points (taken modulo length + 1), giving 1..cuts+1 parts, some possibly empty. */
function split<T>(xs: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (xs.length + 1)))].sort((a, b) => a - b);
  const parts: T[][] = [];
  let from = 0;
  for (const p of points) { parts.push(xs.slice(from, p)); from = p; }
  parts.push(xs.slice(from));
  return parts;
}

/** Merges `items` as a random tree: repeatedly picks any two (by `choices`), merges them in a chosen order. */
function mergeRandomTree<S>(items: readonly S[], choices: readonly number[], merge: (a: S, b: S) => S): S {
  const pool = [...items];
  let k = 0;
  const next = () => (choices.length === 0 ? 0 : (choices[k++ % choices.length] as number));
  while (pool.length > 1) {
    const i = next() % pool.length;
    const [a] = pool.splice(i, 1) as [S];
    const j = next() % pool.length;
    const [b] = pool.splice(j, 1) as [S];
    pool.push(next() % 2 === 0 ? merge(a, b) : merge(b, a));
  }
  return pool[0] as S;
}

/**
 * |a - b| within 1e-9 relative to the data's own scale: moments of values that
 * nearly cancel (a mean near 0 of values near ±1e6) carry rounding of the size of
 * the values, not of the result, so the scale is the larger of the two and `scale`.
 */
function close(a: number, b: number, scale: number, what: string): void {
  const tol = 1e-9 * Math.max(Math.abs(a), Math.abs(b), scale);
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

function assertMomentsClose(a: MomentsSketch, b: MomentsSketch, xs: readonly number[]): void {
  const maxAbs = xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.equal(a.n, b.n, 'n');
  assert.equal(a.min, b.min, 'min');
  assert.equal(a.max, b.max, 'max');
  close(a.mean, b.mean, maxAbs, 'mean');
  close(a.m2, b.m2, a.n * maxAbs * maxAbs, 'm2');
}

function assertLatencyClose(a: LatencySketch, b: LatencySketch): void {
  assert.deepEqual(a.counts, b.counts);
  close(a.sumMs, b.sumMs, 0, 'sumMs');
}

/**
 * Checks for one sketch kind: split-and-merge equals the whole, and merge is
 * associative and commutative on three independent samples.
 */
function checkMergeable<V, S>(
  name: string,
  value: fc.Arbitrary<V>,
  build: (xs: readonly V[]) => S,
  merge: (a: S, b: S) => S,
  equal: (got: S, want: S, xs: readonly V[]) => void,
  seed: number,
  opts: { nonEmptyParts?: boolean } = {},
): void {
  test(`${name}: sketching parts and merging them in any tree equals sketching the whole`, () => {
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
        (xs, cuts, choices) => {
          let parts = split(xs, cuts);
          if (opts.nonEmptyParts) parts = parts.filter((p) => p.length > 0);
          fc.pre(parts.length > 0);
          const merged = mergeRandomTree(parts.map(build), choices, merge);
          equal(merged, build(xs), xs);
        },
      ),
      { seed, ...RUNS },
    );
  });
  test(`${name}: merge is associative and commutative`, () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 100 }), fc.array(value, { maxLength: 100 }), fc.array(value, { maxLength: 100 }), (x, y, z) => {
        const [a, b, c] = [build(x), build(y), build(z)];
        const all = [...x, ...y, ...z];
        equal(merge(merge(a, b), c), merge(a, merge(b, c)), all);
        equal(merge(a, b), merge(b, a), [...x, ...y]);
      }),
      { seed: seed + 1, ...RUNS },
    );
  });
}

const EDGES = [-100, -10, -1, 0, 1, 10, 100];
const numbers = fc.oneof(
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.integer({ min: -200, max: 200 }),
  fc.constantFrom(...EDGES),
);

checkMergeable('histogram', numbers, (xs) => {
  const h = emptyHistogram(EDGES.length - 1);
  for (const x of xs) addToHistogram(h, EDGES, x);
  return h;
}, mergeHistograms, (got, want) => assert.deepEqual(got, want), 101);

checkMergeable('moments', numbers, (xs) => {
  const m = emptyMoments();
  for (const x of xs) addMoment(m, x);
  return m;
}, mergeMoments, assertMomentsClose, 201);

const VOCAB = ['idle', 'run', 'stop', '__proto__'];
checkMergeable(
  'categorical',
  fc.oneof(fc.constantFrom(...VOCAB, 'other', 'Run', 'constructor'), fc.integer({ min: -2, max: 6 })),
  (xs) => {
    const c = emptyCategorical();
    for (const x of xs) addCategory(c, VOCAB, x);
    return c;
  },
  mergeCategorical,
  (got, want) => assert.deepEqual(got, want),
  301,
);

checkMergeable('latency', fc.oneof(fc.double({ min: 0, max: 2e5, noNaN: true }), fc.constantFrom(0, 0.01, 1, 1e9)), (xs) => {
  const l = emptyLatency();
  for (const x of xs) addLatency(l, x);
  return l;
}, mergeLatency, assertLatencyClose, 401);

// Windows: one prediction record at a time, as an agent would record it.
interface Rec { minute: number; temp: number | null; mode: string | null; score: number; ms: number; error: string | null }
const TEMP_EDGES = [0, 10, 20, 30];
const SCORE_EDGES = [0, 0.5, 0.9, 1];
const record: fc.Arbitrary<Rec> = fc.record({
  minute: fc.integer({ min: 0, max: 5 }),
  temp: fc.oneof(fc.double({ min: -10, max: 40, noNaN: true }), fc.constant(null), fc.constant(Number.NaN)),
  mode: fc.oneof(fc.constantFrom('idle', 'run', 'x'), fc.constant(null)),
  score: fc.double({ min: 0, max: 1, noNaN: true }),
  ms: fc.double({ min: 0, max: 500, noNaN: true }),
  error: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('TIMEOUT', 'INFERENCE_FAILED') }),
});
const T0 = Date.parse('2026-03-01T10:00:00Z');

/** One window per record's minute, then everything for those minutes merged: what an agent compacts. */
function recordWindow(recs: readonly Rec[]): SummaryWindow {
  const minute = recs.length === 0 ? 0 : Math.min(...recs.map((r) => r.minute));
  const last = recs.length === 0 ? 0 : Math.max(...recs.map((r) => r.minute));
  const w = emptyWindow(
    { model: 'vib', version: '1.0.0', referenceId: 'b'.repeat(64), start: T0 + minute * 60_000, lengthSec: 60 * (last - minute + 1), align: false },
    { features: [{ name: 'temp', kind: 'numeric', bins: 3 }, { name: 'mode', kind: 'categorical' }], outputs: [{ name: 'score', index: 0, bins: 3 }], inputs: ['x'] },
  );
  const [temp, mode] = w.features;
  const [score] = w.outputs;
  const [x] = w.inputs;
  if (temp?.kind !== 'numeric' || !temp.hist || mode?.kind !== 'categorical' || !score?.hist || !x) throw new Error('layout');
  for (const r of recs) {
    w.count++;
    addLatency(w.latency, r.ms);
    if (r.error !== null) { w.errors[r.error] = (w.errors[r.error] ?? 0) + 1; continue; }
    if (r.temp === null) temp.nulls++;
    else if (Number.isNaN(r.temp)) { temp.nans++; x.nans++; }
    else { addToHistogram(temp.hist, TEMP_EDGES, r.temp); addMoment(temp.moments, r.temp); addMoment(x.moments, r.temp); }
    if (r.mode === null) mode.nulls++;
    else addCategory(mode.cat, ['idle', 'run'], r.mode);
    addToHistogram(score.hist, SCORE_EDGES, r.score);
    addMoment(score.moments, r.score);
  }
  return w;
}

function assertWindowsClose(got: SummaryWindow, want: SummaryWindow, recs: readonly Rec[]): void {
  assert.deepEqual(windowTotals([got]), windowTotals([want]));
  assert.equal(got.start, want.start);
  assert.equal(got.lengthSec, want.lengthSec);
  assertLatencyClose(got.latency, want.latency);
  const temps = recs.flatMap((r) => (r.error === null && r.temp !== null && !Number.isNaN(r.temp) ? [r.temp] : []));
  const moments = (w: SummaryWindow) => [w.features[0], w.outputs[0], w.inputs[0]].map((s) => (s as { moments: MomentsSketch }).moments);
  const [g, h] = [moments(got), moments(want)];
  assertMomentsClose(g[0] as MomentsSketch, h[0] as MomentsSketch, temps);
  assertMomentsClose(g[1] as MomentsSketch, h[1] as MomentsSketch, [1]);
  assertMomentsClose(g[2] as MomentsSketch, h[2] as MomentsSketch, temps);
}

// Parts are non-empty here: a window's start comes from its records, and an empty
// part would be a window at an arbitrary time that widens the merged span.
checkMergeable('summary window', record, (recs) => recordWindow(recs), mergeWindows, assertWindowsClose, 501, { nonEmptyParts: true });

test('summary window: totals of the windows equal totals of their merge, whatever the order', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), (recs, cuts, choices) => {
      const windows = split(recs, cuts).map(recordWindow);
      const merged = mergeRandomTree(windows, choices, mergeWindows);
      assert.deepEqual(windowTotals([merged]), windowTotals(windows));
      assert.deepEqual(windowTotals([...windows].reverse()), windowTotals(windows));
      assert.equal(windowTotals(windows).count, recs.length);
    }),
    { seed: 601, ...RUNS },
  );
});
