// A download onto a full disk (docs/agent.md "Connecting to a hub", model delivery): the downloader's
// dir on a real tmpfs of 1 MiB (examples' smallDisk; skipped where mount(8) is refused). A block the
// disk refuses fails the fetch with DISK_FULL naming the directory, at once, and the partial file goes,
// giving its room back. Before, the error was taken for an invalid message from the hub: the block was
// asked again after every stall, for ever. With room again, the same blob downloads from the start.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { smallDisk, type SmallDisk } from '@edgefleet/examples';
import { BlobDownloader } from './downloader.js';
import { MemStore } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('download-disk-full', () => {
  const disk: SmallDisk | string = smallDisk(1 << 20);
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
  });


  test('a block the disk refuses fails the download with DISK_FULL and removes the partial; with room it downloads again', { skip: typeof disk === 'string' ? disk : false }, async () => {
    const d = disk as SmallDisk;
    const blob = randomBytes(600_000);
    const sha = createHash('sha256').update(blob).digest('hex');
    let target: BlobDownloader | null = null;
    const store = new MemStore();
    const dl = new BlobDownloader({
      dir: join(d.dir, 'downloads'), store, blockSize: 16_384, window: 8, commitEveryBytes: 65_536, stallMs: 50,
      requester: {
        request(req) {
          for (let i = 0; i < req.count; i++) {
            const off = req.offset + i * req.blockSize;
            if (off >= blob.length) break;
            const bytes = blob.subarray(off, Math.min(off + req.blockSize, blob.length));
            setImmediate(() => target?.deliver({ sha256: sha, offset: off, length: bytes.length, total: blob.length }, Buffer.from(bytes)));
          }
        },
      },
    });
    target = dl;
    d.fill(200_000);
    const free = d.available();
    await assert.rejects(dl.fetch(sha, blob.length), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'DISK_FULL');
      assert.match(e.message, new RegExp(`^download of blob ${sha.slice(0, 12)}…: cannot store it under ${join(d.dir, 'downloads', 'partial')}: disk full: ENOSPC.*\\(expected room for its 600000 bytes; the partial download was removed\\)$`));
      return true;
    });
    assert.deepEqual(readdirSync(join(d.dir, 'downloads', 'partial')), [], 'the partial file is removed');
    assert.equal(store.get(sha), null, 'with its progress');
    assert.ok(d.available() >= free - 8192, `its room is given back: ${d.available()} of ${free} bytes free`);

    d.free();
    const path = await dl.fetch(sha, blob.length);
    assert.deepEqual(readFileSync(path), blob);
  });
});
