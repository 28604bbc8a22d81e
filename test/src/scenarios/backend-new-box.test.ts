// Scenario (docs/decisions/0129-model-backends-checked.md, addendum "A new box waits for its first report"): boxes
// enrolled after a deploy to `all` of a version onnxruntime-web refuses (examples buildStrictShapeModel). Until a
// box's first state report the hub does not know its backend, so it leaves the version out of the box's document
// (its row `pending`, the reason saying it waits for the box's first report). A real hub and two real agent processes
// started afterwards, on a fresh data dir each: the native one reports, is sent 1.0.0 and serves it; the wasm one
// reports, is held back (`refused` BACKEND_UNSUPPORTED) and never downloads or loads 1.0.0. Then `rollout create` of
// another such version over the wasm box is refused naming --allow-backend-mismatch, and created with it (shown so).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStrictShapeModel, bundleFromOnnx, INPUT_NAME, N_FEATURES, runCli } from '@edgefleet/examples';
import { pushBundle, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { Deployment, DeviceInfo, EventPage } from '@edgefleet/shared';
import { fixtureAndHub, infer, type HubSetup } from './helpers.js';

const MODEL = 'strict-shape';
const HUB_CLI = 'hub/src/cli/main.ts';

describe('a newly enrolled box is sent a version wasm refuses only once it said its backend', () => {
  let dir: string;
  let s: HubSetup;
  const agents: AgentHandle[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backend-new-'));
    s = await fixtureAndHub(dir);
    const strict = buildStrictShapeModel(INPUT_NAME, N_FEATURES);
    await pushBundle(s.hub, (await bundleFromOnnx({ dir: join(dir, 'bundles'), onnx: strict.onnx, name: MODEL, version: '1.0.0', io: strict.io, keys: s.fx.keys })).path);
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rowOf = async (dep: number, id: string) => (await s.hub.api<Deployment>('GET', `/deployments/${dep}`)).devices.find((d) => d.deviceId === id);
  const cli = (args: string[]) => runCli(HUB_CLI, [...args, '--hub', s.hub.http, '--token', s.hub.adminToken]);

  it('waits for each box\'s first report: the native box gets 1.0.0, the wasm box is held and never loads it', async () => {
    const dep = await s.hub.api<Deployment>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'every box' });
    assert.equal(dep.devices.length, 0);
    const [nat, wasm] = await enrollAgents(s.hub, 2, { dataRoot: join(dir, 'agents'), id: (i) => ['new-native', 'new-wasm'][i] as string }) as [EnrolledAgent, EnrolledAgent];

    // Enrolled, not started: the row waits, saying why, and the stored document does not name the model.
    for (const d of [nat, wasm]) {
      const row = await rowOf(dep.id, d.deviceId);
      assert.equal(row?.status, 'pending', JSON.stringify(row));
      assert.match(row?.reason ?? '', /^waiting for the box's first state report \(its backend\): strict-shape 1\.0\.0 does not load on the wasm backend/);
    }
    const shown = await cli(['deployments', 'show', String(dep.id)]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /new-wasm\s+pending\s+.*waiting for the box's first state report/);

    const [a1, a2] = await Promise.all([
      startAgent({ dataDir: nat.dataDir }),
      startAgent({ dataDir: wasm.dataDir, config: { runtime: { backend: 'wasm' } } }),
    ]);
    agents.push(a1, a2);
    const row = [Array.from({ length: N_FEATURES }, () => 1)];
    await waitFor('the native box serves 1.0.0', async () => ((await infer(a1.url, row, MODEL)).json?.model_version === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
    await waitFor('the wasm box held back', async () => ((await rowOf(dep.id, wasm.deviceId))?.status === 'refused' ? true : undefined), { timeoutMs: 60_000 });
    assert.match((await rowOf(dep.id, wasm.deviceId))?.reason ?? '', /^BACKEND_UNSUPPORTED: the box runs the wasm backend, which cannot load strict-shape 1\.0\.0/);
    // The box applied a document after its report (so it would have acted on one naming 1.0.0).
    await waitFor('the wasm box applied the document issued after its report', async () => {
      const d = await s.hub.api<DeviceInfo>('GET', `/devices/${wasm.deviceId}`);
      return d.reported?.backend === 'wasm' && (d.reported.lastAppliedSeq ?? 0) > 0 ? true : undefined;
    }, { timeoutMs: 60_000 });
    const events = await s.hub.api<EventPage>('GET', `/devices/${wasm.deviceId}/events?limit=1000`);
    assert.deepEqual(events.events.filter((e) => e.version === '1.0.0').map((e) => `${e.kind} ${e.code ?? ''}`), [], 'no download or load of 1.0.0 on the wasm box');
    // The box serves 1.0.0 before the hub has its report of it: the row reads active once that report is in.
    await waitFor('the native box\'s row active', async () => ((await rowOf(dep.id, nat.deviceId))?.status === 'active' ? true : undefined), { timeoutMs: 30_000 });
  });

  it('rollout create over the wasm box is refused naming --allow-backend-mismatch, and created with it', async () => {
    const strict = buildStrictShapeModel(INPUT_NAME, N_FEATURES);
    await pushBundle(s.hub, (await bundleFromOnnx({ dir: join(dir, 'bundles'), onnx: strict.onnx, name: MODEL, version: '1.1.0', io: strict.io, keys: s.fx.keys })).path);
    const args = ['rollout', 'create', MODEL, '1.1.0', '--devices', 'new-wasm', '--wave', 'all:100%', '--manual', '--reason', 'these boxes load it'];
    const refused = await cli(args);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /BACKEND_UNSUPPORTED.*new-wasm \(wasm\).*create the rollout with --allow-backend-mismatch/s);
    const made = await cli([...args, '--allow-backend-mismatch', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    const shown = await cli(['rollout', 'show', id]);
    assert.match(shown.stdout, /^sent whatever the backend \(--allow-backend-mismatch\)$/m);
  });
});
