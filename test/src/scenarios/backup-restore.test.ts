// Backup and restore (issue 13, docs/operations.md "Backup and restore"): a hub process with an
// enrolled agent, two models, a deployment and summary windows arriving is backed up by the real
// `edgefleet-hub backup` WHILE it runs and the agent keeps uploading; the backup is restored by
// `edgefleet-hub restore` into a new dir and a second hub started on it (other ports). The restored hub
// has the device, both model versions with bundles byte-identical to the pushed files, the deployment,
// the windows the backup's snapshot holds (at least those stored before the backup started), the
// admin token and audit log; its data dir is private. A damaged backup, a non-empty target and a
// backup from a newer hub are refused before anything is written (the program's table in process).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '@edgefleet/examples';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { hubServerCli } from '@edgefleet/hub';
import { hubWindows, startAgent, startHub, trafficLoop, vibrationRows, waitFor, type AgentHandle, type HubHandle, type TrafficLoop } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, fixtureAndHub, type HubSetup } from './helpers.js';

const HUB = 'hub/src/server/main.ts';

/** The hub program's table run in this process (same parsing, errors and exit codes as the real one). */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await dispatch(hubServerCli, argv, { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date() });
  return { code, stdout: out.text, stderr: err.text };
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('hub backup while it runs, restore into a new dir', () => {
  let dir: string;
  let s: HubSetup;
  let agent: AgentHandle | undefined;
  let traffic: TrafficLoop | undefined;
  let restored: HubHandle | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backup-'));
    s = await fixtureAndHub(dir);
    const [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'bk-1' });
    agent = await startAgent({ dataDir: dev!.dataDir, config: { summaries: { windowSec: 1 }, sync: { reconnectMs: 300 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'backup test' });
    traffic = trafficLoop([agent], vibrationRows(), 20);
  });
  after(async () => {
    await traffic?.stop();
    await agent?.stop();
    await restored?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const windows = async (hub: HubHandle) => (await hubWindows(hub.api, 'bk-1', `model=${MODEL}`)).length;

  it('the restored hub holds the devices, models, deployment, windows, token and audit of the backup', async () => {
    const before = await waitFor('a few summary windows at the hub', async () => {
      const n = await windows(s.hub);
      return n >= 3 ? n : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });

    const backupDir = join(dir, 'backup');
    const b = await runCli(HUB, ['backup', '--data-dir', s.hub.dataDir, '--out', backupDir]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /^backed up \d+ files \(\d+ bytes, schema [\d,]+\) to /);
    // The hub kept taking windows during and after the backup.
    await waitFor('windows still arriving after the backup', async () => (await windows(s.hub)) > before + 1, { timeoutMs: 30_000, intervalMs: 250 });

    const snapshotWindows = (() => {
      const db = new Database(join(backupDir, 'hub.db'), { readonly: true });
      try {
        return (db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'device_windows'").pluck().get() as number) === 1
          ? db.prepare("SELECT COUNT(*) FROM device_windows WHERE device_id = 'bk-1'").pluck().get() as number
          : undefined;
      } finally {
        db.close();
      }
    })();

    const dataDir = join(dir, 'restored');
    const r = await runCli(HUB, ['restore', '--from', backupDir, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, 'hub.db')).mode & 0o777, 0o600);
    assert.ok(!readdirSync(dataDir).includes('.restoring'));

    restored = await startHub({ dataDir, trustPath: s.fx.trustPath, hubKeyPath: s.fx.keys.files.hub.keyPath });
    assert.equal(restored.adminToken, s.hub.adminToken, 'the admin token file came along');
    const devices = await restored.api<{ devices: Array<{ id: string }> }>('GET', '/devices');
    assert.deepEqual(devices.devices.map((d) => d.id), ['bk-1']);
    for (const [version, file] of [['1.0.0', s.fx.v1], ['2.0.0', s.fx.v2]] as const) {
      const res = await fetch(`${restored.http}/api/v1/models/${MODEL}/versions/${version}/bundle`, { headers: { authorization: `Bearer ${restored.adminToken}` } });
      assert.equal(res.status, 200, version);
      assert.equal(sha(new Uint8Array(await res.arrayBuffer())), sha(readFileSync(file)), `${version}: the bundle bytes`);
    }
    const deps = await restored.api<{ deployments: Array<{ model: string; version: string }> }>('GET', '/deployments');
    assert.deepEqual(deps.deployments.map((d) => [d.model, d.version]), [[MODEL, '1.0.0']]);
    const got = await windows(restored);
    assert.ok(got >= before, `restored windows ${got} >= ${before} stored before the backup`);
    if (snapshotWindows !== undefined) assert.equal(got, snapshotWindows, 'exactly the snapshot\'s windows');
    const audit = await restored.api<{ entries: Array<{ action: string }> }>('GET', '/audit');
    assert.ok(audit.entries.some((e) => e.action === 'model.push'), 'the audit log came along');
  });

  it('refuses a non-empty target, a damaged backup and a backup from a newer hub, writing nothing', async () => {
    const backupDir = join(dir, 'backup');
    const busy = join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'x'), 'x');
    const r1 = await inProcess(['restore', '--from', backupDir, '--data-dir', busy]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /^error \[CONFLICT\]: --data-dir .*busy is not empty: expected a new or empty directory/m);
    const r0 = await inProcess(['backup', '--data-dir', s.hub.dataDir, '--out', backupDir]);
    assert.equal(r0.code, 1);
    assert.match(r0.stderr, /^error \[CONFLICT\]: --out .* is not empty/m);
    const inside = await inProcess(['backup', '--data-dir', s.hub.dataDir, '--out', join(s.hub.dataDir, 'backups', 'b1')]);
    assert.equal(inside.code, 1);
    assert.match(inside.stderr, /^error \[CONFLICT\]: --out .*backups\/b1 is inside the data dir .*: expected a directory outside it/m);
    assert.ok(!readdirSync(s.hub.dataDir).includes('backups'));

    // A newer hub's backup: its hub.db records a migration this hub does not know.
    const newer = join(dir, 'backup-newer');
    assert.equal((await inProcess(['backup', '--data-dir', s.hub.dataDir, '--out', newer])).code, 0);
    const db = new Database(join(newer, 'hub.db'));
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from a newer hub', '2030-01-01')").run();
    db.close();
    const manifestPath = join(newer, 'backup.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Array<{ path: string; sha256: string; size: number }> };
    const f = m.files.find((x) => x.path === 'hub.db')!;
    const bytes = readFileSync(join(newer, 'hub.db'));
    Object.assign(f, { sha256: sha(bytes), size: bytes.length });
    writeFileSync(manifestPath, JSON.stringify(m));
    const r2 = await inProcess(['restore', '--from', newer, '--data-dir', join(dir, 'never-1')]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /^error \[SCHEMA_TOO_NEW\]: hub\.db at .* records migration 999 \("from a newer hub"\)/m);

    // A damaged blob.
    const blob = m.files.find((x) => x.path.startsWith('blobs/'))!;
    appendFileSync(join(newer, blob.path), 'x');
    const r3 = await inProcess(['restore', '--from', newer, '--data-dir', join(dir, 'never-2')]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, new RegExp(`^error \\[HASH_MISMATCH\\]: .*${blob.path}: sha256 [0-9a-f]{64} \\(${blob.size + 1} bytes\\), expected ${blob.sha256}`, 'm'));
    for (const d of ['never-1', 'never-2']) assert.ok(!readdirSync(dir).includes(d), `${d} not created`);
  });
});
