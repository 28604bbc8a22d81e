// The remembered rollup rows stay within their byte bound, dropping the least recently written first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RollupRowCache, rowBytes, type StoredRow } from './rollups-cache.js';

const row = (n: number): StoredRow => ({ windows: n, count: n, errModel: 0, errInput: 0, errLoad: 0, errors: '{}', dist: new Uint8Array(500), mom: new Uint8Array(680), lat: new Uint8Array(48), perf: null });

test('the cache holds at most its bytes, dropping the least recently written rows', () => {
  const one = rowBytes(row(1));
  const cache = new RollupRowCache(one * 10);
  for (let i = 0; i < 25; i++) cache.set(`k${i}`, row(i), 3600, 0);
  assert.equal(cache.size, 10);
  assert.equal(cache.bytes, one * 10);
  assert.equal(cache.get('k14'), undefined, 'older rows dropped');
  assert.equal(cache.get('k15')?.windows, 15);
  // Writing k15 again makes it the most recent: the next rows drop k16.. first.
  cache.set('k15', row(115), 3600, 0);
  cache.set('k25', row(25), 3600, 0);
  assert.equal(cache.get('k16'), undefined);
  assert.equal(cache.get('k15')?.windows, 115);
  assert.equal(cache.size, 10);
  cache.delete('k15');
  assert.equal(cache.bytes, one * 9);
  cache.clear();
  assert.deepEqual([cache.size, cache.bytes], [0, 0]);
});

test('a row larger than the whole bound is not kept', () => {
  const cache = new RollupRowCache(100);
  cache.set('big', row(1), 3600, 0);
  assert.equal(cache.size, 0);
  assert.equal(cache.bytes, 0);
});

test('rows of an hour (day) that is over are dropped when a later one is written, and not remembered after', () => {
  const cache = new RollupRowCache();
  const H = 3_600_000;
  cache.set('h0-a', row(1), 3600, 0);
  cache.set('h0-b', row(2), 3600, 0);
  cache.set('d0-a', row(3), 86_400, 0);
  cache.set('h1-a', row(4), 3600, H);
  assert.equal(cache.get('h0-a'), undefined);
  assert.equal(cache.get('h0-b'), undefined);
  assert.equal(cache.get('d0-a')?.windows, 3, 'the day row stays: its day is not over');
  assert.equal(cache.get('h1-a')?.windows, 4);
  cache.set('h0-c', row(5), 3600, 0);
  assert.equal(cache.get('h0-c'), undefined, 'a late row of an earlier hour is not remembered');
  assert.equal(cache.size, 2);
  assert.equal(cache.bytes, rowBytes(row(3)) + rowBytes(row(4)));
});
