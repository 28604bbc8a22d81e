// The wire form of a closed summary window: WindowAcc.toWire() (acc.ts) builds the SummaryWindow
// of docs/agent-summaries.md from the typed arrays, once a window closes (off the request path).
import type { FeatureSummary, FeedbackCounts, InputSummary, OutputSummary, SummaryWindow } from '@edgefleet/shared';
import type { WindowAcc } from './acc.js';
import { MOM } from './acc-kernels.js';

/** `cbpe`: the window sums classifier confidence (WindowAcc's private task plan is set). */
export function windowToWire(acc: WindowAcc, cbpe: boolean): SummaryWindow {
  const plan = acc.plan;
  const bins = acc.bins;
  const moments = (m: Float64Array, o: number) => {
    const n = m[o] as number;
    return n === 0
      ? { n: 0, mean: 0, m2: 0, min: null, max: null }
      : { n, mean: m[o + 1] as number, m2: Math.max(0, m[o + 2] as number), min: m[o + 3] as number, max: m[o + 4] as number };
  };
  const hist = (off: number, binCount: number) => ({
    under: bins[off] as number,
    counts: Array.from(bins.subarray(off + 1, off + binCount - 1)),
    over: bins[off + binCount - 1] as number,
  });
  const features: FeatureSummary[] = plan.features.map((fp, f) => {
    if (fp.vocabulary !== null) {
      const counts: Record<string, number> = {};
      fp.vocabulary.forEach((v, i) => { counts[v] = bins[fp.binOffset + i] as number; });
      return { kind: 'categorical', name: fp.name, cat: { counts, other: bins[fp.binOffset + fp.vocabulary.length] as number }, nulls: acc.fNans[f] as number };
    }
    const s: FeatureSummary = { kind: 'numeric', name: fp.name, moments: moments(acc.fMom, f * MOM), nulls: 0, nans: acc.fNans[f] as number };
    if (fp.bins !== null) s.hist = hist(fp.binOffset, fp.binCount);
    return s;
  });
  const outputs: OutputSummary[] = plan.outputs.map((op, o) => {
    const s: OutputSummary = { name: op.name, index: Math.max(0, op.column), moments: moments(acc.oMom, o * MOM) };
    if (op.bins !== null) s.hist = hist(op.binOffset, op.binCount);
    return s;
  });
  const inputs: InputSummary[] = plan.inputs.map((name, k) => ({ name, moments: moments(acc.iMom, k * MOM), nans: acc.iNans[k] as number }));
  const w: SummaryWindow = {
    model: plan.model,
    version: plan.version,
    start: new Date(acc.startMs).toISOString(),
    lengthSec: acc.lengthSec,
    count: acc.count,
    errors: Object.fromEntries(acc.errors),
    latency: { counts: Array.from(acc.latency), sumMs: acc.latencySumMs },
    features,
    outputs,
    inputs,
  };
  if (plan.referenceId !== undefined) w.referenceId = plan.referenceId;
  if (acc.clock !== undefined) w.clock = acc.clock;
  if (acc.errorLatency !== null) w.errorLatency = { counts: Array.from(acc.errorLatency), sumMs: acc.errorLatencySumMs };
  if (acc.labelled > 0) {
    const f: FeedbackCounts = { labelled: acc.labelled, correct: acc.correct };
    if (acc.confusion !== null) f.confusion = Array.from(acc.confusion);
    else { f.absErrorSum = acc.absErrorSum; f.sqErrorSum = acc.sqErrorSum; }
    w.feedback = f;
  }
  if (cbpe) w.confidence = { n: acc.confN, sum: acc.confSum };
  if (acc.shadows !== null) w.shadow = acc.shadows.map((t) => t.toWire());
  return w;
}
