// The example pipeline at small sizes: deterministic data, a trained model that
// ORT runs to the same numbers as the TypeScript forward pass, metrics that beat
// the baselines, reference counts that add up, and bundles verifyBundle accepts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundle, sha256Hex, verifyBundle, verifyTrustDocument } from '@edgefleet/shared';
import { datasetCsv, generateVibration, N_FEATURES } from './data.js';
import { binaryMetrics, rocAuc } from './metrics.js';
import { buildExampleModel, runOrt } from './pipeline.js';
import { quantileEdges } from './reference.js';
import { predict, trainMlp, DEFAULT_TRAIN } from './train.js';
import { exportVibrationOnnx } from './export.js';
import { makeExampleOutputs } from './make.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('vibration', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('the dataset is seeded, plausible, and shift changes it', () => {
    const a = generateVibration({ rows: 2000, seed: 1 });
    assert.equal(datasetCsv(a), datasetCsv(generateVibration({ rows: 2000, seed: 1 })));
    assert.notEqual(datasetCsv(a), datasetCsv(generateVibration({ rows: 2000, seed: 2 })));
    const rate = a.y.reduce((s, v) => s + v, 0) / a.rows;
    assert.ok(rate > 0.04 && rate < 0.2, `anomaly rate ${rate}`);
    const col = (d: typeof a, i: number) => Array.from({ length: d.rows }, (_, r) => d.x[r * N_FEATURES + i] as number);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const b = generateVibration({ rows: 2000, seed: 1, shift: true });
    assert.ok(mean(col(b, 10)) > mean(col(a, 10)) + 5, 'summer: ambient temperature higher');
    assert.ok(col(a, 11).every((t) => Number.isInteger(t) && t >= 0 && t < 4), 'machine type encoded 0..3');
    // Kurtosis separates bearing faults: anomalous rows have higher kurtosis on average.
    assert.ok(rocAuc(col(a, 3), a.y) > 0.55);
  });

  test('metrics: AUC and log loss by hand', () => {
    assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
    assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
    const m = binaryMetrics([0.9, 0.2], [1, 0]);
    assert.equal(m.accuracy, 1);
    assert.ok(Math.abs(m.logLoss - -(Math.log(0.9) + Math.log(0.8)) / 2) < 1e-12);
    assert.throws(() => binaryMetrics([0.1], [1, 0]), /1 predictions for 2 labels/);
  });

  test('quantileEdges: deciles, deduplicated, and a constant column still gets a bin', () => {
    assert.deepEqual(quantileEdges(Array.from({ length: 11 }, (_, i) => i), 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(quantileEdges([1, 1, 1, 2], 4), [1, 1.25, 2]);
    assert.deepEqual(quantileEdges([3, 3], 10), [2.5, 3.5]);
    assert.throws(() => quantileEdges([Number.NaN]), /no finite values/);
  });

  test('the exported ONNX graph computes what the trained network computes', async () => {
    const d = generateVibration({ rows: 600, seed: 9 });
    const m = trainMlp(d, { ...DEFAULT_TRAIN, epochs: 3 });
    const ortP = await runOrt(exportVibrationOnnx(m), d);
    const tsP = predict(m, d);
    for (let r = 0; r < d.rows; r++) assert.ok(Math.abs((ortP[r] as number) - (tsP[r] as number)) < 1e-4, `row ${r}: ${ortP[r]} vs ${tsP[r]}`);
  });

  test('a small pipeline beats the baselines and its reference adds up to the training rows', async () => {
    const ex = await buildExampleModel({ version: '1.0.0', rows: 1500, holdout: 500, train: { epochs: 10 }, gitCommit: false });
    assert.ok(ex.metrics.auc > ex.baselines.thresholdRule.auc, `model AUC ${ex.metrics.auc} vs rule ${ex.baselines.thresholdRule.auc}`);
    assert.ok(ex.metrics.logLoss < ex.baselines.majority.logLoss, `model log loss ${ex.metrics.logLoss} vs majority ${ex.baselines.majority.logLoss}`);
    const ref = ex.manifest.reference;
    assert.equal(ref?.rows, 1500);
    for (const f of ref?.features ?? []) {
      const n = f.kind === 'numeric' ? f.counts.reduce((a, b) => a + b, 0) + (f.under ?? 0) + (f.over ?? 0) : Object.values(f.counts).reduce((a, b) => a + b, 0) + f.other;
      assert.equal(n, 1500, f.name);
      if (f.kind === 'numeric') assert.equal(f.moments.n, 1500);
    }
    assert.equal(ex.manifest.provenance.data[0]?.rows, 1500);
    assert.equal(ex.manifest.provenance.data[0]?.sha256, sha256Hex(datasetCsv(ex.train)));
    assert.equal(ex.manifest.provenance.metrics.auc, Math.round(ex.metrics.auc * 1e6) / 1e6);
    assert.equal(ex.manifest.runtime.intraOpThreads, 1);
    assert.equal(ex.manifest.runtime.spinning, false);
  });

  test('makeExampleOutputs writes keys, trust.json and three bundles that verify (3.0.0 regressed on purpose); a rerun keeps the keys', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ef-example-'));
    dirs.push(out);
    const lines: string[] = [];
    const r = await makeExampleOutputs({ outDir: out, small: true, log: (l) => lines.push(l) });
    const trust = verifyTrustDocument(JSON.parse(readFileSync(r.trustPath, 'utf8')), { now: new Date() });
    assert.deepEqual(r.bundles.map((b) => b.version), ['1.0.0', '2.0.0', '3.0.0']);
    for (const b of r.bundles) {
      assert.equal(b.path, join(out, `vibration-anomaly-${b.version}.efb`));
      assert.equal((await verifyBundle(b.path, trust)).manifest.version, b.version);
    }
    assert.ok(lines.some((l) => /held-out \(onnxruntime\): accuracy 0\.\d+ {2}AUC/.test(l)), lines.join('\n'));
    const again = await makeExampleOutputs({ outDir: out, small: true });
    const trust2 = verifyTrustDocument(JSON.parse(readFileSync(again.trustPath, 'utf8')), { now: new Date() });
    assert.deepEqual(trust2.roles, trust.roles, 'same keys on a rerun');
    assert.equal((await readBundle(again.bundles[1]?.path as string)).manifest.provenance.reason.includes('recalibration'), true);
    // The regressed version is worse where it was mislabelled: compressors (its held-out accuracy drops).
    const [, v2, v3] = r.bundles;
    assert.ok((v3?.metrics.accuracy ?? 1) < (v2?.metrics.accuracy ?? 0) - 0.05, `3.0.0 accuracy ${v3?.metrics.accuracy} vs 2.0.0 ${v2?.metrics.accuracy}`);
    assert.match((await readBundle(v3?.path as string)).manifest.provenance.reason, /deliberately regressed/);
  });
});
