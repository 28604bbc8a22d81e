// What a backup directory holds (docs/operations.md "Backup and restore": backup.json lists each file):
// exactly backup.json and the files it lists. The copy of a WAL-mode hub.db is switched to a rollback
// journal, so neither backup (which reads the copy) nor restore (which checks it) leaves hub.db-wal or
// hub.db-shm beside it; the restored hub.db goes back to WAL when a hub opens it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { programArgv } from '@edgefleet/examples';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { hubServerCli } from './main.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('backup-files', () => {
  let dir = '';

  async function hubCli(argv: string[]): Promise<{ code: number; stderr: string }> {
    const err = new StringWriter();
    const code = await dispatch(hubServerCli, argv, { stdout: new StringWriter(), stderr: err, env: {}, cwd: dir, now: () => new Date() });
    return { code, stderr: err.text };
  }

  function filesUnder(root: string, at = root): string[] {
    return readdirSync(at).flatMap((n) => statSync(join(at, n)).isDirectory() ? filesUnder(root, join(at, n)) : [relative(root, join(at, n))]).sort();
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backup-files-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a backup holds backup.json and the files it lists, nothing else, also after a restore read it', async () => {
    const data = join(dir, 'hub');
    const store = Store.open(data, HUB_MIGRATIONS); // WAL mode, left open as a running hub's would be
    try {
      const live = new Database(join(data, 'hub.db'), { readonly: true });
      assert.equal(live.pragma('journal_mode', { simple: true }), 'wal');
      live.close();
      const out = join(dir, 'backup');
      const b = await hubCli(['backup', '--data-dir', data, '--out', out]);
      assert.equal(b.code, 0, b.stderr);
      const listed = (JSON.parse(readFileSync(join(out, 'backup.json'), 'utf8')) as { files: Array<{ path: string }> }).files.map((f) => f.path);
      assert.deepEqual(filesUnder(out), ['backup.json', ...listed].sort());
      const r = await hubCli(['restore', '--from', out, '--data-dir', join(dir, 'restored')]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(filesUnder(out), ['backup.json', ...listed].sort(), 'restore leaves the backup as it was');
      assert.deepEqual(filesUnder(join(dir, 'restored')), [...listed].sort());
      Store.open(join(dir, 'restored'), HUB_MIGRATIONS).close();
      const db = new Database(join(dir, 'restored', 'hub.db'), { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'the restored hub runs in WAL again');
      } finally {
        db.close();
      }
    } finally {
      store.close();
    }
  });

  // docs/operations.md "Backup and restore": root restores into the data dir the unit's user owns; the hub
  // running as that user must be able to read every restored file.
  it('restored as root into a data dir another user owns, every restored file gets that owner', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const data = join(dir, 'hub-owned');
    Store.open(data, HUB_MIGRATIONS).close();
    const out = join(dir, 'backup-owned');
    assert.equal((await hubCli(['backup', '--data-dir', data, '--out', out])).code, 0);
    const target = join(dir, 'restored-owned');
    mkdirSync(target, { mode: 0o700 });
    const uid = 65534; // nobody
    chmodSync(dir, 0o755); // mkdtemp's 0700 would keep that user out of the tree below
    chownSync(target, uid, uid);
    const r = await hubCli(['restore', '--from', out, '--data-dir', target]);
    assert.equal(r.code, 0, r.stderr);
    const paths = ['', ...filesUnder(target)];
    assert.ok(paths.includes('hub.db'));
    for (const rel of paths) assert.deepEqual([rel, statSync(join(target, rel)).uid, statSync(join(target, rel)).gid], [rel, uid, uid]);
    const fresh = join(dir, 'restored-root');
    assert.equal((await hubCli(['restore', '--from', out, '--data-dir', fresh])).code, 0);
    assert.equal(statSync(join(fresh, 'hub.db')).uid, 0, 'a data dir restore makes stays root\'s');
  });

  // docs/operations.md "Backup and restore": a hub started with --hub-key or --content-keys keeps that file
  // outside its data dir, so the backup lacks it; `backup` says so (it said nothing, and a restore
  // without the hub key refuses to start).
  it('a backup of a hub that keeps its hub key or content-keys key file elsewhere says they are not in it', async () => {
    const data = join(dir, 'hub-keys-elsewhere');
    Store.open(data, HUB_MIGRATIONS).close();
    writeFileSync(join(data, 'trust.json'), '{}\n', { mode: 0o600 });
    writeFileSync(join(data, 'content-keys.key'), 'x\n', { mode: 0o600 });
    const b = await hubCli(['backup', '--data-dir', data, '--out', join(dir, 'backup-keys-1')]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr, 'note: the hub key is not in the backup: the data dir holds no hub.key, so the hub runs with --hub-key FILE. ' +
      'Keep a copy of that file (0600) beside the backups: a hub started on the restore needs it (--hub-key FILE) and refuses to start without it\n');
    rmSync(join(data, 'content-keys.key'));
    const both = await hubCli(['backup', '--data-dir', data, '--out', join(dir, 'backup-keys-2')]);
    assert.match(both.stderr, /^note: the hub key .*\nnote: the content-keys key file is not in the backup: .*--content-keys FILE\. Keep a copy .* do not open\n$/);
    writeFileSync(join(data, 'hub.key'), 'x\n', { mode: 0o600 });
    writeFileSync(join(data, 'content-keys.key'), 'x\n', { mode: 0o600 });
    assert.equal((await hubCli(['backup', '--data-dir', data, '--out', join(dir, 'backup-keys-3')])).stderr, '');
  });

  // docs/operations.md, troubleshooting: `backup` run as a user who may not read the hub's 0700 data dir was
  // told the dir holds no hub.db and that a PostgreSQL hub is backed up with pg_dump; `restore` from a 0700
  // backup that user may not read, that the backup did not finish (which sends one to discard a good backup).
  it('backup and restore as a user who may not read the dir name both users, not a missing hub.db or an unfinished backup', { skip: process.getuid?.() !== 0 && 'needs root, to run a process as another user' }, async () => {
    chmodSync(dir, 0o755);
    const data = join(dir, 'hub-of-root');
    Store.open(data, HUB_MIGRATIONS).close();
    const asNobody = (args: string[]) => spawnSync(process.execPath, [...programArgv('hub/src/server/main.ts'), ...args],
      { uid: 65534, gid: 65534, encoding: 'utf8', cwd: dir, timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
    const b = asNobody(['backup', '--data-dir', data, '--out', join(dir, 'backup-nobody')]);
    assert.equal(b.status, 1, b.stderr);
    assert.equal(b.stderr, `error [CONFIG_INVALID]: data directory ${data} belongs to uid 0 (mode 0700) and this process, uid 65534, may not read it: `
      + 'expected a data directory of this process\'s user: run as uid 0 (the service\'s user, e.g. sudo -u) or as root (the service still needs it as it is)\n');
    const backup = join(dir, 'backup-of-root');
    assert.equal((await hubCli(['backup', '--data-dir', data, '--out', backup])).code, 0);
    const r = asNobody(['restore', '--from', backup, '--data-dir', join(dir, 'restored-nobody')]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `error [CONFIG_INVALID]: backup directory (--from) ${backup} belongs to uid 0 (mode 0700) and this process, uid 65534, may not read it: `
      + 'expected a backup this process may read: run as uid 0 or as root (docs/operations.md "Backup and restore" restores as root)\n');
  });
});
