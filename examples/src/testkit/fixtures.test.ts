// The test kit's bundles must be what the rest of the repo relies on: signed by
// the trusted release key and accepted by verifyBundle; refused when unsigned or
// signed only by the untrusted key; models that load and compute in ORT.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import ort from 'onnxruntime-node';
import { extractBundleFile, readBundle, readSecretKeyFile, verifyBundle, verifyTrustDocument } from '@edgefleet/shared';
import { randomMlp } from '../onnx/models.js';
import { bundleFromOnnx, makeFixture, type Fixture } from './fixtures.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('fixtures', () => {
  let dir: string;
  let fx: Fixture;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-fixture-'));
    fx = await makeFixture(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keys are written with the secret at mode 0600 and read back', async () => {
    assert.equal(statSync(fx.keys.files.release.keyPath).mode & 0o777, 0o600);
    const k = await readSecretKeyFile(fx.keys.files.untrusted.keyPath);
    assert.equal(k.role, 'release');
    assert.equal(k.keyId, fx.keys.untrusted.keyId);
  });

  test('trust.json verifies and names root, release and hub but not the untrusted key', () => {
    const body = verifyTrustDocument(JSON.parse(readFileSync(fx.trustPath, 'utf8')), { now: new Date() });
    assert.deepEqual(body.roles.release.keyIds, [fx.keys.release.keyId]);
    assert.deepEqual(body.roles.hub.keyIds, [fx.keys.hub.keyId]);
    assert.ok(!(fx.keys.untrusted.keyId in body.keys));
  });

  test('v1, v2 and the multi-input bundle pass verifyBundle', async () => {
    for (const [path, name, version] of [[fx.v1, 'vibration-anomaly', '1.0.0'], [fx.v2, 'vibration-anomaly', '2.0.0'], [fx.multi, 'audio-energy', '1.0.0']] as const) {
      const v = await verifyBundle(path, fx.trust);
      assert.equal(v.manifest.name, name);
      assert.equal(v.manifest.version, version);
      assert.equal(v.signatures.signatures[0]?.keyId, fx.keys.release.keyId);
    }
  });

  test('example reference counts sum to the training rows, and v2 differs from v1 (shifted data)', async () => {
    const m1 = (await readBundle(fx.v1)).manifest;
    const m2 = (await readBundle(fx.v2)).manifest;
    const rows = m1.provenance.data[0]?.rows;
    assert.equal(m1.reference?.rows, rows);
    assert.equal(m1.reference?.features.length, 12);
    for (const f of m1.reference?.features ?? []) {
      const total = f.kind === 'numeric'
        ? f.counts.reduce((a, b) => a + b, 0) + f.under + f.over
        : Object.values(f.counts).reduce((a, b) => a + b, 0) + f.other;
      assert.equal(total, rows, `feature ${f.name}`);
    }
    const out = m1.reference?.outputs[0];
    assert.equal(out?.name, 'anomaly_probability');
    assert.equal(out.counts.reduce((a, b) => a + b, 0) + out.under + out.over, rows);
    const rms1 = m1.reference?.features[0];
    const rms2 = m2.reference?.features[0];
    assert.ok(rms1?.kind === 'numeric' && rms2?.kind === 'numeric');
    assert.ok(rms2.moments.mean > rms1.moments.mean * 1.1, 'recalibrated sensors read higher');
    assert.notEqual(m1.reference?.id, m2.reference?.id);
    assert.match(m2.provenance.reason, /recalibration/);
  });

  test('the multi-input bundle has no features and an output reference on energy', async () => {
    const m = (await readBundle(fx.multi)).manifest;
    assert.equal(m.features, undefined);
    assert.deepEqual(m.io.inputs.map((i) => [i.name, i.datatype, i.shape]), [['audio', 'FP32', [1, -1]], ['sample_rate', 'INT64', []]]);
    assert.equal(m.reference?.outputs[0]?.name, 'energy');
    assert.equal(m.reference?.outputs[0]?.counts.reduce((a, b) => a + b, 0), m.reference?.rows);
  });

  test('the example model inside the bundle runs in ORT on a row of raw features', async () => {
    const dest = join(dir, 'extracted.onnx');
    await extractBundleFile(fx.v1, 'model.onnx', dest);
    const s = await ort.InferenceSession.create(dest);
    try {
      // A healthy pump and a pump with strong bearing wear signs.
      const healthy = [1.2, 0.35, 2.7, 3.1, 45, 1460, 60, 0.7, 0.25, 0.02, 21, 0];
      const worn = [2.5, 1.6, 6.5, 16, 75, 1460, 90, 0.9, 0.3, 0.5, 21, 0];
      const out = await s.run({ features: new ort.Tensor('float32', Float32Array.from([...healthy, ...worn]), [2, 12]) });
      const p = (out.anomaly_probability as ort.Tensor).data as Float32Array;
      assert.ok((p[0] as number) < 0.5, `healthy row scored ${p[0]}`);
      assert.ok((p[1] as number) > 0.5, `worn row scored ${p[1]}`);
    } finally {
      await s.release();
    }
  });

  test('bundleFromOnnx: unsigned and untrusted-signed bundles are refused by verifyBundle', async () => {
    const m = randomMlp({ inputDim: 4, hidden: [8], outputDim: 2, seed: 3 });
    const unsigned = await bundleFromOnnx({ dir, onnx: m.onnx, name: 'tiny', version: '0.1.0', io: m.io, sign: false });
    await assert.rejects(verifyBundle(unsigned.path, fx.trust), (e: Error & { code?: string }) => e.code === 'THRESHOLD_NOT_MET' || /threshold/i.test(e.message));
    const untrusted = await bundleFromOnnx({ dir, onnx: m.onnx, name: 'tiny', version: '0.2.0', io: m.io, signWith: [fx.keys.untrusted] });
    await assert.rejects(verifyBundle(untrusted.path, fx.trust), /threshold|untrusted|release/i);
    const good = await bundleFromOnnx({ dir, onnx: m.onnx, name: 'tiny', version: '0.3.0', io: m.io, keys: fx.keys, policy: { maxP95LatencyMs: 10 } });
    const v = await verifyBundle(good.path, fx.trust);
    assert.equal(v.manifest.policy.maxP95LatencyMs, 10);
    await assert.rejects(
      bundleFromOnnx({ dir, onnx: m.onnx, name: 'tiny', version: '0.4.0', io: m.io }),
      /no keys were given; expected keys or signWith/,
    );
  });
});
