import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addLatBlob, BlobScratch, decodeDist, decodeMom, encodeDist, encodeLat, encodeMom, encodePerf } from './blobs.js';

test('dist blobs: 2, 4 or 8 bytes a count, through the scratch and the plain encoder alike', () => {
  const s = new BlobScratch();
  for (const [values, width] of [[[0, 1, 65535], 2], [[0, 65536, 7], 4], [[0.5, 1, 2], 8], [[2 ** 40, 1, 0], 8]] as const) {
    const d = Float64Array.from(values);
    const a = s.dist(d);
    const b = encodeDist(d);
    assert.equal(a.length, values.length * width);
    assert.deepEqual([...a], [...b]);
    assert.deepEqual(Array.from(decodeDist(a, values.length)), [...values]);
  }
});

test('mom, lat and perf blobs: the same bytes both ways, and they decode back', () => {
  const s = new BlobScratch();
  const mom = Float64Array.from([3, 1.5, 0.25, Number.NaN, 7]);
  assert.deepEqual([...s.mom(mom)], [...encodeMom(mom)]);
  assert.deepEqual([...decodeMom(encodeMom(mom))], [...mom]);
  const lat = new Float64Array(10);
  lat[0] = 12.5;
  lat[1] = 1;
  lat[4] = 3;
  lat[9] = 2;
  const sparse = s.lat(lat);
  assert.deepEqual([...sparse], [...encodeLat(lat)]);
  assert.deepEqual([...decodeMom(sparse)], [12.5, 1, 2, 3, 7, 2]);
  const back = new Float64Array(10);
  addLatBlob(back, sparse);
  assert.deepEqual([...back], [...lat]);
  assert.equal(s.perf(new Float64Array(4)), null);
  assert.equal(encodePerf(new Float64Array(4)), null);
  const perf = Float64Array.from([0, 2, 0, 1]);
  assert.deepEqual([...(s.perf(perf) as Buffer)], [...(encodePerf(perf) as Buffer)]);
});

test('the scratch grows for longer vectors; plain encoders return copies no later call changes', () => {
  const s = new BlobScratch();
  const big = Float64Array.from({ length: 3000 }, (_, i) => i + 0.5); // 24,000 bytes: past the first buffer
  assert.deepEqual(Array.from(decodeDist(s.dist(big), big.length)), [...big]);
  const first = encodeDist(Float64Array.from([1, 2, 3]));
  const firstBytes = [...first];
  encodeDist(Float64Array.from([9, 9, 9]));
  encodeMom(Float64Array.from([4, 4, 4]));
  assert.deepEqual([...first], firstBytes);
  // A scratch view is valid until the same method is called again; other methods leave it alone.
  const view = s.dist(Float64Array.from([5, 6]));
  s.mom(Float64Array.from([8, 8]));
  s.lat(Float64Array.from([1, 0, 3]));
  assert.deepEqual(Array.from(decodeDist(view, 2)), [5, 6]);
});
