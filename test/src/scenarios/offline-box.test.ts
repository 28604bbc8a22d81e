// A box switched off during a model rollout, with a real hub process and real agent processes running the
// example ONNX models (docs/rollouts.md "Told devices switched off", decision 0093): told while off, it is
// left out of install_success once offline for gates.deferTimeoutSec since told, named in the gate's note;
// switched on again it installs the version its retained document still names and counts again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, waitFor } from '@edgefleet/examples/fleet';
import type { DeviceInfo, GateResult, Rollout } from '@edgefleet/shared';
import { datasetRows, generateVibration } from '@edgefleet/examples';
import { MODEL, getJson, infer } from './helpers.js';
import { rolloutFleet } from './rollout-fleet.js';

describe('a box switched off during a model rollout', () => {
  const f = rolloutFleet({ name: 'ef-offline-box-', hubConfig: { rollouts: { tickMs: 300, jitter: 0.1 } }, agents: 3, bundles: [] });
  const probe = datasetRows(generateVibration({ rows: 1, seed: 5 }));

  it('is left out of install_success after gates.deferTimeoutSec, named, and installs the version when switched on', async () => {
    const { hub, agents, devs } = f;
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'baseline' });
    for (const a of agents) await waitFor(`${a.dataDir}: v1 ready`, async () => (await getJson(`${a.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 90_000 });
    const off = devs[0]!.deviceId;
    await agents[0]!.stop();
    await waitFor(`${off} offline at the hub`, async () => (await hub.api<DeviceInfo>('GET', `/devices/${off}`)).online === false, { timeoutMs: 30_000 });

    const r = await hub.api<Rollout>('POST', '/rollouts', {
      model: MODEL, version: '2.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 1 }],
      gates: { deferTimeoutSec: 3, stuckSec: 3600 }, reason: 'retrained',
    });
    const gate = async (): Promise<GateResult | undefined> => (await hub.api<Rollout>('GET', `/rollouts/${r.id}`)).waves[0]?.gates.find((g) => g.name === 'install_success');
    const left = await waitFor('the box left out', async () => {
      const g = await gate();
      return g?.note?.includes('left out, installs') ? g : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    assert.match(left.note ?? '', new RegExp(`^1 offline for gates\\.deferTimeoutSec \\(3 s\\) since told: left out, installs the version when it reconnects \\(${off} since `));
    assert.deepEqual([left.value, left.samples.wave], [1, 2], 'judged on the two boxes switched on, both on 2.0.0');

    // Switched on: its retained document still names 2.0.0; it installs it and counts again.
    agents[0] = await startAgent({ dataDir: devs[0]!.dataDir, config: { summaries: { windowSec: 2 } } });
    const back = await waitFor('the box installed 2.0.0', async () => {
      const g = await gate();
      return g?.samples.wave === 3 && g.value === 1 ? g : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    assert.equal(back.note, undefined, 'no box left out any more');
    assert.equal((await infer(agents[0]!.url, probe)).json?.model_version, '2.0.0');
  });
});
