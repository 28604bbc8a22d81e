// encodeBlobs (one allocation, the rollups writer's) gives exactly the bytes of the three encoders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RollupValues } from './values.js';
import { encodeBlobs, encodeDist, encodeLat, encodeMom } from './blobs.js';

function values(dist: number[], lat: number[], mom: number[]): RollupValues {
  return { windows: 1, count: 1, errModel: 0, errInput: 0, errLoad: 0, errors: {}, dist: Float64Array.from(dist), mom: Float64Array.from(mom), lat: Float64Array.from(lat), perf: new Float64Array(0) };
}

test('encodeBlobs gives the bytes of encodeDist, encodeMom and encodeLat for every dist width', () => {
  const mom = [3, 1.5, 0.25, Number.NaN, -0, 7, 1e300, 5e-324];
  const lat = [12.5, 0, 0, 4, 0, 0, 0, 9, 0, 1];
  const cases = [
    [0, 1, 2, 65_535], // Uint16
    [0, 65_536, 3], // Uint32
    [1, 4_294_967_296], // past Uint32: Float64
    [0.5, 2], // not integers: Float64
    [1, 2, 3], // 6 bytes: the moments start at the next multiple of 8
    [], // no counts
  ];
  for (const dist of cases) {
    const v = values(dist, lat, mom);
    const got = encodeBlobs(v);
    assert.deepEqual([...got.dist], [...encodeDist(v.dist)], `dist ${dist.join(',')}`);
    assert.deepEqual([...got.mom], [...encodeMom(v.mom)], `mom after dist ${dist.join(',')}`);
    assert.deepEqual([...got.lat], [...encodeLat(v.lat)], `lat after dist ${dist.join(',')}`);
    assert.equal(got.mom.byteOffset % 8, 0, 'the moments are aligned for a Float64Array view');
  }
  const empty = encodeBlobs(values([1], [0, 0, 0, 0], []));
  assert.deepEqual([...empty.lat], [...encodeLat(Float64Array.from([0, 0, 0, 0]))]);
  assert.equal(empty.mom.byteLength, 0);
});
