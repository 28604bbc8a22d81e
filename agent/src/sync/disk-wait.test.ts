// A version that does not fit on the box's disk is not a failed install (decision 0064). The waits'
// bookkeeping on a fake clock, then end to end: a real hub process (`edgefleet-hub run`, embedded broker
// on 127.0.0.1:0) and an enrolled agent whose data dir is a real tmpfs of 16 MiB (examples' smallDisk;
// skipped where mount(8) is refused). The hub deploys a version of about 1 MiB onto a disk filled to
// 512 KiB free: the download is refused, its partial file goes, the agent blocks nothing and reports
// `waiting_for_disk` with the room needed, which the deployment's row shows. Once space is freed the
// agent installs and switches by itself, with no new deployment, and the row goes to `active`. Then a
// rollout's shadow stage names a candidate that does not fit either: reported waiting for disk space
// beside the version it runs (no error event), and loaded in shadow by itself once space is freed.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeFixture, randomMlp, smallDisk, INPUT_NAME, N_FEATURES, type Fixture, type SmallDisk } from '@edgefleet/examples';
import { enrollAgents, pushBundle, startHub, waitFor, type HubHandle } from '@edgefleet/examples/fleet';
import type { Deployment } from '@edgefleet/shared';
import { DISK_RETRY_MAX_MS, DiskWaits, diskWaitMessage, roomFor } from './disk-wait.js';
import { req, startAgent } from '../testing.js';
import type { Agent } from '../agent.js';

test('DiskWaits: held while the room is short and its wait not over; the wait doubles up to its bound; cleared and retained', () => {
  let t = 0;
  let free: number | undefined = 100;
  const w = new DiskWaits(() => free, 1000, () => t);
  assert.equal(w.holds('m', '1.0.0'), false, 'nothing waits');
  assert.deepEqual(w.refused('m', '1.0.0', roomFor(500)), { needed: 1000, free: 100, first: true });
  assert.equal(w.holds('m', '1.0.0'), true);
  assert.equal(w.holds('m', '2.0.0'), false, 'another version the hub asks for now is tried');
  free = 999;
  assert.equal(w.holds('m', '1.0.0'), true, 'less room than needed');
  free = 1000;
  assert.equal(w.holds('m', '1.0.0'), false, 'room enough: tried again');
  // Refused again although the room looked enough: from now on more than that must be free.
  assert.deepEqual(w.refused('m', '1.0.0', 1000), { needed: 1000, free: 1000, first: false });
  assert.equal(w.holds('m', '1.0.0'), true);
  free = undefined;
  t += 1999;
  assert.equal(w.holds('m', '1.0.0'), true, 'unreadable room: the wait (2 s after the second refusal)');
  t += 1;
  assert.equal(w.holds('m', '1.0.0'), false);
  for (let i = 0; i < 40; i++) w.refused('m', '1.0.0', 1000);
  t += DISK_RETRY_MAX_MS - 1;
  assert.equal(w.holds('m', '1.0.0'), true);
  t += 1;
  assert.equal(w.holds('m', '1.0.0'), false, 'the wait is bounded by DISK_RETRY_MAX_MS');
  w.refused('n', '1.0.0', 10);
  w.retain(new Set(['n']));
  assert.deepEqual([w.size, w.holds('m', '1.0.0')], [1, false]);
  w.clear('n');
  assert.equal(w.size, 0);
  assert.equal(diskWaitMessage('m@1.0.0', { needed: 2 << 20, free: 180 << 10 }, 'disk full: ENOSPC'), 'waiting for disk space to install m@1.0.0: about 2.0 MiB needed, 180 KiB free; tried again by itself when there is room (disk full: ENOSPC)');
  assert.equal(diskWaitMessage('m@1.0.0', { needed: 10 }, 'x'), 'waiting for disk space to install m@1.0.0: about 10 B needed; tried again by itself when there is room (x)');
});

const MODEL = 'vibration-anomaly';
const disk: SmallDisk | string = smallDisk(16 << 20);

describe('a deployment that does not fit on the box\'s disk (real hub, real tmpfs)', { skip: typeof disk === 'string' ? disk : false }, () => {
  let dir: string;
  let fx: Fixture;
  let hub: HubHandle;
  let agent: Agent | undefined;
  let dataDir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-disk-wait-'));
    fx = await makeFixture(join(dir, 'fx'));
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath });
  });
  after(async () => {
    await agent?.stop();
    await hub?.stop();
    if (typeof disk !== 'string') disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for disk space (not failed), then installs by itself once there is room', async () => {
    const d = disk as SmallDisk;
    await pushBundle(hub, fx.v1);
    // About 1 MiB of weights (512² floats), so its download and its files need about 2 MiB.
    const m = randomMlp({ inputDim: N_FEATURES, hidden: [512, 512], outputDim: 2, seed: 3, inputName: INPUT_NAME });
    const big = await bundleFromOnnx({ dir: join(dir, 'big'), onnx: m.onnx, name: MODEL, version: '3.0.0', io: m.io, keys: fx.keys });
    await pushBundle(hub, big.path);
    const [dev] = await enrollAgents(hub, 1, { dataRoot: d.dir, id: () => 'box-full' });
    const data = dev!.dataDir;
    dataDir = data;
    agent = await startAgent(data, { sync: { reconnectMs: 200, blockSize: 64 * 1024 } }, { diskWaitCheckMs: 200 });
    const a = agent;
    const row = async (id: number) => (await hub.api<Deployment>('GET', `/deployments/${id}`)).devices.find((x) => x.deviceId === dev!.deviceId);
    const serving = async () => (await req(a.url, 'POST', `/v2/models/${MODEL}/infer`, { inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [1, N_FEATURES], data: new Array(N_FEATURES).fill(0.5) }] })).json?.model_version as string | undefined;

    const d1 = await hub.api<Deployment>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev!.deviceId] }, reason: 'baseline' });
    await waitFor('v1 active on the hub', async () => (await row(d1.id))?.status === 'active', { timeoutMs: 60_000 });

    a.db.pragma('wal_checkpoint(TRUNCATE)');
    d.fill(512 << 10);
    const d3 = await hub.api<Deployment>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { devices: [dev!.deviceId] }, reason: 'too big for the box now' });
    const waiting = await waitFor('hub: waiting_for_disk', async () => {
      const x = await row(d3.id);
      return x?.status === 'waiting_for_disk' ? x : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(waiting.reason ?? '', new RegExp(`^DISK_FULL: waiting for disk space to install ${MODEL}@3\\.0\\.0: about 2\\.\\d MiB needed, \\d+ KiB free; tried again by itself when there is room \\(.*disk full`));
    assert.equal(await serving(), '1.0.0', 'v1 keeps serving');
    const state = a.sync!.updater.phases.get(MODEL);
    assert.equal(state?.status, 'waiting_for_disk');
    assert.ok(state?.diskWait && state.diskWait.needed === roomFor(big.size), JSON.stringify(state?.diskWait));
    assert.deepEqual(readdirSync(join(data, 'partial')), [], 'the refused download gave its room back');
    assert.deepEqual(a.events.list({ kind: 'install_failed' }), [], 'no install failure recorded');

    d.free();
    await waitFor('v3 serving without a new deployment', async () => (await serving()) === '3.0.0', { timeoutMs: 60_000 });
    await waitFor('hub: active', async () => (await row(d3.id))?.status === 'active', { timeoutMs: 30_000 });
    assert.equal((await hub.api<{ deployments: unknown[] }>('GET', '/deployments')).deployments.length, 2, 'no redeploy');
    assert.equal(a.sync!.updater.phases.get(MODEL), undefined);
  });

  // Continues from the box above (3.0.0 active): a rollout's shadow stage names a candidate that does not fit.
  it('a shadow candidate that does not fit waits for disk space (not an error), then runs in shadow by itself', async () => {
    const d = disk as SmallDisk;
    const a = agent!;
    const m = randomMlp({ inputDim: N_FEATURES, hidden: [512, 512], outputDim: 2, seed: 4, inputName: INPUT_NAME });
    const cand = await bundleFromOnnx({ dir: join(dir, 'cand'), onnx: m.onnx, name: MODEL, version: '4.0.0', io: m.io, keys: fx.keys });
    await pushBundle(hub, cand.path);
    const deviceId = a.sync!.reportedState().deviceId;
    const shadowOf = () => a.sync!.reportedState().models.find((x) => x.name === MODEL)?.shadow;
    const errorsBefore = a.events.list({ kind: 'error' }).length;

    a.db.pragma('wal_checkpoint(TRUNCATE)');
    d.fill(512 << 10);
    const r = await hub.api<{ id: string }>('POST', '/rollouts', { model: MODEL, version: '4.0.0', target: { devices: [deviceId] }, shadow: { sampleRate: 1, bakeSec: 3600, minSamples: 10 }, reason: 'shadow on a full disk' });
    const waiting = await waitFor('shadow candidate waiting_for_disk', async () => shadowOf(), { timeoutMs: 60_000 });
    assert.equal(waiting.version, '4.0.0');
    assert.equal(waiting.status, 'waiting_for_disk');
    assert.equal(waiting.diskWait.needed, roomFor(cand.size));
    assert.match(waiting.reason.message, new RegExp(`^waiting for disk space to install shadow candidate ${MODEL}@4\\.0\\.0: about 2\\.\\d MiB needed, \\d+ KiB free; tried again by itself when there is room \\(.*disk full`));
    assert.deepEqual([waiting.reason.code, a.shadow.current(MODEL)], ['DISK_FULL', undefined]);
    const ev = a.events.list({ kind: 'waiting_for_disk' }).filter((e) => e.version === '4.0.0');
    assert.deepEqual(ev.map((e) => [e.code, e.data?.['shadow']]), [['DISK_FULL', true]], 'one waiting_for_disk event, marked shadow');
    assert.equal(a.events.list({ kind: 'error' }).length, errorsBefore, 'no error event: not a failed candidate');
    assert.deepEqual(readdirSync(join(dataDir, 'partial')), [], 'the refused download gave its room back');
    assert.equal((await hub.api<{ state: string }>('GET', `/rollouts/${r.id}`)).state, 'running');

    d.free();
    await waitFor('candidate runs in shadow without a new rollout', async () => a.shadow.current(MODEL)?.version === '4.0.0', { timeoutMs: 60_000 });
    assert.equal(shadowOf(), undefined, 'the state no longer says it waits');
    assert.equal(a.models.getActive(MODEL)?.active, '3.0.0', 'the box still answers with 3.0.0');
  });
});
