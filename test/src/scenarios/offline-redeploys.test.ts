// A box offline while its deployment changes several times (v1 -> v2 -> undeploy -> v3), and the hub
// restarted meanwhile: when the box comes back it converges to the last assignment only, installs none
// of the intermediate ones, and the hub's rows of the deployments it never saw say what happened.
// Real hub and agent processes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetRows, generateVibration, type BundleResult } from '@edgefleet/examples';
import { hubEvents, pushBundle, startAgent, startHub, waitFor, type AgentHandle, type EnrolledAgent, type HubHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, bigBundle, fixtureAndHub, infer, type HubSetup } from './helpers.js';

describe('deployments changed while a box is offline', () => {
  let dir: string;
  let s: HubSetup;
  let hub: HubHandle;
  let dev: EnrolledAgent;
  let v3: BundleResult;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 4, seed: 5 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-offline-redeploy-'));
    s = await fixtureAndHub(dir);
    hub = s.hub;
    v3 = await bigBundle(join(dir, 'fx', 'bundles'), s.fx.keys, '3.0.0', { hidden: 64 });
    await pushBundle(hub, v3.path);
    [dev] = await enrollAgents(hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'away-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const served = async () => (await infer(agent!.url, rows.slice(0, 1))).json?.model_version as string | undefined;
  const row = async (id: number) => (await hub.api<{ devices: Array<{ deviceId: string; status: string; reason?: { code?: string } }> }>('GET', `/deployments/${id}`)).devices.find((d) => d.deviceId === dev.deviceId);

  it('converges to the last assignment only, and the hub says what became of the others', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { reconnectMs: 300 } } });
    const d1 = await hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: [dev.deviceId] }, reason: 'v1' });
    await waitFor('v1 served', async () => ((await served()) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
    await waitFor('the hub row of v1 is active', async () => ((await row(d1.id))?.status === 'active' ? true : undefined), { timeoutMs: 30_000 });
    await agent.stop();
    agent = undefined;

    const d2 = await hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { devices: [dev.deviceId] }, reason: 'v2' });
    await hub.api('DELETE', `/deployments/${d2.id}?reason=${encodeURIComponent('v2 retired')}`);
    const d3 = await hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '3.0.0', target: { devices: [dev.deviceId] }, reason: 'v3' });
    // The hub restarts while the box is away, on the same ports.
    const http = Number(new URL(hub.http).port);
    const mqtt = Number(new URL(hub.mqtt).port);
    await hub.stop();
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: s.fx.trustPath, hubKeyPath: s.fx.keys.files.hub.keyPath, httpPort: http, mqttPort: mqtt });

    agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { reconnectMs: 300 } } });
    await waitFor('v3 served', async () => ((await served()) === '3.0.0' ? true : undefined), { timeoutMs: 90_000 });
    await waitFor('the hub row of v3 is active', async () => ((await row(d3.id))?.status === 'active' ? true : undefined), { timeoutMs: 30_000 });
    const events = await hubEvents(hub.api, dev.deviceId);
    const touched = events.filter((e) => e.version === '2.0.0' && ['download_started', 'installed', 'activated', 'model_removed'].includes(e.kind));
    assert.deepEqual(touched.map((e) => e.kind), [], 'nothing of 2.0.0 was downloaded, installed or removed on the box');
    const models = JSON.parse((await fetch(`${agent.url}/v2/models/${MODEL}`).then((r) => r.text()))) as { versions?: string[] };
    assert.deepEqual(models.versions, ['3.0.0']);
    const r1 = await row(d1.id);
    const r2 = await row(d2.id);
    assert.notEqual(r1?.status, 'active', `the v1 row no longer says active (${JSON.stringify(r1)})`);
    assert.ok(r2 && !['pending', 'downloading', 'activating', 'removing'].includes(r2.status), `the v2 row is settled (${JSON.stringify(r2)})`);
  });
});
