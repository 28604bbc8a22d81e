// copyFileHashed: one streamed pass that copies and hashes (backups of blobs over 2 GiB), a new 0600
// file, fsynced; an existing destination is refused. writeFileAtomic: whole or not at all, no temp left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileHashed, fsyncTree, writeFileAtomic } from './atomic-file.js';
import { sha256File } from './canonical.js';

test('copyFileHashed copies in chunks, returns the sha256 and size of what it copied, and refuses to overwrite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-copy-'));
  try {
    const src = join(dir, 'src.bin');
    const bytes = Buffer.alloc(3 * (1 << 20) + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(src, bytes);
    const ticks: number[] = [];
    const dst = join(dir, 'a', 'b', 'copy.bin');
    const got = await copyFileHashed(src, dst, (n) => ticks.push(n));
    assert.deepEqual(got, await sha256File(src));
    assert.ok(readFileSync(dst).equals(bytes));
    assert.ok(ticks.length >= 4, `read in chunks of at most 1 MiB (${ticks.length} chunks)`);
    assert.equal(ticks.reduce((a, b) => a + b, 0), bytes.length);
    assert.equal(statSync(dst).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700);
    await assert.rejects(copyFileHashed(src, dst), { code: 'EEXIST' });
    fsyncTree(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic replaces a file whole; a rename that fails leaves the old file and no temp file (it may hold a secret)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-atomic-'));
  try {
    const f = join(dir, 'key.json');
    writeFileAtomic(f, 'old\n', 0o600);
    writeFileAtomic(f, 'new\n', 0o600);
    assert.equal(readFileSync(f, 'utf8'), 'new\n');
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const taken = join(dir, 'taken');
    mkdirSync(join(taken, 'child'), { recursive: true }); // a non-empty directory where the file should go: the rename fails
    assert.throws(() => writeFileAtomic(taken, 'secret\n', 0o600), { code: /ENOTEMPTY|EISDIR|EEXIST/ });
    assert.deepEqual(readdirSync(dir).sort(), ['key.json', 'taken']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
