// Backup and restore onto a full disk (docs/operations.md "Backup and restore"): --out and --data-dir on
// a real tmpfs of 2 MiB (examples' smallDisk; skipped where mount(8) is refused) and a hub whose data
// dir holds 3 MiB. Each fails with DISK_FULL naming the directory and the room it needed, keeps nothing
// (the backup's --out is gone, the restore's data dir empty), and works once there is room. A directory to
// be made on a read-only mount is refused naming the flag and EROFS (Node's recursive mkdir said ENOENT).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { smallDisk, type SmallDisk } from '@edgefleet/examples';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { hubServerCli } from './main.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('backup-disk-full', () => {
  const disk: SmallDisk | string = smallDisk(2 << 20);
  let dir = '';

  async function hubCli(argv: string[]): Promise<{ code: number; stderr: string }> {
    const err = new StringWriter();
    const code = await dispatch(hubServerCli, argv, { stdout: new StringWriter(), stderr: err, env: {}, cwd: dir, now: () => new Date() });
    return { code, stderr: err.text };
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backup-full-'));
  });
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backup and restore on a full disk: DISK_FULL naming where and how much, nothing kept; both work with room', { skip: typeof disk === 'string' ? disk : false }, async () => {
    const d = disk as SmallDisk;
    const data = join(dir, 'hub');
    const store = Store.open(data, HUB_MIGRATIONS);
    try {
      // A 3 MiB bundle blob: more than the small disk holds.
      const blob = Buffer.alloc(3 << 20, 7);
      const sha = createHash('sha256').update(blob).digest('hex');
      mkdirSync(join(data, 'blobs', 'sha256', sha.slice(0, 2)), { recursive: true });
      writeFileSync(join(data, 'blobs', 'sha256', sha.slice(0, 2), sha), blob);
      store.db.prepare('INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?)').run(sha, blob.length, new Date().toISOString());

      const out = join(d.dir, 'backup');
      const b = await hubCli(['backup', '--data-dir', data, '--out', out]);
      assert.equal(b.code, 1, b.stderr);
      assert.match(b.stderr, new RegExp(`^error \\[DISK_FULL\\]: backup: cannot write it to --out ${out}: disk full: ENOSPC.*\\(expected room there for about \\d{7} bytes, the data dir's size; nothing of the backup was kept\\)\\n$`));
      assert.deepEqual(readdirSync(d.dir), [], 'the --out it made is gone');

      const elsewhere = join(dir, 'backup');
      assert.equal((await hubCli(['backup', '--data-dir', data, '--out', elsewhere])).code, 0);
      const target = join(d.dir, 'restored');
      const r = await hubCli(['restore', '--from', elsewhere, '--data-dir', target]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^error \\[DISK_FULL\\]: restore: cannot write it to --data-dir ${target}: disk full: ENOSPC.*\\(expected room there for \\d{7} bytes, the backup's size; the data dir was left empty\\)\\n$`));
      assert.deepEqual(readdirSync(target), [], 'the data dir is left empty, the restore marker too');

      // Room again (a bigger disk: here the same backup restored beside it): the same restore works.
      const roomy = join(dir, 'restored');
      const again = await hubCli(['restore', '--from', elsewhere, '--data-dir', roomy]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(readdirSync(join(roomy, 'blobs', 'sha256', sha.slice(0, 2))), [sha]);
    } finally {
      store.close();
    }
  });

  it('backup --out and restore --data-dir on a read-only mount: IO_ERROR naming the flag, EROFS and what to do', { skip: typeof disk === 'string' ? disk : false }, async (t) => {
    const data = join(dir, 'hub-ro');
    Store.open(data, HUB_MIGRATIONS).close();
    const backup = join(dir, 'backup-ro');
    assert.equal((await hubCli(['backup', '--data-dir', data, '--out', backup])).code, 0);
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    if (spawnSync('mount', ['--bind', ro, ro]).status !== 0) return t.skip('mount --bind is not allowed here');
    try {
      assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status, 0);
      const expected = (flag: string, p: string) => `^error \\[IO_ERROR\\]: ${flag} ${p} is on a read-only file system and this process may not create it in ${ro} \\(EROFS\\): expected a writable one: remount it read-write .*ReadWritePaths=\\n$`;
      const out = join(ro, 'new', 'backup');
      const b = await hubCli(['backup', '--data-dir', data, '--out', out]);
      assert.equal(b.code, 1, b.stderr);
      assert.match(b.stderr, new RegExp(expected('--out', out)));
      const target = join(ro, 'restored');
      const r = await hubCli(['restore', '--from', backup, '--data-dir', target]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(expected('--data-dir', target)));
    } finally {
      spawnSync('umount', [ro]);
    }
  });
});
