import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { BlobGet } from '@edgefleet/shared';
import { BlobDownloader } from './downloader.js';
import { MemStore } from './testing.js';
import { waitFor } from '@edgefleet/examples';


/** Serves blocks of `blob` asynchronously; `mangle` may drop (null) or alter a block. */
function server(blob: Buffer, sha: string, mangle: (offset: number, b: Buffer) => Buffer | null = (_o, b) => b) {
  const requests: BlobGet[] = [];
  let target: BlobDownloader | null = null;
  return {
    requests,
    attach(d: BlobDownloader) { target = d; },
    request(req: BlobGet) {
      requests.push(req);
      for (let i = 0; i < req.count; i++) {
        const off = req.offset + i * req.blockSize;
        if (off >= blob.length) break;
        const bytes = mangle(off, blob.subarray(off, Math.min(off + req.blockSize, blob.length)));
        if (!bytes) continue;
        setImmediate(() => target?.deliver({ sha256: sha, offset: off, length: bytes.length, total: blob.length }, Buffer.from(bytes)));
      }
    },
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('downloads a blob in windows and moves only a verified file into place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = randomBytes(300_000);
  const sha = sha256(blob);
  const srv = server(blob, sha);
  const progress: number[] = [];
  const d = new BlobDownloader({ dir, store: new MemStore(), requester: srv, blockSize: 4096, window: 4, onProgress: (_s, r) => progress.push(r) });
  srv.attach(d);
  const path = await d.fetch(sha, blob.length);
  assert.deepEqual(readFileSync(path), blob);
  assert.equal(progress.at(-1), blob.length);
  assert.ok(srv.requests.every((r) => r.count <= 4));
  assert.equal(existsSync(join(dir, 'partial', `${sha}.part`)), false);
});

test('a lost block is asked for again after a stall, and the download completes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = randomBytes(50_000);
  const sha = sha256(blob);
  let dropped = 0;
  const srv = server(blob, sha, (off, b) => (off === 8192 && dropped++ === 0 ? null : b));
  const d = new BlobDownloader({ dir, store: new MemStore(), requester: srv, blockSize: 4096, window: 4, stallMs: 50 });
  srv.attach(d);
  assert.deepEqual(readFileSync(await d.fetch(sha, blob.length)), blob);
  assert.equal(dropped, 2);
});

test('a tampered block fails the hash check: nothing is moved into place and progress is reset', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = randomBytes(20_000);
  const sha = sha256(blob);
  const store = new MemStore();
  const srv = server(blob, sha, (off, b) => (off === 4096 ? Buffer.from(b).fill(0, 0, 10) : b));
  const d = new BlobDownloader({ dir, store, requester: srv, blockSize: 4096, window: 2 });
  srv.attach(d);
  await assert.rejects(d.fetch(sha, blob.length), (e: Error & { code?: string }) => e.code === 'HASH_MISMATCH' && /expected/.test(e.message));
  assert.equal(existsSync(d.finalPath(sha)), false);
  assert.equal(store.get(sha), null);
});

test('after a crash the download resumes from the last durable commit, not from zero', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = randomBytes(64 * 1024);
  const sha = sha256(blob);
  const store = new MemStore();
  // First life: only the first 10 blocks are ever served, then the process "dies".
  const srv1 = server(blob, sha, (off, b) => (off < 10 * 1024 ? b : null));
  const d1 = new BlobDownloader({ dir, store, requester: srv1, blockSize: 1024, window: 4, commitEveryBytes: 4096, stallMs: 60_000 });
  srv1.attach(d1);
  const first = d1.fetch(sha, blob.length);
  // 10 blocks arrive; commits happen every 4096 bytes: the store records 8192 and no more.
  const rec = await waitFor('the first life committed 8192 bytes', () => { const r = store.get(sha); return r?.committed === 8192 ? r : undefined; }, { timeoutMs: 10_000, intervalMs: 5 });
  // "Crash": stop timers, then put back what was durable before it, and garbage past the commit.
  d1.stop();
  await assert.rejects(first, /download stopped/);
  store.save(rec);
  writeFileSync(join(dir, 'partial', `${sha}.part`), Buffer.concat([blob.subarray(0, 8192), Buffer.alloc(5000, 1)]));
  // Second life resumes at 8192.
  const srv2 = server(blob, sha);
  const d2 = new BlobDownloader({ dir, store, requester: srv2, blockSize: 1024, window: 4 });
  srv2.attach(d2);
  assert.deepEqual(readFileSync(await d2.fetch(sha, blob.length)), blob);
  assert.equal(srv2.requests[0]?.offset, 8192);
});

test('a hub error frame or a size disagreement fails the download with a clear error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sha = 'c'.repeat(64);
  let d!: BlobDownloader;
  d = new BlobDownloader({ dir, store: new MemStore(), requester: { request: () => setImmediate(() => d.deliver({ sha256: sha, offset: 0, length: 0, total: 0, error: { code: 'NOT_FOUND', message: 'no such blob' } }, Buffer.alloc(0))) } });
  await assert.rejects(d.fetch(sha, 10), (err: Error & { details?: unknown }) => {
    assert.match(err.message, /hub refused blob .*NOT_FOUND: no such blob/);
    // The updater reads this to tell a blob no longer assigned (superseded) from a failed install.
    assert.deepEqual(err.details, { hubRefused: 'NOT_FOUND' });
    return true;
  });
  d = new BlobDownloader({ dir, store: new MemStore(), requester: { request: () => setImmediate(() => d.deliver({ sha256: sha, offset: 0, length: 1, total: 99, }, Buffer.alloc(1))) } });
  await assert.rejects(d.fetch(sha, 10), /99 bytes on the hub, expected 10/);
});

test('a hub that does not answer is asked again less and less often, up to maxStallMs; a block that arrives starts over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = randomBytes(8192);
  const sha = sha256(blob);
  const at: number[] = [];
  let answer = false;
  let target: BlobDownloader | null = null;
  const d = new BlobDownloader({
    dir, store: new MemStore(), blockSize: 4096, window: 1, stallMs: 10, maxStallMs: 400,
    requester: {
      request(req) {
        at.push(Date.now());
        if (!answer) return;
        answer = false; // one block, then silence again
        setImmediate(() => target?.deliver({ sha256: sha, offset: req.offset, length: 4096, total: blob.length }, blob.subarray(req.offset, req.offset + 4096)));
      },
    },
  });
  target = d;
  const done = d.fetch(sha, blob.length);
  const gap = (i: number) => (at[i] as number) - (at[i - 1] as number);
  await waitFor('six requests', () => at.length >= 6 || undefined);
  // Waits of 10, 20, 40, 80 and 160 ms (310 in all, not 5 × 10) lie between the first and the sixth.
  // A timer can fire early by Date.now() (libuv counts from the loop's cached time, taken before the
  // request was stamped), so the bounds leave slack far above what no doubling would give.
  assert.ok((at[5] as number) - (at[0] as number) >= 280, `the sixth request ${(at[5] as number) - (at[0] as number)} ms after the first`);
  await waitFor('two more', () => at.length >= 8 || undefined);
  assert.ok(gap(6) >= 300 && gap(7) >= 380, `then 320 ms, then capped at maxStallMs: ${gap(6)}, ${gap(7)}`);
  // A block arrives (and the next one is asked at once): the wait after that is stallMs again, not 400 ms.
  answer = true;
  const n = at.length;
  await waitFor('the block, the next request and the one after its stall', () => at.length >= n + 3 || undefined, { timeoutMs: 10_000 });
  // About 10 ms; anything well under the 400 ms cap shows the start over, however busy the machine.
  assert.ok(gap(n + 2) < 300, `asked again ${gap(n + 2)} ms after a block arrived`);
  answer = true;
  assert.deepEqual(readFileSync(await done), blob);
});

test('progress recorded for a partial file that is gone (removed after a refused write, or by hand) starts from 0, not from zeros', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = randomBytes(20_000);
  const sha = sha256(blob);
  const store = new MemStore();
  store.save({ sha256: sha, size: blob.length, committed: 8192 });
  const srv = server(blob, sha);
  const d = new BlobDownloader({ dir, store, requester: srv, blockSize: 4096, window: 4 });
  srv.attach(d);
  assert.deepEqual(readFileSync(await d.fetch(sha, blob.length)), blob);
  assert.equal(srv.requests[0]?.offset, 0);
});
