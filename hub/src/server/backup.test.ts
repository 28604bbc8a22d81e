// `edgefleet-hub backup` and `restore` (docs/operations.md "Backup and restore") with the programs' code
// and a hub running on port 0: a blob over 2 GiB (a sparse file: 2 GiB + 5 zero bytes, no disk until
// copied) is hashed and copied by streaming, and hashed by restore; a restore killed partway (SIGKILL while it copies
// a 512 MiB blob) leaves a data dir that `run` refuses and `restore` names; a backup that fails removes
// what it wrote, so no directory looks complete. The backup and the restores that run to their end run
// in this process (the program's table, as the real program runs it: a process start costs ~0.4 s of
// CPU); the restore that is killed and the hub that must not start are processes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, cpSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeKeys, makeTrust, startProcess, waitFor, type Keys, type RunningProcess, type Trust } from '@edgefleet/examples';
import { sha256Hex } from '@edgefleet/shared';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { RESTORE_MARKER } from './backup.js';
import { hubServerCli } from './main.js';

const HUB = 'hub/src/server/main.ts';
type Manifest = { files: Array<{ path: string; sha256: string; size: number }> };
const BIG = 2 ** 31 + 5;
/** sha256 of BIG zero bytes. */
const BIG_SHA = '68bdfcb656af3067b8110b5cc839b4e12b180ef11e86011b8df4a709fe2c2f67';
/** A blob that takes a restore long enough to copy to be killed while it does: 512 MiB of zeros, and its sha256. */
const SLOW = 512 * 1024 * 1024;
const SLOW_SHA = '9acca8e8c22201155389f65abbf6bc9723edc7384ead80503839f49dcc56d767';

/** The program's table in this process (same parsing, errors and exit codes), for refusals that write nothing. */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await dispatch(hubServerCli, argv, { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date() });
  return { code, stdout: out.text, stderr: err.text };
}

/** A sparse file of `size` zero bytes at DIR/blobs/sha256/xx/SHA256; returns its path relative to DIR. */
function sparseBlob(dir: string, sha256: string, size: number): string {
  const rel = `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`;
  mkdirSync(join(dir, 'blobs', 'sha256', sha256.slice(0, 2)), { recursive: true });
  const fd = openSync(join(dir, rel), 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  return rel;
}

/** Lists a blob in the hub's blobs table (the hub keeps running: WAL) and, unless `file` is false, makes its file. */
function plantBlob(dataDir: string, sha256: string, size: number, file = true): void {
  const db = new Database(join(dataDir, 'hub.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?)').run(sha256, size, new Date().toISOString());
  } finally {
    db.close();
  }
  if (file) sparseBlob(dataDir, sha256, size);
}

describe('backup and restore of a hub with a blob over 2 GiB', () => {
  let dir = '';
  let keys: Keys;
  let trust: Trust;
  let hub: RunningProcess | undefined;
  const data = () => join(dir, 'hub');
  const backupDir = () => join(dir, 'backup');
  /** A copy of the small backup (taken before the big blob) with a sparse blob of `size` zero bytes added. */
  const makeBackup = (name: string, sha256: string, size: number): string => {
    const from = join(dir, name);
    cpSync(join(dir, 'small'), from, { recursive: true });
    const m = JSON.parse(readFileSync(join(from, 'backup.json'), 'utf8')) as Manifest;
    m.files.push({ path: sparseBlob(from, sha256, size), sha256, size });
    writeFileSync(join(from, 'backup.json'), JSON.stringify(m));
    return from;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backup-big-'));
    keys = makeKeys(join(dir, 'keys'));
    trust = makeTrust(dir, keys);
    hub = startProcess(HUB, ['run', '--data-dir', data(), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
    await hub.waitForLine(/"msg":"hub ready"/, 60_000);
    const small = await inProcess(['backup', '--data-dir', data(), '--out', join(dir, 'small')]);
    assert.equal(small.code, 0, small.stderr);
    plantBlob(data(), BIG_SHA, BIG);
  });
  after(async () => {
    await hub?.stop('SIGTERM', 20_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up the running hub, hashing and copying the big blob by streaming', async () => {
    const b = await inProcess(['backup', '--data-dir', data(), '--out', backupDir()]);
    assert.equal(b.code, 0, b.stderr);
    const m = JSON.parse(readFileSync(join(backupDir(), 'backup.json'), 'utf8')) as Manifest;
    assert.deepEqual(m.files.find((f) => f.path.endsWith(BIG_SHA)), { path: `blobs/sha256/68/${BIG_SHA}`, sha256: BIG_SHA, size: BIG });
    assert.equal(statSync(join(backupDir(), 'blobs', 'sha256', '68', BIG_SHA)).size, BIG);
    // The running hub holds the hub lease; its copy is held by no hub (decision 0074).
    const held = (file: string) => { const db = new Database(file, { readonly: true }); try { return (db.prepare('SELECT COUNT(*) AS n FROM hub_leases').get() as { n: number }).n; } finally { db.close(); } };
    assert.equal(held(join(data(), 'hub.db')), 1);
    assert.equal(held(join(backupDir(), 'hub.db')), 0);
  });

  it('restore hashes a blob over 2 GiB by streaming (then refuses a newer schema, writing nothing)', async () => {
    // The small backup with the big blob (sparse) added and a migration this hub does not know: the
    // refusal that follows the hashes says they passed, without copying 2 GiB once more.
    const from = makeBackup('big-backup', BIG_SHA, BIG);
    const db = new Database(join(from, 'hub.db'));
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from a newer hub', '2030-01-01')").run();
    db.close();
    const m = JSON.parse(readFileSync(join(from, 'backup.json'), 'utf8')) as Manifest;
    Object.assign(m.files.find((f) => f.path === 'hub.db')!, { sha256: sha256Hex(readFileSync(join(from, 'hub.db'))), size: statSync(join(from, 'hub.db')).size });
    writeFileSync(join(from, 'backup.json'), JSON.stringify(m));
    const r = await inProcess(['restore', '--from', from, '--data-dir', join(dir, 'never-big')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error \[SCHEMA_TOO_NEW\]: hub\.db at .* records migration 999/m);
    assert.ok(!existsSync(join(dir, 'never-big')));
  });

  it('a restore killed partway: run refuses the data dir and restore names the unfinished restore', async () => {
    // The small backup with a 512 MiB blob added: its copy takes long enough to kill the restore in it.
    const from = makeBackup('slow-backup', SLOW_SHA, SLOW);
    const target = join(dir, 'restored');
    const restore = startProcess(HUB, ['restore', '--from', from, '--data-dir', target]);
    let outcome: string;
    try {
      // The restore verifies every file first, then writes; it is killed once it writes past its marker
      // (killed while writing the marker, it is named "from BACKUP, at an unknown time" instead).
      outcome = await waitFor('the restore to start writing', () => {
        if (existsSync(target) && readdirSync(target).some((n) => n !== RESTORE_MARKER)) return 'writing';
        return restore.child.exitCode !== null ? 'exited' : undefined;
      }, { timeoutMs: 60_000, intervalMs: 10 });
    } finally {
      restore.kill();
      await restore.exited;
    }
    assert.equal(outcome, 'writing', `the restore exited before it wrote anything:\n${restore.output().stderr}`);
    const run = startProcess(HUB, ['run', '--data-dir', target, '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
    const started = await run.waitForLine(/"msg":"hub ready"/, 60_000).then(() => true, () => false);
    const { code } = await run.stop('SIGTERM', 20_000);
    assert.ok(!started, 'a hub must not start on a half-restored data dir (it would be a new, empty hub)');
    assert.equal(code, 1);
    assert.match(run.output().stderr, /^error \[CONFIG_INVALID\]: data dir .*restored holds an unfinished restore \(from .*slow-backup, started .*\): .*edgefleet-hub restore --from .*slow-backup --data-dir .*restored/m);
    assert.ok(!existsSync(join(target, 'admin.token')), 'no new admin token');
    const again = await inProcess(['restore', '--from', from, '--data-dir', target]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /^error \[CONFLICT\]: --data-dir .*restored holds an unfinished restore \(from .*slow-backup, started .*\): empty it .*and run this restore again/m);
  });

  it('a failed backup removes what it wrote; a directory without backup.json is refused by restore as unfinished', async () => {
    // Listed before the big blob (by sha256), so the backup fails at once.
    plantBlob(data(), '0a'.repeat(32), 10, false);
    const out = join(dir, 'backup-2');
    const b = await inProcess(['backup', '--data-dir', data(), '--out', out]);
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /^error \[IO_ERROR\]: .* is missing although hub\.db lists blob 0a0a/m);
    assert.ok(!existsSync(out), `${out} removed: nothing there looks like a backup`);
    // An empty --out given by the operator is kept, emptied.
    mkdirSync(out);
    assert.equal((await inProcess(['backup', '--data-dir', data(), '--out', out])).code, 1);
    assert.deepEqual(readdirSync(out), []);
    // What a killed backup leaves (no backup.json, written last) is refused by name.
    mkdirSync(join(dir, 'killed'));
    const r = await inProcess(['restore', '--from', join(dir, 'killed'), '--data-dir', join(dir, 'never')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error \[NOT_FOUND\]: .*killed\/backup\.json does not exist: expected a directory written by edgefleet-hub backup; a backup that did not finish has none/m);
    assert.ok(!existsSync(join(dir, 'never')));
  });
});
