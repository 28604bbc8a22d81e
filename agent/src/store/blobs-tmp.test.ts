// Temp files of blob writes at agent start (store/blobs.ts `cleanTmp`): a leftover of an interrupted
// write (idle for TMP_GRACE_MS) goes; a file an install in another process is writing now (the CLI
// beside a daemon that starts) stays, so that install is not broken under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore, TMP_GRACE_MS } from './blobs.js';

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
