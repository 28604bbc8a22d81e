// Samples through hub delivery (issue 8): a model built in code that only runs at
// 8000/16000 Hz is pushed with a sample and its expected output, deployed by the
// hub to a real agent process, which warms up and preflights it on the sample; the
// sample latency (p50/p95) the device reports shows in GET /devices/{id} and
// `edgefleet devices show`. A version whose expected output is wrong is refused on
// the device with MODEL_PREFLIGHT_FAILED (event at the hub); 1.0.0 keeps serving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_RATE_ENERGY, makeKeys, makeTrust, runCli, sampleRateRequest } from '@edgefleet/examples';
import { pushBundle, startAgent, startHub, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { DeviceEvent, DeviceInfo } from '@edgefleet/shared';
import { speechBundle } from '../console/speech-bundle.js';

describe('model samples through hub delivery', () => {
  let dir: string;
  let hub: HubHandle | undefined;
  let agent: AgentHandle | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-samples-'));
  });
  after(async () => {
    await agent?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('preflights on the device, reports sample latency to the hub, refuses a wrong expectation', async () => {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath });
    const good = await speechBundle(join(dir, 'bundles'), keys, '1.0.0', SAMPLE_RATE_ENERGY);
    const wrong = await speechBundle(join(dir, 'bundles'), keys, '2.0.0', 0.5);
    await pushBundle(hub, good.path);
    await pushBundle(hub, wrong.path);
    const [dev] = await enrollAgents(hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'speech-1' });
    agent = await startAgent({ dataDir: dev!.dataDir });
    const id = dev!.deviceId;

    await hub.api('POST', '/deployments', { model: 'speech', version: '1.0.0', target: { devices: [id] }, reason: 'samples: first' });
    const run = await waitFor('speech@1.0.0 active with its preflight latency at the hub', async () => {
      const d = await hub!.api<DeviceInfo>('GET', `/devices/${id}`);
      const m = d.models.find((x) => x.name === 'speech' && x.version === '1.0.0' && x.status === 'active');
      return m?.preflight ? m : undefined;
    }, { timeoutMs: 90_000 });
    assert.equal(run.preflight?.samples, 1);
    assert.equal(run.preflight?.runs, 5);
    assert.ok(run.preflight!.p95Ms >= run.preflight!.p50Ms && run.preflight!.p50Ms > 0, JSON.stringify(run.preflight));

    const show = await runCli('hub/src/cli/main.ts', ['devices', 'show', id, '--json', '--hub', hub.http, '--token', hub.adminToken]);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as DeviceInfo;
    assert.deepEqual(shown.models.find((m) => m.version === '1.0.0')?.preflight, run.preflight);

    await hub.api('POST', '/deployments', { model: 'speech', version: '2.0.0', target: { devices: [id] }, reason: 'samples: wrong expectation' });
    const refused = await waitFor('install_failed MODEL_PREFLIGHT_FAILED at the hub', async () => {
      const { events } = await hub!.api<{ events: DeviceEvent[] }>('GET', `/devices/${id}/events`);
      return events.find((e) => e.kind === 'install_failed' && e.code === 'MODEL_PREFLIGHT_FAILED');
    }, { timeoutMs: 90_000 });
    assert.match(refused.message, /speech@2\.0\.0: sample samples\/a\.request\.json: output "energy" index 0 is 0\.375, expected 0\.5/);
    const served = await fetch(`${agent.url}/v2/models/speech/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleRateRequest(16000)) });
    const body = await served.json() as { model_version: string };
    assert.equal(served.status, 200);
    assert.equal(body.model_version, '1.0.0');
  });
});
