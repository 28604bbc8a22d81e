import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addToHistogram, binIndex, emptyHistogram, histogramTotal, mergeHistograms } from './histogram.js';

const EDGES = [0, 1, 2, 3];

test('binIndex: bins are [e_i, e_i+1), the last one closed, with under and over', () => {
  const cases: Array<[number, number]> = [
    [-0.1, -1], [-Infinity, -1], [0, 0], [0.5, 0], [1, 1], [1.999, 1], [2, 2], [2.999, 2], [3, 2], [3.0001, 3], [Infinity, 3],
  ];
  for (const [x, want] of cases) assert.equal(binIndex(EDGES, x), want, `x=${x}`);
  assert.ok(Number.isNaN(binIndex(EDGES, Number.NaN)));
});

test('binIndex agrees with a linear scan on random edges', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 40 }),
      fc.double({ min: -2e6, max: 2e6, noNaN: true }),
      (raw, x) => {
        const edges = [...raw].sort((a, b) => a - b).filter((e, i, a) => i === 0 || e > (a[i - 1] as number));
        fc.pre(edges.length >= 2);
        const n = edges.length - 1;
        let want: number;
        if (x < (edges[0] as number)) want = -1;
        else if (x > (edges[n] as number)) want = n;
        else {
          want = n - 1;
          for (let i = 0; i < n; i++) if (x >= (edges[i] as number) && x < (edges[i + 1] as number)) { want = i; break; }
        }
        assert.equal(binIndex(edges, x), want);
      },
    ),
    { seed: 20260101, numRuns: 500 },
  );
});

test('addToHistogram counts into bins, under and over', () => {
  const h = emptyHistogram(3);
  for (const x of [-5, 0, 0.2, 1, 2.5, 3, 3, 9]) addToHistogram(h, EDGES, x);
  assert.deepEqual(h, { counts: [2, 1, 3], under: 1, over: 1 });
  assert.equal(histogramTotal(h), 8);
});

test('addToHistogram refuses NaN and edges that do not fit the histogram', () => {
  const h = emptyHistogram(3);
  assert.throws(() => addToHistogram(h, EDGES, Number.NaN), { code: 'INVALID_INPUT', message: /cannot bin NaN/ });
  assert.throws(() => addToHistogram(h, [0, 1, 2], 1), { code: 'INVALID_INPUT', message: /3 bins but got 3 edges: expected 4 edges/ });
  assert.deepEqual(h, emptyHistogram(3), 'a refused value changes nothing');
});

test('emptyHistogram refuses a bad bin count', () => {
  for (const n of [0, -1, 1.5, Number.NaN]) assert.throws(() => emptyHistogram(n), /expected an integer >= 1/);
});

test('mergeHistograms adds counts and refuses different bin counts', () => {
  const a = { counts: [1, 2, 3], under: 4, over: 5 };
  const b = { counts: [10, 20, 30], under: 40, over: 50 };
  assert.deepEqual(mergeHistograms(a, b), { counts: [11, 22, 33], under: 44, over: 55 });
  assert.deepEqual(a, { counts: [1, 2, 3], under: 4, over: 5 }, 'inputs are not mutated');
  assert.throws(() => mergeHistograms(a, emptyHistogram(4)), { code: 'INVALID_INPUT', message: /3 and 4 bins: expected the same reference edges/ });
});
