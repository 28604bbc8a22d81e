// The example model end to end, short of packing: generate data, train, export
// to ONNX, evaluate the exported model in onnxruntime-node on held-out rows
// (metrics next to two baselines), profile the training data, and write the
// manifest (everything but `files`, which packing fills in).
import { execFileSync } from 'node:child_process';
import type { ManifestInput } from '@edgefleet/shared';
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import ort from 'onnxruntime-node';
import { datasetCsv, generateVibration, sliceDataset, MACHINE_TYPES, MACHINE_TYPE_INDEX, VIBRATION_FEATURES, N_FEATURES, type Dataset } from './data.js';
import { exportVibrationOnnx, INPUT_NAME, OUTPUT_NAME, VIBRATION_IO } from './export.js';
import { binaryMetrics, fitThresholdRule, majorityMetrics, thresholdRuleMetrics, type BinaryMetrics } from './metrics.js';
import { computeReference, uniformEdges } from './reference.js';
import { DEFAULT_TRAIN, trainMlp, type TrainOptions } from './train.js';
import { sha256Hex } from '@edgefleet/shared';

export const EXAMPLE_MODEL_NAME = 'vibration-anomaly';

export interface ExampleOptions {
  version: string;
  /** Train on the shifted distribution (summer + sensor recalibration). */
  shift?: boolean;
  /** Training rows (default 6000) and held-out rows (default 2000). */
  rows?: number;
  holdout?: number;
  seed?: number;
  train?: Partial<TrainOptions>;
  /** ISO time for `created` (default: a fixed date per version, so bundles are reproducible). */
  created?: string;
  reason?: string;
  /** Record `git rev-parse HEAD` in provenance (default true). */
  gitCommit?: boolean;
  /**
   * A deliberately regressed model for the rollout story (docs/rollouts.md): trained with the labels of
   * every compressor flipped, so it is wrong on that part of the input space (healthy compressors come out
   * anomalous) while still installing and answering like any other version.
   */
  regress?: boolean;
  /**
   * Train and evaluate on these labelled rows instead of generated ones, e.g. rows captured from the
   * fleet (examples/src/loop/retrain.ts); `name` and the URIs go into provenance.data. `reference`:
   * the rows the manifest's reference profile describes (default the training rows), e.g. only the
   * recent traffic when older rows are mixed into training.
   */
  data?: { train: Dataset; holdout: Dataset; name: string; uri: string; holdoutUri: string; reference?: Dataset };
}

export interface ExampleModel {
  onnx: Uint8Array;
  /** The manifest without `files` (packing adds them). */
  manifest: Omit<ManifestInput, 'files'>;
  metrics: BinaryMetrics;
  baselines: { thresholdRule: BinaryMetrics & { threshold: number }; majority: BinaryMetrics };
  train: Dataset;
  holdout: Dataset;
  trainLoss: number;
}

/** P(anomalous) per row from the exported model, run by onnxruntime-node. */
export async function runOrt(onnx: Uint8Array, d: Dataset): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await s.run({ [INPUT_NAME]: new ort.Tensor('float32', d.x, [d.rows, N_FEATURES]) });
    return (out[OUTPUT_NAME] as ort.Tensor).data as Float32Array;
  } finally {
    await s.release();
  }
}

/** `git rev-parse HEAD` of the working directory, or undefined outside a checkout. */
export function gitHead(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const round = (m: object) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round((v as number) * 1e6) / 1e6]));

/** The dataset with the label of every compressor row flipped (see ExampleOptions.regress). */
function flipCompressors(d: Dataset): Dataset {
  const y = d.y.slice();
  const compressor = MACHINE_TYPES.indexOf('compressor');
  for (let r = 0; r < d.rows; r++) if (d.x[r * N_FEATURES + MACHINE_TYPE_INDEX] === compressor) y[r] = 1 - (y[r] as number);
  return { ...d, y };
}

export async function buildExampleModel(opts: ExampleOptions): Promise<ExampleModel> {
  const shift = opts.shift ?? false;
  const rows = opts.rows ?? 6000;
  const holdoutRows = opts.holdout ?? 2000;
  const seed = opts.seed ?? (shift ? 2002 : 1001);
  const hp: TrainOptions = { ...DEFAULT_TRAIN, ...opts.train };
  const all = opts.data ? undefined : generateVibration({ rows: rows + holdoutRows, seed, shift });
  const train = opts.data?.train ?? sliceDataset(all as Dataset, 0, rows);
  const holdout = opts.data?.holdout ?? sliceDataset(all as Dataset, rows, rows + holdoutRows);

  const model = trainMlp(opts.regress ? flipCompressors(train) : train, hp);
  const onnx = exportVibrationOnnx(model, { model: EXAMPLE_MODEL_NAME, version: opts.version });
  const pHold = await runOrt(onnx, holdout);
  const metrics = binaryMetrics(pHold, holdout.y);
  const rule = fitThresholdRule(train, 0);
  const thresholdRule = { ...thresholdRuleMetrics(rule, holdout), threshold: rule.threshold };
  const majority = majorityMetrics(train, holdout);

  // The reference profile: what the model is expected to see (the training rows, or `data.reference`).
  const refRows = opts.data?.reference ?? train;
  const pTrain = await runOrt(onnx, refRows);
  const reference = computeReference({
    features: VIBRATION_FEATURES, x: refRows.x, columns: N_FEATURES, rows: refRows.rows,
    outputs: [{ name: OUTPUT_NAME, index: 0, values: pTrain, edges: uniformEdges(0, 1, 10) }],
  });

  const commit = opts.gitCommit === false ? undefined : gitHead();
  const manifest: Omit<ManifestInput, 'files'> = {
    schema: 'edgefleet.manifest/v1',
    name: EXAMPLE_MODEL_NAME,
    version: opts.version,
    created: opts.created ?? (shift ? '2026-04-01T09:00:00Z' : '2026-01-15T09:00:00Z'),
    description: 'Probability that a machine vibration measurement is anomalous (imbalance, misalignment or bearing wear), from 12 features.',
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0', intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimization: 'all', executionProviders: ['cpu'] },
    io: VIBRATION_IO,
    features: VIBRATION_FEATURES,
    reference,
    // A binary classifier: the one output column is P(anomalous), classes[1] (docs/drift.md "Accuracy").
    task: { kind: 'classification', output: OUTPUT_NAME, classes: ['normal', 'anomalous'], scores: 'probability' },
    provenance: {
      data: opts.data ? [
        { name: `${opts.data.name}-train`, sha256: sha256Hex(datasetCsv(train)), rows: train.rows, uri: opts.data.uri },
        { name: `${opts.data.name}-holdout`, sha256: sha256Hex(datasetCsv(holdout)), rows: holdout.rows, uri: opts.data.holdoutUri },
      ] : [
        { name: `vibration-synthetic-${shift ? 'shifted' : 'baseline'}-train`, sha256: sha256Hex(datasetCsv(train)), rows: train.rows, uri: `synthetic:vibration?seed=${seed}&shift=${shift}&rows=0-${rows}` },
        { name: `vibration-synthetic-${shift ? 'shifted' : 'baseline'}-holdout`, sha256: sha256Hex(datasetCsv(holdout)), rows: holdout.rows, uri: `synthetic:vibration?seed=${seed}&shift=${shift}&rows=${rows}-${rows + holdoutRows}` },
      ],
      featureDefinitions: Object.fromEntries(VIBRATION_FEATURES.map((f) => [f.name, `${f.description ?? ''}${f.unit ? ` [${f.unit}]` : ''}`])),
      training: {
        code: 'examples/src/vibration/train.ts',
        ...(commit ? { commit } : {}),
        algorithm: `MLP ${N_FEATURES - 1}+onehot(4) -> ${hp.hidden} ReLU -> 1 sigmoid, Adam on log loss with L2; standardization in the graph`,
        hyperparameters: { ...hp, trainRows: train.rows, holdoutRows: holdout.rows },
      },
      metrics: { ...round(metrics), trainLogLoss: Math.round(model.finalTrainLoss * 1e6) / 1e6 },
      baseline: {
        name: `threshold rule: rms_velocity > ${rule.threshold.toFixed(3)} mm/s (fitted on training data); majority class accuracy ${majority.accuracy.toFixed(4)}`,
        metrics: { ...round(thresholdRule), majorityAccuracy: round(majority).accuracy as number, majorityLogLoss: round(majority).logLoss as number },
      },
      reason: opts.reason ?? (opts.regress
        ? 'retrained on a relabelled batch (a labelling error flipped every compressor: deliberately regressed, for the rollout example)'
        : shift
        ? 'retrained after the summer season and the velocity sensor recalibration shifted the inputs'
        : 'first version of the vibration anomaly model'),
    },
    policy: { maxErrorRate: 0.05, maxP95LatencyMs: 50, observationWindowSec: 300, minRequests: 20 },
  };
  return { onnx, manifest, metrics, baselines: { thresholdRule, majority }, train, holdout, trainLoss: model.finalTrainLoss };
}
