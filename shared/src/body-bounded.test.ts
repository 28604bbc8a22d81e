import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAtMost } from './body-bounded.js';

/** A body of `chunks` chunks of `size` bytes (byte i of chunk k is k), noting whether it was cancelled and how many chunks were pulled. */
function body(chunks: number, size: number) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.pulled === chunks) { c.close(); return; }
      c.enqueue(new Uint8Array(size).fill(seen.pulled++));
    },
    cancel() { seen.cancelled = true; },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

test('readAtMost: a body shorter than the bound is read whole', async () => {
  const { stream } = body(3, 10);
  const bytes = await readAtMost(stream, 100);
  assert.equal(bytes.byteLength, 30);
  assert.deepEqual([bytes[0], bytes[10], bytes[29]], [0, 1, 2]);
});

test('readAtMost: an endless body gives exactly the bound, and the rest is cancelled, not read', async () => {
  const { stream, seen } = body(Number.MAX_SAFE_INTEGER, 1000);
  const bytes = await readAtMost(stream, 2500);
  assert.equal(bytes.byteLength, 2500);
  assert.equal(bytes[2499], 2, 'the third chunk cut at the bound');
  assert.equal(seen.cancelled, true);
  assert.ok(seen.pulled <= 4, `pulled ${seen.pulled} chunks for 2500 bytes`);
});

test('readAtMost: no body is no bytes', async () => {
  assert.equal((await readAtMost(null, 10)).byteLength, 0);
});
