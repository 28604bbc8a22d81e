// One open summary window in typed arrays: the hot path (record) only does
// arithmetic on these (kernels in acc-kernels.ts); toWire() builds the SummaryWindow when the
// window closes (acc-wire.ts).
import { LATENCY_BUCKETS } from '@edgefleet/shared/core';
import type { SummaryWindow } from '@edgefleet/shared';
import { eachPrediction, type TaskPlan } from '../feedback/task.js';
import type { VersionPlan } from './layout.js';
import { ShadowTally } from './shadow-tally.js';
import { addMoment, find, initMoments, latencyIndex, MOM, numeric, strideOf, type Numbers } from './acc-kernels.js';
import { windowToWire } from './acc-wire.js';

import type { RecordedTensor } from '../runtime/recorder.js';

export { latencyIndex } from './acc-kernels.js';

export class WindowAcc {
  count = 0;
  readonly errors = new Map<string, number>();
  readonly latency: Float64Array;
  latencySumMs = 0;
  /** The failed requests' share of `latency` (wire `errorLatency`); allocated by the first error. */
  errorLatency: Float64Array | null = null;
  errorLatencySumMs = 0;
  /** Candidates run in shadow beside this version (docs/agent-summaries.md "Shadow"); allocated by the first sample. */
  shadows: ShadowTally[] | null = null;
  readonly bins: Float64Array;
  readonly fMom: Float64Array;
  readonly fNans: Float64Array;
  readonly oMom: Float64Array;
  readonly iMom: Float64Array;
  readonly iNans: Float64Array;
  /** CBPE: predicted rows with a confidence, and the sum of their confidence (classifiers). */
  confN = 0;
  confSum = 0;
  /** Labels counted in this window (docs/drift.md "Accuracy"); the confusion matrix once a classifier's label comes. */
  labelled = 0;
  correct = 0;
  confusion: Float64Array | null = null;
  absErrorSum = 0;
  sqErrorSum = 0;
  /** The classifier's task (CBPE sums per predicted row), null otherwise: one field test on the request path. */
  private readonly cbpe: TaskPlan | null;
  private readonly onConfidence = (_p: number, c: number): void => {
    if (c !== c) return;
    this.confN++;
    this.confSum += c;
  };
  // position hints: index of each feature's / output's tensor in the last call
  private readonly fHint: Int32Array;
  private readonly oHint: Int32Array;

  constructor(
    readonly plan: VersionPlan,
    readonly startMs: number,
    readonly lengthSec: number,
    /** The mark of the clock that stamped startMs (clock-mark.ts), when the recorder knows it. */
    readonly clock?: string,
  ) {
    this.latency = new Float64Array(LATENCY_BUCKETS);
    this.bins = new Float64Array(plan.binsLength);
    this.fMom = new Float64Array(plan.features.length * MOM);
    this.fNans = new Float64Array(plan.features.length);
    this.oMom = new Float64Array(plan.outputs.length * MOM);
    this.iMom = new Float64Array(plan.inputs.length * MOM);
    this.iNans = new Float64Array(plan.inputs.length);
    this.fHint = new Int32Array(plan.features.length);
    this.oHint = new Int32Array(plan.outputs.length);
    initMoments(this.fMom);
    initMoments(this.oMom);
    initMoments(this.iMom);
    this.cbpe = plan.task !== null && plan.task.kind === 'classification' ? plan.task : null;
  }

  get endMs(): number {
    return this.startMs + this.lengthSec * 1000;
  }

  addLatency(ms: number): void {
    const v = ms >= 0 ? ms : 0; // a clock step backwards (or NaN) must not throw on the request path
    const i = latencyIndex(v);
    this.latency[i] = (this.latency[i] as number) + 1;
    this.latencySumMs += v;
  }

  /** Error path only: a successful prediction never touches errorLatency. */
  addError(code: string, latencyMs: number): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.addLatency(latencyMs);
    const v = latencyMs >= 0 ? latencyMs : 0;
    const e = (this.errorLatency ??= new Float64Array(LATENCY_BUCKETS));
    const i = latencyIndex(v);
    e[i] = (e[i] as number) + 1;
    this.errorLatencySumMs += v;
  }

  add(inputs: readonly RecordedTensor[], outputs: readonly RecordedTensor[], latencyMs: number): void {
    const plan = this.plan;
    this.addLatency(latencyMs);
    let rows = 1;
    if (plan.rowInput !== null) {
      const t = inputs[find(inputs, plan.rowInput, 0)];
      if (t !== undefined) rows = t.shape.length >= 2 ? (t.shape[0] as number) : 1;
    }
    this.count += rows;
    if (plan.dense !== null) this.addDenseFeatures(plan.dense.input, inputs);
    else this.addFeatures(inputs);
    this.addOutputs(outputs);
    this.addInputs(inputs);
    if (this.cbpe !== null) eachPrediction(this.cbpe, outputs, this.onConfidence);
  }

  /** A label for an earlier prediction: class indexes of `classes` (0 for a regressor: values). */
  addLabel(classes: number, label: number, predicted: number): void {
    this.labelled++;
    if (classes === 0) {
      const err = label - predicted;
      this.absErrorSum += Math.abs(err);
      this.sqErrorSum += err * err;
      return;
    }
    const m = (this.confusion ??= new Float64Array(classes * classes));
    m[label * classes + predicted] = (m[label * classes + predicted] as number) + 1;
    if (label === predicted) this.correct++;
  }

  /** The usual tabular case (dense.ts): one input, numeric features. */
  private addDenseFeatures(input: string, inputs: readonly RecordedTensor[]): void {
    const ti = find(inputs, input, this.fHint[0] as number);
    const t = inputs[ti];
    if (t === undefined || t.datatype === 'BYTES') return;
    this.fHint[0] = ti;
    const data = numeric(t.data as Numbers);
    const stride = strideOf(t);
    this.plan.dense!.add(data, Math.floor(data.length / stride), stride, this.bins, this.fMom, this.fNans);
  }

  /** Features of any kind and input (categorical ones, several tensors). */
  private addFeatures(inputs: readonly RecordedTensor[]): void {
    const plan = this.plan;
    const bins = this.bins;
    const fs = plan.features;
    const fMom = this.fMom;
    let lastInput = '';
    let data: ArrayLike<number> | null = null;
    let stride = 1;
    let n = 0;
    for (let f = 0; f < fs.length; f++) {
      const fp = fs[f]!;
      if (fp.input !== lastInput || data === null) {
        // Features mostly share one input tensor: look it up once per call.
        lastInput = fp.input;
        const ti = find(inputs, fp.input, this.fHint[f] as number);
        const t = inputs[ti];
        this.fHint[f] = ti;
        data = t === undefined || t.datatype === 'BYTES' ? null : numeric(t.data as Numbers);
        if (data === null) continue;
        stride = strideOf(t!);
        n = Math.floor(data.length / stride);
      }
      const lookup = fp.bins;
      const vocab = fp.vocabulary;
      const off = fp.binOffset;
      const mo = f * MOM;
      for (let r = 0, i = fp.column; r < n; r++, i += stride) {
        const x = data[i] as number;
        if (x !== x) {
          this.fNans[f] = (this.fNans[f] as number) + 1;
        } else if (vocab !== null) {
          const k = vocab.length;
          const j = off + (Number.isInteger(x) && x >= 0 && x < k ? x : k);
          bins[j] = (bins[j] as number) + 1;
        } else {
          if (lookup !== null) {
            const j = off + lookup.index(x);
            bins[j] = (bins[j] as number) + 1;
          }
          if (x - x === 0) {
            // Welford, inlined (finite x only)
            const cnt = (fMom[mo] as number) + 1;
            fMom[mo] = cnt;
            const mean = fMom[mo + 1] as number;
            const d = x - mean;
            const mean2 = mean + d / cnt;
            fMom[mo + 1] = mean2;
            fMom[mo + 2] = (fMom[mo + 2] as number) + d * (x - mean2);
            if (x < (fMom[mo + 3] as number)) fMom[mo + 3] = x;
            if (x > (fMom[mo + 4] as number)) fMom[mo + 4] = x;
          }
        }
      }
    }
  }

  private addOutputs(outputs: readonly RecordedTensor[]): void {
    const plan = this.plan;
    const bins = this.bins;
    const os = plan.outputs;
    for (let o = 0; o < os.length; o++) {
      const op = os[o]!;
      const ti = find(outputs, op.tensor, this.oHint[o] as number);
      const t = outputs[ti];
      if (t === undefined) continue;
      this.oHint[o] = ti;
      if (t.datatype === 'BYTES') continue;
      const data = numeric(t.data as Numbers); // 64-bit integers converted once, as Number(v) each
      const all = op.column < 0;
      const stride = all ? 1 : t.shape.length === 0 ? 1 : Math.max(1, (t.shape[t.shape.length - 1] as number));
      const start = all ? 0 : op.column;
      const lookup = op.bins;
      for (let i = start; i < data.length; i += stride) {
        const x = data[i] as number;
        if (x !== x) continue;
        if (lookup !== null) {
          const j = op.binOffset + lookup.index(x);
          bins[j] = (bins[j] as number) + 1;
        }
        if (x !== Infinity && x !== -Infinity) addMoment(this.oMom, o * MOM, x);
      }
    }
  }

  private addInputs(inputs: readonly RecordedTensor[]): void {
    const is = this.plan.inputs;
    for (let k = 0; k < is.length; k++) {
      const t = inputs[find(inputs, is[k]!, k)];
      if (t === undefined) continue;
      if (t.datatype === 'BYTES') continue;
      const data = t.data as Numbers;
      // addMoment's Welford update, in the same order, on locals: the moments are read and written
      // once a tensor instead of once a value (a 256-value input went through the Float64Array 256 times).
      const m = this.iMom;
      const o = k * MOM;
      let n = m[o] as number, mean = m[o + 1] as number, m2 = m[o + 2] as number, lo = m[o + 3] as number, hi = m[o + 4] as number;
      let nans = 0;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        const x = typeof v === 'bigint' ? Number(v) : (v as number);
        if (x !== x) nans++;
        else if (x !== Infinity && x !== -Infinity) {
          n += 1;
          const d = x - mean;
          mean += d / n;
          m2 += d * (x - mean);
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
      }
      m[o] = n;
      m[o + 1] = mean;
      m[o + 2] = m2;
      m[o + 3] = lo;
      m[o + 4] = hi;
      if (nans) this.iNans[k] = (this.iNans[k] as number) + nans;
    }
  }

  /** The shadow tally of a candidate version in this window. */
  shadowTally(version: string): ShadowTally {
    const list = (this.shadows ??= []);
    for (let i = 0; i < list.length; i++) if (list[i]!.version === version) return list[i]!;
    const t = new ShadowTally(version);
    list.push(t);
    return t;
  }

  /** The window was written: shadow runs finishing later are not counted in it. */
  seal(): void {
    if (this.shadows) for (const t of this.shadows) t.sealed = true;
  }

  /** True when nothing at all was recorded (an empty window is not written). */
  isEmpty(): boolean {
    return this.count === 0 && this.errors.size === 0 && this.labelled === 0;
  }

  toWire(): SummaryWindow {
    return windowToWire(this, this.cbpe !== null);
  }
}
