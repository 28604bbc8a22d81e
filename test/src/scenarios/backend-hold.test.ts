// Scenario (docs/decisions/0129-model-backends-checked.md, addendum): a box that joins a deployment's target after
// the deploy, and whose backend the hub knows cannot load the version, is not sent it. A real hub and two real
// agents (one on onnxruntime-node, one with runtime.backend wasm) serving strict-shape 0.9.0 (an MLP both backends
// load); strict-shape 1.0.0 (examples buildStrictShapeModel: onnxruntime-web refuses it) is deployed to a tag both
// boxes are tagged with later. The native box installs it; the wasm box is held back (its row `refused`
// BACKEND_UNSUPPORTED naming the backend, in `deployments show`), keeps serving 0.9.0 and never tries to load 1.0.0.
// `devices show` says so too. Started again on the native backend, it gets 1.0.0 and serves it. A deploy with
// --allow-backend-mismatch is audited and `deployments show` says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStrictShapeModel, bundleFromOnnx, INPUT_NAME, N_FEATURES, randomMlp, runCli } from '@edgefleet/examples';
import { pushBundle, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { Deployment, DeviceInfo, EventPage } from '@edgefleet/shared';
import { fixtureAndHub, infer, type HubSetup } from './helpers.js';

const MODEL = 'strict-shape';
const HUB_CLI = 'hub/src/cli/main.ts';

describe('a box whose backend cannot load a version it joins later is held back', () => {
  let dir: string;
  let s: HubSetup;
  let nat: EnrolledAgent;
  let wasm: EnrolledAgent;
  const agents: AgentHandle[] = [];
  const row = [Array.from({ length: N_FEATURES }, () => 1)];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backend-hold-'));
    s = await fixtureAndHub(dir);
    const loads = randomMlp({ inputDim: N_FEATURES, hidden: [3], outputDim: 2, seed: 3, inputName: INPUT_NAME, outputName: 'score' });
    const strict = buildStrictShapeModel(INPUT_NAME, N_FEATURES);
    for (const [version, m] of [['0.9.0', loads], ['1.0.0', strict]] as const) {
      await pushBundle(s.hub, (await bundleFromOnnx({ dir: join(dir, 'bundles'), onnx: m.onnx, name: MODEL, version, io: m.io, keys: s.fx.keys })).path);
    }
    [nat, wasm] = await enrollAgents(s.hub, 2, { dataRoot: join(dir, 'agents'), id: (i) => ['bh-native', 'bh-wasm'][i] as string }) as [EnrolledAgent, EnrolledAgent];
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const served = async (a: AgentHandle) => (await infer(a.url, row, MODEL)).json?.model_version as string | undefined;
  const device = (id: string) => s.hub.api<DeviceInfo>('GET', `/devices/${id}`);
  const cli = (args: string[]) => runCli(HUB_CLI, [...args, '--hub', s.hub.http, '--token', s.hub.adminToken]);
  const rowOf = async (dep: number, id: string) => (await s.hub.api<Deployment>('GET', `/deployments/${dep}`)).devices.find((d) => d.deviceId === id);

  it('sends the native box the version, holds the wasm box back saying why, and sends it once the box runs native', async () => {
    const [a1, a2] = await Promise.all([
      startAgent({ dataDir: nat.dataDir }),
      startAgent({ dataDir: wasm.dataDir, config: { runtime: { backend: 'wasm' } } }),
    ]);
    agents.push(a1, a2);
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '0.9.0', target: { all: true }, reason: 'both backends load it' });
    await waitFor('both boxes serve 0.9.0 and said their backend', async () => ((await served(a1)) === '0.9.0' && (await served(a2)) === '0.9.0'
      && (await device(wasm.deviceId)).reported?.backend === 'wasm' ? true : undefined), { timeoutMs: 90_000 });

    // No box has the tag yet: nothing to refuse at create.
    const dep = await s.hub.api<Deployment>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { tags: { site: 'north' } }, reason: 'north gets 1.0.0' });
    assert.equal(dep.devices.length, 0);
    const seq = (await device(wasm.deviceId)).reported?.lastAppliedSeq ?? 0;
    for (const d of [nat, wasm]) await s.hub.api('PUT', `/devices/${d.deviceId}/tags`, { tags: { site: 'north' } });

    await waitFor('the native box serves 1.0.0 and the wasm box applied its next document', async () => ((await served(a1)) === '1.0.0'
      && ((await device(wasm.deviceId)).reported?.lastAppliedSeq ?? 0) > seq ? true : undefined), { timeoutMs: 90_000 });
    assert.equal(await served(a2), '0.9.0', 'the held box keeps what it runs');
    const held = await rowOf(dep.id, wasm.deviceId);
    assert.equal(held?.status, 'refused', JSON.stringify(held));
    assert.match(held?.reason ?? '', /^BACKEND_UNSUPPORTED: the box runs the wasm backend, which cannot load strict-shape 1\.0\.0 \(.+\); the hub does not send it and the box keeps what it runs/);
    const events = await s.hub.api<EventPage>('GET', `/devices/${wasm.deviceId}/events?limit=1000`);
    assert.deepEqual(events.events.filter((e) => e.version === '1.0.0').map((e) => `${e.kind} ${e.code ?? ''}`), [], 'no download or load of 1.0.0 on the wasm box');

    const shown = await cli(['deployments', 'show', String(dep.id)]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /bh-wasm\s+refused\s+.*BACKEND_UNSUPPORTED: the box runs the wasm backend/);
    const dev = await cli(['devices', 'show', wasm.deviceId]);
    assert.equal(dev.code, 0, dev.stderr);
    assert.match(dev.stdout, new RegExp(`^held back: +strict-shape@1\\.0\\.0 \\(deployment ${dep.id}\\) since \\S+ \\([^)]*\\): BACKEND_UNSUPPORTED: the box runs the wasm backend`, 'm'));

    // Back on onnxruntime-node: the hub sends it 1.0.0 and it serves it.
    await a2.stop();
    const a4 = await startAgent({ dataDir: wasm.dataDir, config: { runtime: { backend: 'native' } } });
    agents.push(a4);
    await waitFor('the box, native again, serves 1.0.0', async () => ((await served(a4)) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
    await waitFor('its row active', async () => ((await rowOf(dep.id, wasm.deviceId))?.status === 'active' ? true : undefined), { timeoutMs: 30_000 });
    assert.equal((await device(wasm.deviceId)).heldBack, undefined);

    // The override: a deploy sent whatever the backend, audited and shown.
    const forced = await cli(['deploy', MODEL, '1.0.0', '--devices', nat.deviceId, '--allow-backend-mismatch', '--reason', 'the boxes load it', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    const id = (JSON.parse(forced.stdout) as Deployment).id;
    assert.match((await cli(['deployments', 'show', String(id)])).stdout, /^sent whatever the backend \(--allow-backend-mismatch\)$/m);
    const audit = await s.hub.api<{ entries: Array<{ action: string; details: Record<string, unknown> }> }>('GET', '/audit?action=deployment.create&order=desc&limit=5');
    assert.equal(audit.entries.find((a) => a.action === 'deployment.create' && a.details['id'] === id)?.details['allowBackendMismatch'], true);
  });
});
