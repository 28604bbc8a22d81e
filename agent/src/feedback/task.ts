// What a model version predicts, read from its manifest's `task` (docs/drift.md "Accuracy"): the
// predicted class and its confidence per row for a classifier, the value for a regressor. Used on the
// request path (CBPE sums in summaries/acc.ts, remembering predictions for labels), so it allocates
// nothing per row.
import type { Manifest } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';

export interface TaskPlan {
  kind: 'classification' | 'regression';
  /** The output tensor holding the prediction. */
  output: string;
  /** Class names (classification), [] for a regressor. */
  classes: string[];
  /** Scores are logits (softmax / sigmoid for the confidence) rather than probabilities. */
  logits: boolean;
  /** Regression: the output column. */
  column: number;
}

/** The task of a manifest, or null when it names none (labels are then refused, no CBPE). */
export function taskPlan(m: Pick<Manifest, 'task'>): TaskPlan | null {
  const t = m.task;
  if (!t) return null;
  // The daemon reads stored manifests without zod, so defaults are applied here too.
  if (t.kind === 'classification') return { kind: 'classification', output: t.output, classes: [...t.classes], logits: t.scores === 'logit', column: 0 };
  return { kind: 'regression', output: t.output, classes: [], logits: false, column: t.index ?? 0 };
}

function numberAt(d: RecordedTensor['data'], i: number): number {
  const v = (d as ArrayLike<number | bigint | string | boolean>)[i];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) : Number.NaN;
}

/** Values per row of the task's output: its last dimension (rank >= 2); for a rank <= 1 output, 1 or the class count. */
function strideOf(tp: TaskPlan, t: RecordedTensor): number {
  if (t.shape.length >= 2) return Math.max(1, t.shape[t.shape.length - 1] as number);
  const k = tp.classes.length;
  return tp.kind === 'classification' && k > 2 && t.data.length === k ? k : 1;
}

/**
 * Calls `each(predicted, confidence)` for every row of the task's output, in row order: the class
 * index and its probability for a classifier (a row with NaN scores gives class -1), the value and
 * NaN for a regressor. Returns the rows, or -1 when the output is absent (not asked for).
 */
export function eachPrediction(tp: TaskPlan, outputs: readonly RecordedTensor[], each: (predicted: number, confidence: number) => void): number {
  let t: RecordedTensor | undefined;
  for (let i = 0; i < outputs.length; i++) if (outputs[i]!.name === tp.output) t = outputs[i];
  if (t === undefined || t.datatype === 'BYTES') return -1;
  const d = t.data;
  const stride = strideOf(tp, t);
  const rows = Math.floor(d.length / stride);
  if (tp.kind === 'regression') {
    const col = Math.min(tp.column, stride - 1);
    for (let r = 0; r < rows; r++) each(numberAt(d, r * stride + col), Number.NaN);
    return rows;
  }
  for (let r = 0, b = 0; r < rows; r++, b += stride) {
    if (stride === 1) {
      // One score for two classes: that of classes[1], threshold 0.5.
      const s = numberAt(d, b);
      const p = tp.logits ? 1 / (1 + Math.exp(-s)) : s;
      if (p !== p) each(-1, Number.NaN);
      else each(p >= 0.5 ? 1 : 0, Math.min(1, Math.max(p, 1 - p)));
      continue;
    }
    let best = 0;
    let max = numberAt(d, b);
    for (let c = 1; c < stride; c++) {
      const s = numberAt(d, b + c);
      if (s > max || max !== max) { max = s; best = c; }
    }
    if (max !== max) { each(-1, Number.NaN); continue; }
    let conf = max;
    if (tp.logits) {
      let z = 0;
      for (let c = 0; c < stride; c++) z += Math.exp(numberAt(d, b + c) - max);
      conf = 1 / z;
    }
    each(best, Math.min(1, Math.max(0, conf)));
  }
  return rows;
}
