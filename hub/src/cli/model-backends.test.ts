// `model pack` test-loads the model on onnxruntime-web too and says which backends load it; `model push`,
// `model ls` and `model show` against a real hub process show what the hub found at push (real sessions of
// both backends, models built in code; docs/decisions/0129-model-backends-checked.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStrictShapeModel, makeKeys, makeTrust, randomMlp, runCli, startProcess } from '@edgefleet/examples';
import type { ModelVersionInfo } from '@edgefleet/shared';

const CLI = 'hub/src/cli/main.ts';

function manifest(name: string, io: unknown): string {
  return JSON.stringify({
    schema: 'edgefleet.manifest/v1', name, version: '1.0.0', description: `${name} model`,
    runtime: { opset: 17, minAgentVersion: '0.1.0', intraOpThreads: 1 }, io,
    provenance: { data: [], training: { code: 'train.ts', commit: 'abc123', hyperparameters: {} }, metrics: {}, reason: 'test' },
  });
}

test('pack, push, ls and show say which backends load a model; one wasm refuses is packed and pushed with a warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cli-backends-'));
  const p = (f: string) => join(dir, f);
  const keys = makeKeys(p('keys'));
  const trust = makeTrust(dir, keys);
  const mlp = randomMlp({ inputDim: 3, hidden: [4], outputDim: 2, seed: 3 });
  const strict = buildStrictShapeModel();
  writeFileSync(p('mlp.onnx'), mlp.onnx);
  writeFileSync(p('strict.onnx'), strict.onnx);
  writeFileSync(p('mlp.json'), manifest('both', mlp.io));
  writeFileSync(p('strict.json'), manifest('strict', strict.io));
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', p('hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
  try {
    const both = await runCli(CLI, ['model', 'pack', '--manifest', p('mlp.json'), '--model', p('mlp.onnx'), '--out', p('both.efb')]);
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /^backends: loads on native, wasm$/m);
    assert.equal(both.stderr, '');

    const one = await runCli(CLI, ['model', 'pack', '--manifest', p('strict.json'), '--model', p('strict.onnx'), '--out', p('strict.efb')]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^backends: loads on native; not on wasm: \S.*$/m);
    assert.match(one.stderr, /^warning: strict@1\.0\.0 does not load on the wasm backend \(onnxruntime-web\): .+; boxes on runtime\.backend wasm cannot install it/m);

    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    const admin = readFileSync(p('hub/admin.token'), 'utf8').trim();
    const cli = (args: string[]) => runCli(CLI, args, { env: { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: admin } });
    for (const b of ['both', 'strict']) {
      const s = await runCli(CLI, ['model', 'sign', p(`${b}.efb`), '--key', keys.files.release.keyPath]);
      assert.equal(s.code, 0, s.stderr);
    }
    const pushed = await cli(['model', 'push', p('strict.efb')]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, /^backends: loads on native; not on wasm: \S/m);
    assert.match(pushed.stderr, /^warning: strict 1\.0\.0 does not load on the wasm backend/m);
    const json = await cli(['model', 'push', p('both.efb'), '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as ModelVersionInfo).backends, { loads: ['native', 'wasm'], refused: {} });

    const ls = await cli(['model', 'ls']);
    assert.match(ls.stdout, /^NAME\s.*\sBACKENDS$/m);
    assert.match(ls.stdout, /^both\s+1\.0\.0\s.*\snative, wasm$/m);
    assert.match(ls.stdout, /^strict\s+1\.0\.0\s.*\snative$/m);
    const show = await cli(['model', 'show', 'strict', '1.0.0']);
    assert.match(show.stdout, /^backends: loads on native; not on wasm: \S/m);
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
