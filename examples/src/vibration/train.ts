// Trains the vibration anomaly model from scratch: a one-hidden-layer MLP
// (11 standardized numeric features + one-hot machine type -> H ReLU -> 1
// sigmoid) by mini-batch gradient descent with Adam on the log loss, plus L2.
// Everything is seeded, so the same data and options give the same weights.
import { makeRng } from '../rng.js';
import { MACHINE_TYPES, MACHINE_TYPE_INDEX, N_FEATURES, type Dataset } from './data.js';

export const N_NUMERIC = N_FEATURES - 1;
export const N_INPUT = N_NUMERIC + MACHINE_TYPES.length;

export interface TrainOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  seed: number;
}

export const DEFAULT_TRAIN: TrainOptions = { hidden: 16, epochs: 30, batchSize: 64, learningRate: 0.01, l2: 1e-4, seed: 11 };

export interface TrainedModel {
  /** Standardization of the numeric columns: (x - mean) * scale. */
  mean: Float32Array;
  scale: Float32Array;
  /** [N_INPUT][hidden] row-major. */
  w1: Float32Array;
  b1: Float32Array;
  /** [hidden][1]. */
  w2: Float32Array;
  b2: Float32Array;
  hidden: number;
  finalTrainLoss: number;
}

/** The network's input vector for row r: standardized numerics then a one-hot machine type. */
function encodeRow(d: Dataset, r: number, mean: Float32Array, scale: Float32Array, out: Float64Array): void {
  const base = r * N_FEATURES;
  for (let i = 0; i < N_NUMERIC; i++) out[i] = ((d.x[base + i] as number) - (mean[i] as number)) * (scale[i] as number);
  const t = d.x[base + MACHINE_TYPE_INDEX] as number;
  for (let k = 0; k < MACHINE_TYPES.length; k++) out[N_NUMERIC + k] = t === k ? 1 : 0;
}

/** P(anomalous) for every row, computed in float64 (ORT's float32 output should agree to ~1e-5). */
export function predict(m: TrainedModel, d: Dataset): Float64Array {
  const p = new Float64Array(d.rows);
  const v = new Float64Array(N_INPUT);
  const h = new Float64Array(m.hidden);
  for (let r = 0; r < d.rows; r++) {
    encodeRow(d, r, m.mean, m.scale, v);
    p[r] = forward(m, v, h);
  }
  return p;
}

type Weights = ArrayLike<number>;

function forward(m: { w1: Weights; b1: Weights; w2: Weights; b2: Weights; hidden: number }, v: ArrayLike<number>, h: Float64Array): number {
  let z = m.b2[0] as number;
  for (let j = 0; j < m.hidden; j++) {
    let s = m.b1[j] as number;
    for (let i = 0; i < N_INPUT; i++) s += (v[i] as number) * (m.w1[i * m.hidden + j] as number);
    h[j] = s > 0 ? s : 0;
    z += (h[j] as number) * (m.w2[j] as number);
  }
  return 1 / (1 + Math.exp(-z));
}

function standardization(d: Dataset): { mean: Float32Array; scale: Float32Array } {
  const mean = new Float32Array(N_NUMERIC);
  const scale = new Float32Array(N_NUMERIC);
  for (let i = 0; i < N_NUMERIC; i++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < d.rows; r++) s += d.x[r * N_FEATURES + i] as number;
    const mu = s / d.rows;
    for (let r = 0; r < d.rows; r++) s2 += ((d.x[r * N_FEATURES + i] as number) - mu) ** 2;
    const sd = Math.sqrt(s2 / Math.max(1, d.rows - 1));
    mean[i] = mu;
    scale[i] = sd > 1e-12 ? 1 / sd : 1;
  }
  return { mean, scale };
}

/** Trains on `d`; `onEpoch` sees the mean training log loss of each epoch. */
export function trainMlp(d: Dataset, opts: TrainOptions = DEFAULT_TRAIN, onEpoch?: (epoch: number, loss: number) => void): TrainedModel {
  if (d.rows < 2) throw new Error(`trainMlp: got ${d.rows} rows, expected at least 2`);
  const rng = makeRng(opts.seed);
  const H = opts.hidden;
  const { mean, scale } = standardization(d);
  const params = {
    w1: Float64Array.from({ length: N_INPUT * H }, () => rng.normal() * Math.sqrt(2 / N_INPUT)),
    b1: new Float64Array(H),
    w2: Float64Array.from({ length: H }, () => rng.normal() * Math.sqrt(1 / H)),
    b2: new Float64Array(1),
  };
  const keys = ['w1', 'b1', 'w2', 'b2'] as const;
  const grads = Object.fromEntries(keys.map((k) => [k, new Float64Array(params[k].length)])) as Record<(typeof keys)[number], Float64Array>;
  const adam = Object.fromEntries(keys.map((k) => [k, { m: new Float64Array(params[k].length), v: new Float64Array(params[k].length) }])) as Record<
    (typeof keys)[number],
    { m: Float64Array; v: Float64Array }
  >;
  const X = new Float64Array(d.rows * N_INPUT);
  const row = new Float64Array(N_INPUT);
  for (let r = 0; r < d.rows; r++) {
    encodeRow(d, r, mean, scale, row);
    X.set(row, r * N_INPUT);
  }
  const order = Array.from({ length: d.rows }, (_, i) => i);
  const h = new Float64Array(H);
  const [b1m, b2m] = [0.9, 0.999];
  let step = 0;
  let loss = 0;
  const model = { w1: params.w1, b1: params.b1, w2: params.w2, b2: params.b2, hidden: H };
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    loss = 0;
    for (let start = 0; start < order.length; start += opts.batchSize) {
      const batch = order.slice(start, start + opts.batchSize);
      for (const k of keys) grads[k].fill(0);
      for (const r of batch) {
        const v = X.subarray(r * N_INPUT, (r + 1) * N_INPUT);
        const p = forward(model, v, h);
        const t = d.y[r] as number;
        loss -= t * Math.log(Math.max(p, 1e-12)) + (1 - t) * Math.log(Math.max(1 - p, 1e-12));
        const dz = p - t; // d(logloss)/d(logit)
        grads.b2[0] = (grads.b2[0] as number) + dz;
        for (let j = 0; j < H; j++) {
          const hj = h[j] as number;
          grads.w2[j] = (grads.w2[j] as number) + dz * hj;
          if (hj <= 0) continue;
          const dh = dz * (params.w2[j] as number);
          grads.b1[j] = (grads.b1[j] as number) + dh;
          for (let i = 0; i < N_INPUT; i++) grads.w1[i * H + j] = (grads.w1[i * H + j] as number) + dh * (v[i] as number);
        }
      }
      step++;
      const lrT = (opts.learningRate * Math.sqrt(1 - b2m ** step)) / (1 - b1m ** step);
      for (const k of keys) {
        const p = params[k];
        const g = grads[k];
        const { m, v } = adam[k];
        const decay = k === 'w1' || k === 'w2' ? opts.l2 : 0;
        for (let i = 0; i < p.length; i++) {
          const gi = (g[i] as number) / batch.length + decay * (p[i] as number);
          m[i] = b1m * (m[i] as number) + (1 - b1m) * gi;
          v[i] = b2m * (v[i] as number) + (1 - b2m) * gi * gi;
          p[i] = (p[i] as number) - (lrT * (m[i] as number)) / (Math.sqrt(v[i] as number) + 1e-8);
        }
      }
    }
    loss /= d.rows;
    onEpoch?.(epoch, loss);
  }
  return {
    mean, scale, hidden: H, finalTrainLoss: loss,
    w1: Float32Array.from(params.w1), b1: Float32Array.from(params.b1), w2: Float32Array.from(params.w2), b2: Float32Array.from(params.b2),
  };
}
