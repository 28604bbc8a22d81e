// The replay check's pieces on the box (replay.ts): the buffer of recent requests keeps the newest per
// model within its entry and byte bounds (at the byte bound kept, oldest dropped first past it, a request
// over the bound alone not kept) and hands out only requests another version answered; the largest
// absolute difference covers float outputs of the same name and length only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedTensor } from '../runtime/recorder.js';
import { RecentRequests, maxAbsDiff } from './replay.js';

const t = (name: string, data: number[], datatype = 'FP32'): RecordedTensor => ({ name, datatype, shape: [data.length], data: Float32Array.from(data) }) as unknown as RecordedTensor;

test('recent requests: the newest per model, within the entry and byte bounds', () => {
  const r = new RecentRequests({ perModel: 3, bytes: 100 });
  for (let i = 0; i < 5; i++) r.add('m', '1.0.0', [t('x', [i])], [t('y', [i])]); // 8 bytes each
  assert.deepEqual(r.take('m', 10, '2.0.0').map((x) => (x.feeds[0]!.data as Float32Array)[0]), [2, 3, 4], 'the newest three, oldest first');
  assert.equal(r.bytes, 24);
  assert.deepEqual(r.take('m', 2, '2.0.0').map((x) => (x.feeds[0]!.data as Float32Array)[0]), [3, 4]);
  assert.equal(r.take('m', 10, '1.0.0').length, 0, 'requests the candidate itself answered are not replayed');
  r.add('m', '1.0.0', [t('x', new Array<number>(30).fill(1))], []); // 120 bytes: over the bound, not kept
  assert.equal(r.bytes, 24);
  r.add('n', '1.0.0', [t('x', new Array<number>(20).fill(1))], []); // 80 bytes: the oldest go until under 100
  assert.ok(r.bytes <= 100, `bytes ${r.bytes}`);
  assert.equal(r.take('n', 10, 'x').length, 1);
  assert.ok(r.take('m', 10, 'x').length < 3);
  const off = new RecentRequests({ perModel: 0, bytes: 100 });
  off.add('m', '1.0.0', [t('x', [1])], []);
  assert.equal(off.take('m', 10, 'x').length, 0, 'perModel 0 keeps nothing');
});

test('recent requests: at the byte bound kept, one byte past it not', () => {
  const u8 = (n: number): RecordedTensor => ({ name: 'x', datatype: 'UINT8', shape: [n], data: new Uint8Array(n) }) as unknown as RecordedTensor;
  const r = new RecentRequests({ perModel: 20, bytes: 96 });
  for (let i = 0; i < 12; i++) r.add('m', '1.0.0', [t('x', [i])], [t('y', [i])]); // 8 bytes each: 96, exactly the bound
  assert.equal(r.bytes, 96);
  assert.equal(r.take('m', 20, 'x').length, 12, 'all kept at the bound');
  r.add('m', '1.0.0', [t('x', [12])], [t('y', [12])]); // 104: the oldest goes
  assert.equal(r.bytes, 96);
  assert.deepEqual(r.take('m', 20, 'x').map((x) => (x.feeds[0]!.data as Float32Array)[0]), Array.from({ length: 12 }, (_, i) => i + 1));
  r.add('m', '1.0.0', [u8(95)], [u8(1)]); // one request of exactly the bound: kept, every other one goes
  assert.equal(r.bytes, 96);
  assert.deepEqual(r.take('m', 20, 'x').map((x) => x.bytes), [96]);
  r.add('m', '1.0.0', [u8(96)], [u8(1)]); // 97 bytes: never kept, nothing else dropped for it
  assert.equal(r.bytes, 96);
  assert.deepEqual(r.take('m', 20, 'x').map((x) => x.bytes), [96]);
});

test('recent requests: a BYTES tensor counts its strings, so large texts meet the byte bound', () => {
  const text = (chars: number): RecordedTensor => ({ name: 'doc', datatype: 'BYTES', shape: [1], data: ['x'.repeat(chars)] }) as unknown as RecordedTensor;
  const r = new RecentRequests({ perModel: 256, bytes: 1024 * 1024 });
  for (let i = 0; i < 256; i++) r.add('m', '1.0.0', [text(100_000)], [t('y', [i])]);
  assert.ok(r.bytes <= 1024 * 1024, `bytes ${r.bytes}`);
  assert.equal(r.take('m', 256, '2.0.0').length, 5, '5 requests of ~200 KB fit in 1 MiB, not 256');
  r.add('m', '1.0.0', [text(600_000)], []);
  assert.equal(r.take('m', 256, '2.0.0').length, 5, 'a request over the bound (1.2 MB of characters) is not kept');
});

test('max abs diff: float outputs of the same name and length', () => {
  assert.ok(Math.abs((maxAbsDiff([t('y', [0.1, 0.9])], [t('y', [0.15, 0.5])]) ?? 0) - 0.4) < 1e-6, 'the larger of 0.05 and 0.4');
  assert.equal(maxAbsDiff([t('y', [0.1])], [t('z', [0.9])]), null, 'no output of that name');
  assert.equal(maxAbsDiff([t('y', [1, 2])], [t('y', [1])]), null, 'another length');
  assert.equal(maxAbsDiff([t('y', [1], 'INT64')], [t('y', [3], 'INT64')]), null, 'labels are compared by agreement only');
});
