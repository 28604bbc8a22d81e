// The disk band that makes the agent report its state again (disk-space.ts), on a real tmpfs (examples'
// smallDisk; the band arithmetic runs everywhere).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { smallDisk, waitFor, type SmallDisk } from '@edgefleet/examples';
import { readDiskSpace } from '@edgefleet/shared/core';
import { DiskWatch, diskBand } from './disk-space.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('disk-space', () => {
  const disk: SmallDisk | string = smallDisk(4 << 20);
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
  });

  test('bands: at least 10% free, then under 10%, 5%, 1%; an empty filesystem reads as free', () => {
    const band = (free: number) => diskBand({ free, total: 1000 });
    assert.deepEqual([1000, 100, 99, 50, 49, 10, 9, 0].map(band), [0, 0, 1, 1, 2, 2, 3, 3]);
    assert.equal(diskBand({ free: 0, total: 0 }), 0);
    assert.equal(readDiskSpace('/no/such/dir'), undefined);
  });

  test('a filling disk changes band and asks for a state report; read() sets the band reported', { skip: typeof disk === 'string' ? disk : false }, async () => {
    const d = disk as SmallDisk;
    let asked = 0;
    const w = new DiskWatch(d.dir, () => { asked++; }, 10);
    try {
      const first = w.read()!;
      assert.equal(first.total, 4 << 20);
      assert.ok(first.free > 0.9 * first.total, JSON.stringify(first));
      w.start();
      d.fill(first.total * 0.03); // 3% left: band 2
      await waitFor('a report asked for', () => asked > 0 || undefined, { timeoutMs: 10_000, intervalMs: 10 });
      const now = w.read()!;
      assert.equal(diskBand(now), 2, JSON.stringify(now));
      // The report read the disk (as the client's does): the next ask comes with the next change of band.
      const after = asked;
      d.free();
      await waitFor('the freed disk asks again', () => asked > after || undefined, { timeoutMs: 10_000, intervalMs: 10 });
      assert.equal(diskBand(w.read()!), 0);
    } finally {
      w.stop();
      d.free();
    }
  });
});
