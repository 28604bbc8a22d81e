// Temp files of blob writes at agent start (store/blobs.ts `cleanTmp`): a leftover of an interrupted
// write (idle for TMP_GRACE_MS) goes; a file an install in another process is writing now (the CLI
// beside a daemon that starts) stays, so that install is not broken under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { BLOB_GRACE_MS } from '../install/prune.js';
import { BlobStore, TMP_GRACE_MS, writerTag } from './blobs.js';

test('cleanTmp removes idle leftovers and keeps a write in progress', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-blobs-tmp-'));
  try {
    const blobs = new BlobStore(root);
    assert.equal(await blobs.cleanTmp(), 0, 'no tmp dir yet: nothing to do');
    const dir = join(root, 'tmp');
    mkdirSync(dir, { recursive: true });
    const writing = join(dir, 'aaaa.1.part');
    const left = join(dir, 'bbbb.2.part');
    writeFileSync(writing, 'being written');
    writeFileSync(left, 'interrupted');
    const old = (Date.now() - TMP_GRACE_MS - 60_000) / 1000;
    utimesSync(left, old, old);
    assert.equal(await blobs.cleanTmp(), 1);
    assert.equal(existsSync(writing), true, 'the write in progress keeps its file');
    assert.equal(existsSync(left), false, 'the leftover is gone');
    assert.equal(await blobs.cleanTmp(Date.now() + TMP_GRACE_MS + 1), 1, 'once idle long enough it goes too');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cleanTmp removes at once a temp file whose writer is gone, and keeps a live writer\'s', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-blobs-tmp-'));
  try {
    const blobs = new BlobStore(root);
    const dir = join(root, 'tmp');
    mkdirSync(dir, { recursive: true });
    const name = (tag: string) => join(dir, `${'ab'.repeat(8)}.${tag}.${'0'.repeat(12)}.part`);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that ran and exited
    const live = name(writerTag(process.ppid)); // the test runner: an install in another process
    const dead = name(`${gone}-00000000`); // (a hash of no process, should the pid be reused meanwhile)
    const reused = name(`${process.ppid}-00000000`); // the pid, now another process's
    const mine = name(`${process.pid}-00000000`); // an earlier process with this pid (a container's pid 1)
    for (const f of [live, dead, reused, mine]) writeFileSync(f, 'partial');
    assert.equal(await blobs.cleanTmp(), 3);
    assert.equal(existsSync(live), true, 'a live writer keeps its file');
    for (const f of [dead, reused, mine]) assert.equal(existsSync(f), false, `${f} is a leftover`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a file stamped ahead of the clock (written while it was 30 days ahead) goes once idle for the grace from now, not 30 days later', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-blobs-ahead-'));
  try {
    const blobs = new BlobStore(root);
    const sha = createHash('sha256').update('model').digest('hex');
    await blobs.write(sha, 5, 'a model file', async (w) => w(Buffer.from('model')));
    mkdirSync(join(root, 'tmp'), { recursive: true });
    const left = join(root, 'tmp', 'cccc.2.part');
    writeFileSync(left, 'interrupted');
    const ahead = (Date.now() + 30 * 86_400_000) / 1000;
    utimesSync(blobs.pathOf(sha), ahead, ahead);
    utimesSync(left, ahead, ahead);
    const now = Date.now();
    assert.equal(await blobs.removeIfIdle(sha, BLOB_GRACE_MS, now), false, 'its grace starts now');
    assert.equal(await blobs.cleanTmp(now), 0, 'its grace starts now');
    assert.equal(await blobs.removeIfIdle(sha, BLOB_GRACE_MS, now + BLOB_GRACE_MS - 1), false, 'still within the grace');
    assert.equal(await blobs.removeIfIdle(sha, BLOB_GRACE_MS, now + BLOB_GRACE_MS), true, 'idle for the grace: it goes');
    assert.equal(existsSync(blobs.pathOf(sha)), false);
    assert.equal(await blobs.cleanTmp(now + TMP_GRACE_MS), 1, 'the leftover temp file too');
    assert.equal(existsSync(left), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
