// A backup taken while a hub is making its first-start files (docs/operations.md "Backup and restore"): the
// temp files createFileOnce writes before it links them into place (sealing/file-once.ts: hub.key,
// admin.token) and writeFileAtomic's before it renames them (hub.pub, trust.json) are not copied. The data
// dir is frozen at that moment: each temp file, under the name the real code gave it, is put back beside the
// finished files, and `backupHub` runs on it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { HubConfig } from '../config.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { backupHub } from './backup.js';
import { ADMIN_TOKEN_FILE, ensureAdminToken, HUB_KEY_FILE, HUB_PUB_FILE, loadHubKey, type FirstStartHooks } from './first-start.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('backup-first-start', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-backup-first-start-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a backup taken while first-start files are being made copies the finished files, not their temp files', async () => {
    const data = join(dir, 'data');
    const cfg = HubConfig.parse({ dataDir: data });
    const frozen = join(dir, 'frozen');
    const temps: string[] = [];
    /** The link step, after a copy of the temp file as it is at that moment (written, about to be linked). */
    const hooks: FirstStartHooks = {
      link: (tmp, path) => {
        temps.push(basename(tmp));
        copyFileSync(tmp, `${frozen}-${basename(tmp)}`);
        linkSync(tmp, path);
      },
    };
    await loadHubKey(cfg, hooks);
    const store = Store.open(data, HUB_MIGRATIONS);
    try {
      assert.ok(ensureAdminToken(cfg, store, new Date('2026-03-01T00:00:00Z'), hooks));
    } finally {
      store.close();
    }
    assert.equal(temps.length, 2);
    for (const t of temps) copyFileSync(`${frozen}-${t}`, join(data, t));
    // writeFileAtomic's temp name (shared/src/atomic-file.ts): hub.pub being written again.
    const pubTemp = `${HUB_PUB_FILE}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(join(data, pubTemp), '{');
    // A file of the operator's whose name merely contains ".tmp" is copied as any other.
    writeFileSync(join(data, 'notes.tmp-file'), 'kept');
    assert.deepEqual(readdirSync(data).filter((n) => n.includes('.tmp-')).sort(), [...temps, pubTemp, 'notes.tmp-file'].sort());

    const out = join(dir, 'backup');
    const m = await backupHub(data, out, new Date('2026-03-01T00:01:00Z'));
    const paths = m.files.map((f) => f.path).sort();
    assert.deepEqual(paths, [ADMIN_TOKEN_FILE, HUB_KEY_FILE, HUB_PUB_FILE, 'hub.db', 'notes.tmp-file'].sort());
    assert.deepEqual(readdirSync(out).filter((n) => n.includes('.tmp-')), ['notes.tmp-file']);
    assert.equal(readFileSync(join(out, ADMIN_TOKEN_FILE), 'utf8'), readFileSync(join(data, ADMIN_TOKEN_FILE), 'utf8'));
    assert.equal(readFileSync(join(out, HUB_KEY_FILE), 'utf8'), readFileSync(join(data, HUB_KEY_FILE), 'utf8'));
  });
});
