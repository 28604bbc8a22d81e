// Fault test (issue 5): kill -9 an agent at several points of a model download over MQTT blocks —
// with half the blocks committed, between the verified last block and the rename, and during
// activation (before the switch commits), after the install committed — and restart it each time. It keeps its durable progress,
// keeps serving the old version while it can, and ends on the new version with the right hashes;
// never a partial file in place.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration, type BundleResult } from '@edgefleet/examples';
import { pushBundle, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, bigBundle, checkInstalledFiles, downloadRow, filesEndingWith, fixtureAndHub, getJson, infer, sha256Hex, type HubSetup } from './helpers.js';

const AGENT_CONFIG = { summaries: { windowSec: 5 }, sync: { blockSize: 16 * 1024, window: 4, reconnectMs: 300 } };

describe('kill -9 during a download', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let big: BundleResult;
  const running: AgentHandle[] = [];
  const rows = datasetRows(generateVibration({ rows: 8, seed: 3 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-kill-dl-'));
    s = await fixtureAndHub(dir);
    big = await bigBundle(join(dir, 'fx', 'bundles'), s.fx.keys, '3.0.0');
    await pushBundle(s.hub, big.path);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'kill-1' }) as [EnrolledAgent];
  });
  after(async () => {
    for (const a of running) a.kill();
    await Promise.allSettled(running.map((a) => a.process.exited));
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (pauseAt?: string) => {
    const a = await startAgent({ dataDir: dev.dataDir, config: AGENT_CONFIG, env: { EDGEFLEET_TEST_PAUSE_AT: pauseAt } });
    running.push(a);
    return a;
  };
  const killAt = async (a: AgentHandle, point: string) => {
    await a.process.waitForLine(new RegExp(`EDGEFLEET_PAUSED ${point}`), 120_000);
    a.kill();
    await a.process.exited;
  };
  const serves = async (a: AgentHandle, version: string) => {
    const r = await infer(a.url, rows.slice(0, 2));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.model_version, version);
  };
  const partialOf = (sha: string) => join(dev.dataDir, 'partial', `${sha}.part`);
  const finalOf = (sha: string) => join(dev.dataDir, 'bundles', `${sha}.efb`);

  it('resumes after each kill and ends on the new version with the right hash', async () => {
    // v1 (the small example bundle) first, so there is an old version to keep serving.
    let a = await start();
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'kill test: baseline' });
    await waitFor('v1 ready on the agent', async () => (await getJson(`${a.url}/v2/models/${MODEL}/versions/1.0.0/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    await a.stop();

    const sha = sha256Hex(big.path);
    assert.equal(big.size > 512 * 1024, true, `the big bundle spans many blocks (${big.size} bytes)`);

    // 1. Half the blocks committed: progress is durable, nothing is in place.
    a = await start('download:mid');
    const dep = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { devices: [dev.deviceId] }, reason: 'kill test: big model' });
    await killAt(a, 'download:mid');
    const mid = downloadRow(dev.dataDir, sha);
    assert.ok(mid, 'the downloads table records the partial download');
    assert.equal(mid.size, big.size);
    assert.ok(mid.committed * 2 >= big.size && mid.committed < big.size, `committed ${mid.committed} of ${big.size}: about half`);
    assert.ok(statSync(partialOf(sha)).size >= mid.committed, 'the partial file holds at least the committed prefix');
    assert.equal(existsSync(finalOf(sha)), false, 'nothing moved into place');

    // 2. Resumed (not restarted from 0), then killed between the last block and the rename.
    a = await start('download:before-rename');
    await serves(a, '1.0.0');
    await killAt(a, 'download:before-rename');
    const full = downloadRow(dev.dataDir, sha);
    assert.equal(full?.committed, big.size, 'all blocks committed before the rename');
    assert.ok(full.committed >= mid.committed);
    assert.equal(existsSync(finalOf(sha)), false, 'the verified file is not in place until renamed');
    assert.equal(sha256Hex(partialOf(sha)), sha, 'the partial file is complete and correct');

    // 3. During activation: the install writes the files, killed before the switch commits.
    a = await start('install:before-commit');
    await a.process.waitForLine(/EDGEFLEET_PAUSED install:before-commit/, 120_000);
    await serves(a, '1.0.0'); // the new version is loaded beside the old one, not yet swapped in
    await killAt(a, 'install:before-commit');
    assert.equal(existsSync(partialOf(sha)), false, 'the partial file was renamed');
    assert.equal(sha256Hex(finalOf(sha)), sha, 'the downloaded bundle in place has the right sha256');

    // 4. After the install committed, before the download was removed: the version is installed, not active.
    a = await start('install:after-commit');
    await killAt(a, 'install:after-commit');
    assert.equal(existsSync(finalOf(sha)), true, 'the kill left the downloaded bundle');

    // Old version still active after these kills; then a clean run finishes the switch.
    a = await start();
    await waitFor('3.0.0 ready on the agent', async () => (await getJson(`${a.url}/v2/models/${MODEL}/versions/3.0.0/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    await serves(a, '3.0.0');
    assert.deepEqual(checkInstalledFiles(dev.dataDir, big.manifest), [], 'the active version\'s files hash correctly');
    assert.deepEqual(checkInstalledFiles(dev.dataDir, s.fx.bundles.v1.manifest), [], 'the previous version stays intact for a rollback');
    assert.deepEqual(filesEndingWith(dev.dataDir, '.part'), [], 'no partial file left anywhere in the data dir');
    assert.deepEqual(filesEndingWith(dev.dataDir, '.efb'), [], 'no downloaded bundle left: the installed version needs none');
    assert.equal(downloadRow(dev.dataDir, sha), undefined, 'the finished download is no longer recorded as partial');
    await waitFor('the hub shows the deployment active', async () => {
      const d = await s.hub.api<{ devices: Array<{ deviceId: string; status: string }> }>('GET', `/deployments/${dep.id}`);
      return d.devices.find((x) => x.deviceId === dev.deviceId)?.status === 'active';
    }, { timeoutMs: 60_000 });
    await a.stop();
  });
});
