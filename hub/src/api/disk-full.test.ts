// A model push on a full disk (docs/operations.md, troubleshooting "the hub's disk fills"): the hub's
// data dir on a real tmpfs of a few MiB (examples' smallDisk; skipped where mount(8) is refused). The
// upload that does not fit is refused as 507 DISK_FULL naming the directory, at once (it used to hang
// for ever, its half-written .part left on the disk), nothing is kept, and the same push succeeds once
// space is back. A push whose bundle fits but whose rows do not (SQLITE_FULL at commit) leaves no
// blob file that no row names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, smallDisk, type BundleResult, type Keys, type SmallDisk } from '@edgefleet/examples';
import { type TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import { makeHarness, type Harness } from '../testing/harness.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('disk-full', () => {
  let dir: string;
  let keys: Keys;
  let trust: TrustBody;
  let bundle: BundleResult;
  const disk: SmallDisk | string = smallDisk(6 << 20);
  const skip = typeof disk === 'string' ? disk : false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-full-push-'));
    keys = makeKeys(join(dir, 'keys'));
    trust = makeTrust(dir, keys).body;
    bundle = await buildMultiBundle({ dir: join(dir, 'b'), keys, version: '1.0.0' });
  });
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  function harness(root: string): Harness {
    return makeHarness({
      root, keys,
      verifyBundle: bundleVerifier(() => trust),
    });
  }

  const push = (h: Harness) => h.req('POST', '/api/v1/models', { role: 'operator', body: new Uint8Array(readFileSync(bundle.path)), headers: { 'content-type': 'application/octet-stream' } });
  /** Every file under the hub's blobs/ (sha256/ and tmp/): what a push left on the disk. */
  const blobFiles = (h: Harness): string[] => {
    const root = join(h.dir, 'blobs');
    return existsSync(root) ? (readdirSync(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name) : [];
  };
  const versions = async (h: Harness) => ((await (await h.req('GET', '/api/v1/models', { role: 'viewer' })).json()) as { versions: unknown[] }).versions.length;

  test('a bundle the disk cannot hold: 507 DISK_FULL naming the directory, at once; nothing kept; pushed again once space is back', { skip }, async () => {
    const d = disk as SmallDisk;
    const h = harness(d.dir);
    try {
      d.fill(Math.floor(bundle.size / 2));
      const r = await push(h);
      const text = await r.text();
      assert.equal(r.status, 507, text);
      const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'DISK_FULL');
      assert.match(e.message, new RegExp(`^bundle upload: cannot store it under ${join(h.dir, 'blobs', 'tmp')}: disk full: ENOSPC.*free space on the hub's disk, then push again\\)$`));
      assert.deepEqual(blobFiles(h), [], 'the half-written upload is removed');
      assert.equal(await versions(h), 0);
      assert.ok(d.available() >= Math.floor(bundle.size / 2) - 8192, 'the space the upload took is given back');

      d.free();
      const again = await push(h);
      assert.equal(again.status, 201, await again.clone().text());
      assert.equal(await versions(h), 1);
      assert.equal(blobFiles(h).length, 1);
    } finally {
      h.close();
      d.free();
    }
  });

  test('a bundle that fits but whose rows do not (SQLITE_FULL at commit): 507 DISK_FULL, no blob file left that no row names', { skip }, async () => {
    const d = disk as SmallDisk;
    const h = harness(d.dir);
    try {
      // The database may not grow by a page, and the push's transaction needs pages: its blob row brings
      // a 64 KiB one with it (a temp trigger), so the disk is full at that commit whatever room the pages have.
      const db = h.store.db;
      db.prepare('CREATE TABLE ballast (b BLOB)').run();
      db.prepare('CREATE TEMP TRIGGER grow AFTER INSERT ON main.blobs BEGIN INSERT INTO ballast VALUES (zeroblob(65536)); END').run();
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const r = await push(h);
      const text = await r.text();
      assert.equal(r.status, 507, text);
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'DISK_FULL');
      assert.deepEqual(blobFiles(h), [], 'the blob placed for the failed transaction is removed');
      assert.equal(await versions(h), 0);

      db.pragma('max_page_count = 1073741823');
      db.prepare('DROP TRIGGER grow').run();
      const again = await push(h);
      assert.equal(again.status, 201, await again.clone().text());
      assert.equal(blobFiles(h).length, 1);
    } finally {
      h.close();
    }
  });
});
