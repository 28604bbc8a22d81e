// Evaluation metrics for a binary classifier from predicted probabilities:
// accuracy at 0.5, ROC AUC (rank-based, ties averaged) and log loss; and the
// baselines the model is compared against.
import { N_FEATURES, type Dataset } from './data.js';

export interface BinaryMetrics {
  accuracy: number;
  auc: number;
  logLoss: number;
  positiveRate: number;
}

export function binaryMetrics(p: ArrayLike<number>, y: ArrayLike<number>): BinaryMetrics {
  const n = y.length;
  if (p.length !== n || n === 0) throw new Error(`binaryMetrics: ${p.length} predictions for ${n} labels; expected the same non-zero count`);
  let correct = 0;
  let ll = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const t = y[i] as number;
    const q = Math.min(1 - 1e-15, Math.max(1e-15, p[i] as number));
    if ((q >= 0.5 ? 1 : 0) === t) correct++;
    ll -= t * Math.log(q) + (1 - t) * Math.log(1 - q);
    pos += t;
  }
  return { accuracy: correct / n, auc: rocAuc(p, y), logLoss: ll / n, positiveRate: pos / n };
}

/** Mann-Whitney U / (n_pos * n_neg) with average ranks for ties; NaN when a class is missing. */
export function rocAuc(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => (p[a] as number) - (p[b] as number));
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && p[idx[j + 1] as number] === p[idx[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[idx[k] as number] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = y.length - nPos;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** The threshold on one feature that best separates the classes on `train` (the classic "alarm level" rule). */
export function fitThresholdRule(train: Dataset, feature: number): { feature: number; threshold: number } {
  const vals = Array.from({ length: train.rows }, (_, r) => train.x[r * N_FEATURES + feature] as number);
  const sorted = [...new Set(vals)].sort((a, b) => a - b);
  let best = { threshold: sorted[0] as number, correct: -1 };
  const step = Math.max(1, Math.floor(sorted.length / 400));
  for (let k = 0; k < sorted.length; k += step) {
    const th = sorted[k] as number;
    let correct = 0;
    for (let r = 0; r < train.rows; r++) if (((vals[r] as number) > th ? 1 : 0) === train.y[r]) correct++;
    if (correct > best.correct) best = { threshold: th, correct };
  }
  return { feature, threshold: best.threshold };
}

/** The rule's scores on `d`: the feature value itself for AUC, thresholded for accuracy (as 0/1 probabilities). */
export function thresholdRuleMetrics(rule: { feature: number; threshold: number }, d: Dataset): BinaryMetrics {
  const score = Array.from({ length: d.rows }, (_, r) => d.x[r * N_FEATURES + rule.feature] as number);
  const hard = score.map((s) => (s > rule.threshold ? 1 : 0));
  const m = binaryMetrics(hard.map((h) => (h ? 0.99 : 0.01)), d.y);
  return { ...m, auc: rocAuc(score, d.y) };
}

/** Always predicting the training set's positive rate. */
export function majorityMetrics(train: Dataset, d: Dataset): BinaryMetrics {
  let pos = 0;
  for (let r = 0; r < train.rows; r++) pos += train.y[r] as number;
  const rate = pos / train.rows;
  return binaryMetrics(new Array<number>(d.rows).fill(rate), d.y);
}
