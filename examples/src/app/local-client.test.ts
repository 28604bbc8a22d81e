// The example app client (./local-client.ts) against a real agent process on its Unix socket, calling in
// a loop while a new version is installed and switched in and while the agent is stopped with SIGTERM
// and started again: every prediction is answered, none is cut mid-request (before the stop's fix of
// docs/decisions/0092, each stop cut one), and the answers name the version that served them.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust } from '../testkit/fixtures.js';
import { randomMlp } from '../onnx/models.js';
import { runCli, startProcess, type RunningProcess } from '../testkit/spawn.js';
import { waitFor } from '../testkit/wait.js';
import { LocalApiClient } from './local-client.js';

const CLI = 'agent/src/cli/main.ts';

it('an app calling in a loop through a version switch and an agent restart gets every prediction answered, none cut', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const bundle = (version: string, seed: number) => {
    const m = randomMlp({ inputDim: 4, hidden: [8], outputDim: 3, seed });
    return bundleFromOnnx({ dir: join(dir, 'bundles'), onnx: m.onnx, name: 'mlp', version, io: m.io, keys });
  };
  const data = ['--data-dir', join(dir, 'data')];
  assert.equal((await runCli(CLI, ['trust', 'set', trust.path, ...data])).code, 0);
  const v1 = await runCli(CLI, ['install', (await bundle('1.0.0', 1)).path, ...data]);
  assert.equal(v1.code, 0, v1.stderr);
  const socketPath = join(dir, 'agent.sock');
  const config = join(dir, 'agent.json');
  writeFileSync(config, JSON.stringify({ dataDir: 'data', api: { port: 0, socket: 'agent.sock' } }));
  const run = async (): Promise<RunningProcess> => {
    const p = startProcess(CLI, ['run', '--config', config]);
    t.after(() => p.stop('SIGTERM', 10_000));
    await p.waitForLine(/"msg":"ready"/);
    return p;
  };
  let agent = await run();

  const client = new LocalApiClient(socketPath, { patienceMs: 20_000, retryMs: 20 });
  t.after(() => client.close());
  assert.deepEqual(await client.index(), [{ name: 'mlp', version: '1.0.0', state: 'READY', reason: '' }]);
  const meta = await client.metadata('mlp');
  assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);

  const versions = new Map<string, number>();
  let answered = 0;
  let done = false;
  const loop = async () => {
    for (let i = 0; !done; i++) {
      const a = await client.infer('mlp', [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [i % 7, 1, 2, 3] }], `r${i}`);
      assert.equal(a.id, `r${i}`);
      assert.deepEqual(a.outputs[0]?.shape, [1, 3]);
      versions.set(a.model_version, (versions.get(a.model_version) ?? 0) + 1);
      answered++;
    }
  };
  const loops = [loop(), loop(), loop()];
  const answeredBy = async (more: number, what: string) => {
    const target = answered + more;
    await waitFor(what, () => answered >= target || undefined, { timeoutMs: 30_000 });
  };
  await answeredBy(30, 'answers from 1.0.0');
  const v2 = await runCli(CLI, ['install', (await bundle('2.0.0', 2)).path, ...data]);
  assert.equal(v2.code, 0, v2.stderr);
  await waitFor('answers from 2.0.0', () => versions.has('2.0.0') || undefined, { timeoutMs: 30_000 });
  // Stopped under the app, then started again: the loops wait (refused, ENOENT) and go on.
  assert.deepEqual(await agent.stop('SIGTERM', 10_000), { code: 0, signal: null });
  agent = await run();
  await answeredBy(30, 'answers after the restart');
  done = true;
  await Promise.all(loops);

  assert.deepEqual([...versions.keys()], ['1.0.0', '2.0.0']);
  assert.equal(client.resent, 0, 'no request was cut mid-way (ECONNRESET, EPIPE)');
  assert.ok(client.retried > 0, 'the loops waited for the agent while it was away');
  assert.deepEqual(await client.index(), [{ name: 'mlp', version: '2.0.0', state: 'READY', reason: '' }]);
});
