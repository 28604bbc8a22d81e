// A remote configuration that passes the schema but with which the box's models do not load (docs/agent.md
// "Remote configuration"), with a real hub, a real enrolled agent process and a real ONNX model: a graph
// whose declared output shape its own shape inference contradicts, which onnxruntime-node loads and serves
// and onnxruntime-web's WebAssembly build refuses. `runtime.backend=wasm` from the hub restarts the agent
// (exit 75); started again, no model loads with it: the start fails (exit 1) naming the model, the agent
// goes back to the settings it ran with, and started once more it serves the model again and reports the
// new configuration `failed` with the reason, which the operator sees in `edgefleet config show`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStrictShapeModel, bundleFromOnnx, INPUT_NAME, N_FEATURES } from '@edgefleet/examples';
import { pushBundle, startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { RESTART_EXIT_CODE } from '@edgefleet/shared';
import { configTools, fixtureAndHub, infer, type HubSetup } from './helpers.js';

const MODEL = 'strict-shape';

describe('a remote configuration with which no model loads', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const row = [Array.from({ length: N_FEATURES }, () => 1)];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-config-load-'));
    s = await fixtureAndHub(dir);
    const m = buildStrictShapeModel(INPUT_NAME, N_FEATURES);
    const bundle = await bundleFromOnnx({ dir: join(dir, 'bundles'), onnx: m.onnx, name: MODEL, version: '1.0.0', io: m.io, keys: s.fx.keys });
    await pushBundle(s.hub, bundle.path);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'load-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const { cli, view } = configTools(() => s, () => dev.deviceId);
  const start = () => startAgent({ dataDir: dev.dataDir, config: { sync: { reconnectMs: 300 } } });

  it('fails the start, goes back to the settings it ran with, serves again and reports the configuration failed with the reason', async () => {
    agent = await start();
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'config load test' });
    await waitFor('the model served', async () => (await infer(agent!.url, row, MODEL)).status === 200, { timeoutMs: 90_000 });

    const set = await cli(['set', 'fleet', '--set', 'runtime.backend=wasm', '--reason', 'the WebAssembly backend']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await agent.process.exited, { code: RESTART_EXIT_CODE, signal: null }, 'the restart the setting needs');
    const wanted = (await view()).sha256;

    // Started again (as systemd's Restart= does) with the new settings: the model does not load with them.
    agent = undefined;
    const failing = await start().catch((err: Error) => err);
    const out = failing instanceof Error ? failing.message : `${failing.process.output().stdout}${failing.process.output().stderr}`;
    if (!(failing instanceof Error)) {
      const exit = await Promise.race([failing.process.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref())]);
      await failing.stop();
      assert.fail(`the agent started with a configuration no model loads with (exit ${JSON.stringify(exit)}); hub view: ${JSON.stringify(await view())}\n${out.slice(-2000)}`);
    }
    assert.match(out, /the agent did not start with the remote configuration/);
    const failed = JSON.parse(readFileSync(join(dev.dataDir, 'remote-config.failed.json'), 'utf8')) as { sha256: string; code: string; message: string };
    assert.equal(failed.sha256, wanted);
    assert.equal(failed.code, 'MODEL_LOAD_FAILED');
    assert.match(failed.message, new RegExp(`${MODEL}@1\\.0\\.0 does not load in onnxruntime \\(wasm\\)`));

    // Started once more: the settings it ran with, the model served, the new configuration reported failed.
    agent = await start();
    assert.equal((await infer(agent.url, row, MODEL)).status, 200, 'serving on the configuration it had');
    const reported = await waitFor('the hub shows the configuration failed', async () => {
      const v = await view();
      return v.reported?.status === 'failed' ? v : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(reported.applied, false);
    assert.equal(reported.reported?.error?.sha256, wanted);
    assert.equal(reported.reported?.error?.code, 'MODEL_LOAD_FAILED');
    const shown = await cli(['show', 'fleet', '--devices']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`load-1\\s+.*failed \\(MODEL_LOAD_FAILED: the agent did not start with it: 1 of 1 active models did not load with runtime\\.backend changed: model ${MODEL}@1\\.0\\.0 does not load in onnxruntime \\(wasm\\): .*\\)\\s+no`));
    // Not applied again (no restart loop): still the same process, still serving.
    assert.equal((await infer(agent.url, row, MODEL)).status, 200);
    assert.equal(agent.process.child.exitCode, null);
  });
});
