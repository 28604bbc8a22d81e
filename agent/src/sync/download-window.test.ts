// The window of one download (pure; the wiring with a real broker is in downloader.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { advancePrefix, nextRequest, rewind, wantedBlock, type ActiveDownload } from './download-window.js';

const B = 4; // block size
function download(size: number, committed = 0): ActiveDownload {
  return { sha256: 'ab'.repeat(32), size, fd: -1, committed, received: new Map(), nextOffset: committed, lastCommit: committed, stallTimer: null, stalls: 0, resolve: () => undefined, reject: () => undefined, onProgress: undefined };
}

describe('download window', () => {
  it('asks for at most `window` blocks past the prefix, the last one short', () => {
    const a = download(10 * B + 1);
    assert.deepEqual(nextRequest(a, 3, B), { offset: 0, count: 3 });
    assert.equal(nextRequest(a, 3, B), undefined, 'the window is full');
    a.received.set(0, B);
    assert.equal(advancePrefix(a), true);
    assert.equal(a.committed, B);
    assert.deepEqual(nextRequest(a, 3, B), { offset: 3 * B, count: 1 });
    a.committed = 9 * B;
    a.nextOffset = 9 * B;
    assert.deepEqual(nextRequest(a, 3, B), { offset: 9 * B, count: 2 }, 'up to the size, not past it');
    assert.equal(a.nextOffset, 11 * B);
  });

  it('takes only blocks asked for, whole and not yet held', () => {
    const a = download(3 * B - 1, B);
    nextRequest(a, 8, B);
    assert.equal(wantedBlock(a, B, B, B), true);
    assert.equal(wantedBlock(a, 0, B, B), false, 'inside the prefix');
    assert.equal(wantedBlock(a, B + 1, B, B), false, 'not on a block boundary');
    assert.equal(wantedBlock(a, B, B - 1, B), false, 'a short block');
    assert.equal(wantedBlock(a, 2 * B, B - 1, B), true, 'the last block is shorter');
    a.received.set(B, B);
    assert.equal(wantedBlock(a, B, B, B), false, 'held already');
    rewind(a);
    assert.equal(a.received.size, 0);
    assert.equal(a.nextOffset, B);
    assert.equal(wantedBlock(a, B, B, B), false, 'not asked for since the rewind');
  });

  it('grows the prefix only over contiguous blocks', () => {
    const a = download(4 * B);
    a.received.set(B, B);
    a.received.set(3 * B, B);
    assert.equal(advancePrefix(a), false);
    a.received.set(0, B);
    assert.equal(advancePrefix(a), true);
    assert.equal(a.committed, 2 * B);
    assert.deepEqual([...a.received.keys()], [3 * B]);
  });
});
