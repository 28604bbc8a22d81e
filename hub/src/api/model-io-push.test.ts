// POST /models refuses a signed bundle whose model does not match its manifest's io (decision 0070):
// every agent would refuse it at install. Real signed bundles over models built in code, the hub's
// verifier; the refusal names each input and output and what was expected, and nothing is stored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiInputModel, bundleFromOnnx, makeKeys, makeTrust, randomMlp, type Keys } from '@edgefleet/examples';
import type { Manifest, TrustBody } from '@edgefleet/shared';
import { bundleVerifier } from '../registry.js';
import { makeHarness, type Harness } from '../testing/harness.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('model-io-push', () => {
  let dir: string;
  let keys: Keys;
  let trust: TrustBody;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-io-push-'));
    keys = makeKeys(join(dir, 'keys'));
    trust = makeTrust(dir, keys).body;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const mlp = randomMlp({ inputDim: 4, hidden: [3], outputDim: 2, seed: 7 });

  const push = (h: Harness, file: string) =>
    h.req('POST', '/api/v1/models', { role: 'operator', body: new Uint8Array(readFileSync(file)), headers: { 'content-type': 'application/octet-stream' } });

  function blobFiles(h: Harness): string[] {
    const root = join(h.dir, 'blobs', 'sha256');
    return existsSync(root) ? readdirSync(root).flatMap((d) => readdirSync(join(root, d))) : [];
  }

  async function bundle(version: string, io: Manifest['io'], encrypt?: { key: Uint8Array }): Promise<string> {
    const b = await bundleFromOnnx({ dir: join(dir, version), onnx: mlp.onnx, name: 'pump', version, io, keys, ...(encrypt ? { encrypt } : {}) });
    return b.path;
  }

  test('a model whose io differs from the manifest is refused at push naming each tensor; nothing is stored', async () => {
    const h = makeHarness({ keys, verifyBundle: bundleVerifier(() => trust) });
    try {
      const wrong: Manifest['io'] = {
        inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, 5] }],
        outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }],
      };
      const r = await push(h, await bundle('1.0.0', wrong));
      assert.equal(r.status, 422, await r.clone().text());
      const e = ((await r.json()) as { error: { code: string; message: string; details?: unknown } }).error;
      assert.equal(e.code, 'MODEL_IO_MISMATCH', e.message);
      assert.match(e.message, /^pump 1\.0\.0: model\.onnx does not match the manifest io: /);
      assert.match(e.message, /input "input": expected datatype FP64, the model has FP32/);
      assert.match(e.message, /input "input": dimension 1 expected 5, the model has 4/);
      assert.match(e.message, /output "probs": declared in the manifest but the model has no such output \(model outputs: output\)/);
      assert.match(e.message, /every agent would refuse it at install/);
      assert.deepEqual(blobFiles(h), []);
      assert.deepEqual(h.store.models.list(), []);
      assert.deepEqual(h.store.audit.query({}), []);

      // The same model under its own io is stored.
      const ok = await push(h, await bundle('1.0.1', mlp.io));
      assert.equal(ok.status, 201, await ok.clone().text());
      assert.deepEqual(h.store.models.list().map((v) => v.version), ['1.0.1']);
    } finally {
      h.close();
    }
  });

  test('an extra model input the manifest does not declare is refused; a free dimension the model fixes at 1 passes, as on an agent', async () => {
    const h = makeHarness({ keys, verifyBundle: bundleVerifier(() => trust) });
    try {
      const renamed = await push(h, await bundle('2.0.1', { inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }], outputs: mlp.io.outputs }));
      assert.equal(renamed.status, 422);
      const e = ((await renamed.json()) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'MODEL_IO_MISMATCH');
      assert.match(e.message, /input "features": declared in the manifest but the model has no such input \(model inputs: input\)/);
      assert.match(e.message, /input "input": the model requires it but the manifest io does not declare it/);

      // The agent's rule (agent/src/runtime/session.ts): a batch dimension free in the manifest that the model fixes at 1 loads.
      const multi = buildMultiInputModel();
      const [audio, rate] = multi.io.inputs as [Manifest['io']['inputs'][number], Manifest['io']['inputs'][number]];
      assert.equal(audio.shape[0], 1);
      const b = await bundleFromOnnx({ dir: join(dir, '2.0.2'), onnx: multi.onnx, name: 'pump', version: '2.0.2', keys, io: { inputs: [{ ...audio, shape: [-1, -1] }, rate], outputs: multi.io.outputs } });
      const one = await push(h, b.path);
      assert.equal(one.status, 201, await one.clone().text());
    } finally {
      h.close();
    }
  });

  test('an encrypted model is not read at push (the hub has no content key yet): the agent checks it', async () => {
    const h = makeHarness({ keys, verifyBundle: bundleVerifier(() => trust) });
    try {
      const wrong: Manifest['io'] = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 5] }], outputs: mlp.io.outputs };
      const r = await push(h, await bundle('3.0.0', wrong, { key: randomBytes(32) }));
      assert.equal(r.status, 201, await r.clone().text());
    } finally {
      h.close();
    }
  });
});
