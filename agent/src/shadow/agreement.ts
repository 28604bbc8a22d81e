// Whether a candidate's outputs agree with the answer the current version gave (docs/agent.md "Shadow
// evaluation", decision 0032). The kind of each output is read from the current version's manifest
// (io.outputs): an integer, boolean or string output is a label and must be equal; a float output with
// more than one value per row holds class scores and agrees when each row's argmax is the same; a float
// output with one value per row is a regression and agrees within |a - b| <= tolerance * max(1, |a|),
// or, when the rollout gives a threshold, a class score (a probability) that agrees when both sides are
// on the same side of it (the manifest cannot tell a probability from a regression).
import type { Manifest } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';

export type OutputKind = 'label' | 'class' | 'value';

const FLOATS = new Set(['FP16', 'FP32', 'FP64']);

/** The kind of an output from its manifest spec (and, for a free last dimension, the tensor sent). */
export function outputKind(spec: { datatype: string; shape: readonly number[] } | undefined, actual: RecordedTensor): OutputKind {
  const datatype = spec?.datatype ?? actual.datatype;
  if (!FLOATS.has(datatype)) return 'label';
  const shape = spec && spec.shape.length > 0 && spec.shape[spec.shape.length - 1] !== -1 ? spec.shape : actual.shape;
  const last = shape.length >= 2 ? (shape[shape.length - 1] as number) : 1;
  return last > 1 ? 'class' : 'value';
}

const num = (x: unknown): number => (typeof x === 'bigint' ? Number(x) : (x as number));

/** How single-value float outputs are compared: within `tolerance`, or as a class at `threshold` when set. */
export interface AgreementRule {
  tolerance: number;
  threshold?: number | undefined;
}

function rowsAgree(kind: OutputKind, a: RecordedTensor, b: RecordedTensor, rule: AgreementRule): boolean {
  const da = a.data as ArrayLike<unknown>;
  const db = b.data as ArrayLike<unknown>;
  if (da.length !== db.length || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  if (kind === 'label') {
    for (let i = 0; i < da.length; i++) if (da[i] !== db[i]) return false;
    return true;
  }
  if (kind === 'value') {
    const { tolerance, threshold } = rule;
    for (let i = 0; i < da.length; i++) {
      const x = num(da[i]);
      const y = num(db[i]);
      if (threshold !== undefined) {
        if ((x >= threshold) !== (y >= threshold)) return false;
      } else if (!(Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x))) && !(Number.isNaN(x) && Number.isNaN(y))) return false;
    }
    return true;
  }
  const width = a.shape[a.shape.length - 1] as number;
  for (let r = 0; r < da.length; r += width) {
    let ia = r;
    let ib = r;
    for (let j = r + 1; j < r + width; j++) {
      if (num(da[j]) > num(da[ia])) ia = j;
      if (num(db[j]) > num(db[ib])) ib = j;
    }
    if (ia !== ib) return false;
  }
  return true;
}

/**
 * True when every output of the answer has a candidate output of the same name that agrees with it row
 * by row (one request is one sample, whatever its rows).
 */
export function outputsAgree(current: Manifest, answer: readonly RecordedTensor[], candidate: readonly RecordedTensor[], rule: AgreementRule): boolean {
  if (answer.length === 0) return false;
  for (const a of answer) {
    const b = candidate.find((t) => t.name === a.name);
    if (!b) return false;
    const spec = current.io.outputs.find((o) => o.name === a.name);
    if (!rowsAgree(outputKind(spec, a), a, b, rule)) return false;
  }
  return true;
}
