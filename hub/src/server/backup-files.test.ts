// What a backup directory holds (docs/operations.md "Backup and restore": backup.json lists each file):
// exactly backup.json and the files it lists. The copy of a WAL-mode hub.db is switched to a rollback
// journal, so neither backup (which reads the copy) nor restore (which checks it) leaves hub.db-wal or
// hub.db-shm beside it; the restored hub.db goes back to WAL when a hub opens it.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { hubServerCli } from './main.js';

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
