// BinLookup (the O(1) bin finder on the request path) against a plain linear
// scan on random edges, values at, between and beyond the edges; and the
// request-path latency bucket against the shared latencyBucket().
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LATENCY_BOUNDS_MS, latencyBucket } from '@edgefleet/shared';
import { BinLookup } from './layout.js';
import { latencyIndex } from './acc.js';

/** [under, bin0..binK-1, over]: bin i is [e[i], e[i+1]), the last bin closed. */
function linear(e: number[], x: number): number {
  const k = e.length - 1;
  if (x < e[0]!) return 0;
  if (x > e[k]!) return k + 1;
  for (let i = 0; i < k - 1; i++) if (x < e[i + 1]!) return i + 1;
  return k;
}

const edgesArb = fc
  .uniqueArray(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: -20, max: 20 }), fc.double({ min: -1e-3, max: 1e-3, noNaN: true })), { minLength: 2, maxLength: 40, comparator: (a, b) => a === b || (a === 0 && b === 0) })
  .map((a) => a.sort((x, y) => x - y));

describe('BinLookup', () => {
  it('agrees with a linear scan for every value, edges included', () => {
    fc.assert(
      fc.property(edgesArb, fc.array(fc.oneof(fc.double({ noNaN: true }), fc.double({ min: -25, max: 25, noNaN: true })), { maxLength: 30 }), (edges, xs) => {
        const b = new BinLookup(edges);
        // the edges themselves, their float neighbours and the values given
        const probes = [...xs, ...edges, ...edges.map((e) => e + Math.abs(e) * 1e-15 + 1e-300), ...edges.map((e) => e - Math.abs(e) * 1e-15 - 1e-300), Infinity, -Infinity];
        for (const x of probes) assert.equal(b.index(x), linear(edges, x), `x=${x} edges=${edges.join(',')}`);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('handles a very uneven edge set and a span that overflows', () => {
    const uneven = [0, 1e-9, 2e-9, 1, 1e9];
    const b = new BinLookup(uneven);
    for (const x of [0, 5e-10, 1e-9, 1.5e-9, 2e-9, 0.5, 1, 2, 1e9, 1e9 + 1, -1]) assert.equal(b.index(x), linear(uneven, x), `x=${x}`);
    const huge = [-1.7e308, 0, 1.7e308];
    const h = new BinLookup(huge);
    for (const x of [-1.7e308, -1, 0, 1, 1.7e308, Infinity]) assert.equal(h.index(x), linear(huge, x), `x=${x}`);
  });
});

describe('latencyIndex', () => {
  it('puts every latency in the same bucket as the shared latencyBucket()', () => {
    const around = LATENCY_BOUNDS_MS.flatMap((b) => [b, b * (1 - 1e-15), b * (1 + 1e-15), b * 0.9, b * 1.1]);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 50 }), (xs) => {
        for (const ms of [...xs, ...around, 0, 1e-300, 1e300, Infinity]) assert.equal(latencyIndex(ms), latencyBucket(ms), `ms=${ms}`);
      }),
      { seed: 11, numRuns: 100 },
    );
  });
});
