// What `npm run example:model` does: keys (kept across runs), trust.json, and
// the example bundles v1.0.0 (baseline data), v2.0.0 (shifted data) and v3.0.0 (shifted data, compressor
// labels flipped: regressed on purpose, for the rollout story), each
// verified after signing; returns a report of what was made and the metrics.
import { join } from 'node:path';
import { verifyBundle } from '@edgefleet/shared';
import { buildExampleBundle, loadOrMakeKeys, makeTrust } from '../testkit/fixtures.js';
import type { BinaryMetrics } from './metrics.js';

export interface MakeExampleOptions {
  outDir: string;
  /** Test sizes (fast) instead of the full dataset. */
  small?: boolean;
  log?: (line: string) => void;
}

export interface MadeBundle {
  version: string;
  path: string;
  manifestSha256: string;
  size: number;
  trainRows: number;
  metrics: BinaryMetrics;
  baselines: { thresholdRule: BinaryMetrics & { threshold: number }; majority: BinaryMetrics };
}

const f = (x: number) => x.toFixed(4);

export async function makeExampleOutputs(o: MakeExampleOptions): Promise<{ keysDir: string; trustPath: string; bundles: MadeBundle[] }> {
  const log = o.log ?? (() => {});
  const keysDir = join(o.outDir, 'keys');
  const keys = await loadOrMakeKeys(keysDir);
  log(`keys:   ${keysDir} (root ${keys.root.keyId.slice(0, 12)}…, release ${keys.release.keyId.slice(0, 12)}…, hub ${keys.hub.keyId.slice(0, 12)}…, untrusted ${keys.untrusted.keyId.slice(0, 12)}…)`);
  const trust = makeTrust(o.outDir, keys);
  log(`trust:  ${trust.path} (version ${trust.body.version}, expires ${trust.body.expires})`);
  const bundles: MadeBundle[] = [];
  // 3.0.0 is deliberately regressed (compressor labels flipped): the one a rollout's gates stop at canary.
  for (const [version, shift, regress] of [['1.0.0', false, false], ['2.0.0', true, false], ['3.0.0', true, true]] as const) {
    const started = Date.now();
    const b = await buildExampleBundle({ dir: o.outDir, version, shift, keys, full: !o.small, example: { gitCommit: true, ...(regress ? { regress } : {}) } });
    const verified = await verifyBundle(b.path, trust.body);
    const { metrics: m, baselines, train } = b.model;
    log(`model:  ${b.path} (${b.size} bytes, manifest sha256 ${verified.manifestSha256.slice(0, 16)}…, ${Date.now() - started} ms)`);
    log(`        trained on ${train.rows} rows of ${shift ? 'shifted (summer + sensor recalibration)' : 'baseline'} data${regress ? ' with every compressor mislabelled (regressed on purpose)' : ''}; reason: ${verified.manifest.provenance.reason}`);
    log(`        held-out (onnxruntime): accuracy ${f(m.accuracy)}  AUC ${f(m.auc)}  log loss ${f(m.logLoss)}  (anomaly rate ${f(m.positiveRate)})`);
    log(`        baseline rms_velocity > ${baselines.thresholdRule.threshold.toFixed(2)} mm/s: accuracy ${f(baselines.thresholdRule.accuracy)}  AUC ${f(baselines.thresholdRule.auc)}`);
    log(`        baseline majority class: accuracy ${f(baselines.majority.accuracy)}  log loss ${f(baselines.majority.logLoss)}`);
    log(`        verified: signed by release key ${verified.signatures.signatures.map((s) => s.keyId.slice(0, 12)).join(', ')}…`);
    bundles.push({ version, path: b.path, manifestSha256: verified.manifestSha256, size: b.size, trainRows: train.rows, metrics: m, baselines });
  }
  return { keysDir, trustPath: trust.path, bundles };
}
