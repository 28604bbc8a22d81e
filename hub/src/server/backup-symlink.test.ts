// `--out must be outside the data dir` (docs/operations.md "Backup and restore") with symlinks: a data dir
// reached through a link (/var/lib/edgefleet-hub -> /mnt/disk/hub) and an --out named by the real path, or an
// --out that is a link into the data dir, are inside it all the same. Such a backup would copy itself and
// every earlier backup kept there; it is refused (CONFLICT) and writes nothing. So are the other wrong
// places the same section names: a PostgreSQL hub's (--database, or a data dir with no hub.db), a
// restore --data-dir that is a file, and a file given as the backup (--from) or the data dir; and a backup
// whose hub.db is no database at all (its hash made to match) is damaged, IO_ERROR, not INTERNAL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { hubServerCli } from './main.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('backup-symlink', () => {
  let dir = '';
  const real = () => join(dir, 'disk', 'hub');
  const link = () => join(dir, 'edgefleet-hub');

  async function hubCli(argv: string[]): Promise<{ code: number; stderr: string }> {
    const err = new StringWriter();
    const code = await dispatch(hubServerCli, argv, { stdout: new StringWriter(), stderr: err, env: {}, cwd: dir, now: () => new Date() });
    return { code, stderr: err.text };
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backup-symlink-'));
    mkdirSync(real(), { recursive: true });
    Store.open(real(), HUB_MIGRATIONS).close(); // a real hub.db
    symlinkSync(real(), link());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an --out inside the data dir when the data dir is given through a symlink', async () => {
    const out = join(real(), 'backups', 'b1');
    const r = await hubCli(['backup', '--data-dir', link(), '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error \[CONFLICT\]: --out .*\/disk\/hub\/backups\/b1 is inside the data dir .*\/edgefleet-hub: expected a directory outside it/m);
    assert.ok(!existsSync(join(real(), 'backups')), 'nothing written');
  });

  it('refuses an --out that reaches into the data dir through a symlink', async () => {
    const r = await hubCli(['backup', '--data-dir', real(), '--out', join(link(), 'b2')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error \[CONFLICT\]: --out .*\/edgefleet-hub\/b2 is inside the data dir/m);
    // An existing empty directory that is itself a link into the data dir.
    mkdirSync(join(real(), 'kept'));
    symlinkSync(join(real(), 'kept'), join(dir, 'out-link'));
    const r2 = await hubCli(['backup', '--data-dir', real(), '--out', join(dir, 'out-link')]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /^error \[CONFLICT\]: --out .*out-link is inside the data dir/m);
    assert.deepEqual(readdirSync(join(real(), 'kept')), []);
    assert.ok(!existsSync(join(real(), 'b2')));
  });

  it('still backs up into a directory outside the data dir, whichever way either is named', async () => {
    const r = await hubCli(['backup', '--data-dir', link(), '--out', join(dir, 'backups', 'b3')]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'backups', 'b3', 'backup.json')));
  });

  it('refuses a PostgreSQL hub (--database, or a data dir without hub.db) naming the section, a restore into a file, and a file read as a directory', async () => {
    const pg = await hubCli(['backup', '--data-dir', real(), '--out', join(dir, 'b-pg'), '--database', 'postgres://edgefleet@127.0.0.1:1/hub']);
    assert.equal(pg.code, 1, pg.stderr);
    assert.equal(pg.stderr, 'error [INVALID_INPUT]: backup copies hub.db (SQLite); a hub on PostgreSQL (--database) is backed up with pg_dump -Fc '
      + 'plus a copy of its data dir (blobs, keys, trust): see docs/operations.md "Running on PostgreSQL"\n');
    const noDb = join(dir, 'pg-data');
    mkdirSync(noDb);
    const none = await hubCli(['backup', '--data-dir', noDb, '--out', join(dir, 'b-none')]);
    assert.equal(none.code, 1, none.stderr);
    assert.equal(none.stderr, `error [NOT_FOUND]: ${join(noDb, 'hub.db')} does not exist: expected the data dir of a hub (--data-dir). A hub on PostgreSQL `
      + '(--database) is backed up with pg_dump and a copy of its data dir (docs/operations.md "Running on PostgreSQL")\n');
    assert.ok(!existsSync(join(dir, 'b-pg')) && !existsSync(join(dir, 'b-none')), 'nothing written');

    const file = join(dir, 'a-file');
    writeFileSync(file, 'kept\n');
    assert.equal((await hubCli(['backup', '--data-dir', real(), '--out', join(dir, 'b4')])).code, 0);
    const r = await hubCli(['restore', '--from', join(dir, 'b4'), '--data-dir', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `error [CONFLICT]: --data-dir ${file} is a file: expected a new or empty directory\n`);
    assert.equal(readFileSync(file, 'utf8'), 'kept\n');

    // A file where a directory is read: named as one (root was told the file's mode 0644 kept it out, chmod 600).
    const from = await hubCli(['restore', '--from', file, '--data-dir', join(dir, 'r-file')]);
    assert.equal(from.stderr, `error [CONFIG_INVALID]: backup directory (--from) ${file} is a file, not a directory: expected the directory edgefleet-hub backup wrote (--out)\n`);
    const data = await hubCli(['backup', '--data-dir', file, '--out', join(dir, 'b-file')]);
    assert.equal(data.stderr, `error [CONFIG_INVALID]: data directory ${file} is a file, not a directory: expected the directory the program keeps its data in (--data-dir)\n`);
    assert.ok(!existsSync(join(dir, 'r-file')) && !existsSync(join(dir, 'b-file')), 'nothing written');
  });

  it('a backup whose hub.db is not a database is refused as damaged (IO_ERROR naming it), nothing restored', async () => {
    const backup = join(dir, 'b-notdb');
    assert.equal((await hubCli(['backup', '--data-dir', real(), '--out', backup])).code, 0);
    const junk = Buffer.alloc(8192, 'not a database ');
    writeFileSync(join(backup, 'hub.db'), junk);
    const m = JSON.parse(readFileSync(join(backup, 'backup.json'), 'utf8')) as { files: Array<{ path: string; sha256: string; size: number }> };
    Object.assign(m.files.find((f) => f.path === 'hub.db') ?? {}, { sha256: createHash('sha256').update(junk).digest('hex'), size: junk.length });
    writeFileSync(join(backup, 'backup.json'), JSON.stringify(m));
    const r = await hubCli(['restore', '--from', backup, '--data-dir', join(dir, 'r-notdb')]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `error [IO_ERROR]: ${backup}/hub.db fails SQLite's integrity check: file is not a database: `
      + 'expected the hub.db edgefleet-hub backup wrote (the backup is damaged: take another)\n');
    assert.ok(!existsSync(join(dir, 'r-notdb')));
  });
});
