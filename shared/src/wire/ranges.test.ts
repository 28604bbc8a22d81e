import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inRanges, rangesSize, toRanges } from './ranges.js';

test('ranges compress and keep membership', () => {
  assert.deepEqual(toRanges([5, 1, 2, 3, 3, 9, 10]), [[1, 3], [5, 5], [9, 10]]);
  assert.deepEqual(toRanges([]), []);
});

test('property: a seq is in the ranges iff it was given', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 80 }), (seqs) => {
      const r = toRanges(seqs);
      const set = new Set(seqs);
      assert.equal(rangesSize(r), set.size);
      for (let s = 1; s <= 201; s++) assert.equal(inRanges(s, r), set.has(s));
    }),
    { seed: 42, numRuns: 200 },
  );
});
