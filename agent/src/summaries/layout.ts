// The per-version plan for recording summaries, computed once when a model
// version is first seen: which input tensor and column each feature reads,
// its reference edges as a Float64Array, and where its counters live in the
// window's flat typed arrays. The hot path only indexes into these.
import type { Manifest } from '@edgefleet/shared';
import { outputReferenceNames } from '@edgefleet/shared/core';
import { buildDense, type DensePlan } from './dense.js';
import { taskPlan, type TaskPlan } from '../feedback/task.js';

/**
 * Finds the bin of a value on fixed edges in O(1) expected time: a uniform grid
 * over [first edge, last edge] maps x to a guessed bin, which is then corrected
 * against the real edges, so the answer is exactly the binary search's (bin i
 * is [e[i], e[i+1]), the last bin closed) while the branches stay predictable.
 * A binary search over 11 edges costs ~4 mispredicted branches per value.
 */
export class BinLookup {
  readonly edges: Float64Array;
  private readonly lo: number;
  private readonly hi: number;
  private readonly scale: number;
  private readonly maxCell: number;
  /** cell -> the bin (0..K-1) holding the cell's lower bound (a guess; index() corrects it). */
  private readonly grid: Uint16Array;
  private readonly lastBin: number;

  constructor(edges: readonly number[]) {
    const e = Float64Array.from(edges);
    const k = e.length - 1;
    this.edges = e;
    this.lo = e[0] as number;
    this.hi = e[k] as number;
    this.lastBin = k - 1;
    // 4 cells per bin (at most 4096 cells) keeps the fix-up at 0-1 steps for roughly even edges,
    // and for evenly spaced edges (the common reference) every edge falls on a cell boundary, so
    // no cell straddles an edge and the fix-up branches stay predictable.
    const cells = k >= 4096 ? 4096 : k * Math.min(4, Math.floor(4096 / k));
    const span = this.hi - this.lo;
    this.scale = Number.isFinite(span) && span > 0 ? cells / span : 0;
    this.maxCell = cells - 1;
    this.grid = new Uint16Array(cells);
    let b = 0;
    for (let c = 0; c < cells; c++) {
      const at = this.lo + c * (span / cells);
      while (b < k - 1 && (e[b + 1] as number) <= at) b++;
      this.grid[c] = b;
    }
  }

  /** The lookup's scalars, for the flat copy in dense.ts. */
  params(): { lo: number; hi: number; scale: number; maxCell: number; lastBin: number } {
    return { lo: this.lo, hi: this.hi, scale: this.scale, maxCell: this.maxCell, lastBin: this.lastBin };
  }

  /** The grid (cell -> guessed bin), for the flat copy in dense.ts. */
  cells(): Uint16Array {
    return this.grid;
  }

  /** Index into [under, bin0..binK-1, over] for a value that is not NaN. */
  index(x: number): number {
    if (x < this.lo) return 0;
    if (x > this.hi) return this.lastBin + 2;
    let c = ((x - this.lo) * this.scale) | 0;
    if (c > this.maxCell) c = this.maxCell;
    let b = this.grid[c] as number;
    const e = this.edges;
    // The grid is a guess (rounding, several edges in a cell): the edges decide.
    while (b < this.lastBin && x >= (e[b + 1] as number)) b++;
    while (b > 0 && x < (e[b] as number)) b--;
    return b + 1;
  }
}

export interface FeaturePlan {
  name: string;
  kind: 'numeric' | 'categorical';
  input: string;
  column: number;
  /** numeric with reference: its strictly increasing edges; null when the reference has none. */
  bins: BinLookup | null;
  vocabulary: string[] | null;
  /** offset into WindowAcc.bins: [under, bin0..binK-1, over] numeric, [v0..vK-1, other] categorical. */
  binOffset: number;
  binCount: number;
}

export interface OutputPlan {
  /** summary name: the reference's name, made unique with [index] when several share it. */
  name: string;
  /** io output tensor read. */
  tensor: string;
  /** column in the last dimension; -1 means every element (no reference given). */
  column: number;
  bins: BinLookup | null;
  binOffset: number;
  binCount: number;
}

export interface VersionPlan {
  model: string;
  version: string;
  referenceId: string | undefined;
  features: FeaturePlan[];
  outputs: OutputPlan[];
  /** inputs summarised as whole tensors (models without features). */
  inputs: string[];
  /** the io input name whose first dimension counts the rows (a batch dimension), or null: 1 per call. */
  rowInput: string | null;
  rowStride: number;
  binsLength: number;
  /** the flat fast path when every feature is numeric and reads one input (dense.ts), else null */
  dense: DensePlan | null;
  /** What the model predicts (manifest `task`): CBPE confidence sums and label counts; null without one. */
  task: TaskPlan | null;
}

/** Elements per row of a tensor shape: product of all dims after the first; 1 for rank <= 1. */
export function rowStride(shape: readonly number[]): number {
  let s = 1;
  for (let i = 1; i < shape.length; i++) s *= Math.max(1, shape[i] as number);
  return s;
}

export function buildPlan(manifest: Manifest): VersionPlan {
  const firstInput = manifest.io.inputs[0]?.name ?? '';
  const refFeatures = new Map((manifest.reference?.features ?? []).map((r) => [r.name, r]));
  let offset = 0;
  const features: FeaturePlan[] = (manifest.features ?? []).map((f) => {
    const ref = refFeatures.get(f.name);
    const plan: FeaturePlan = {
      name: f.name,
      kind: f.kind,
      input: f.input ?? firstInput,
      column: f.index,
      bins: null,
      vocabulary: null,
      binOffset: offset,
      binCount: 0,
    };
    if (f.kind === 'categorical') {
      plan.vocabulary = f.vocabulary ?? [];
      plan.binCount = plan.vocabulary.length + 1;
    } else if (ref && ref.kind === 'numeric') {
      plan.bins = new BinLookup(ref.edges);
      plan.binCount = ref.edges.length + 1; // under + (edges-1) bins + over
    }
    offset += plan.binCount;
    return plan;
  });
  const outputs: OutputPlan[] = [];
  const refOutputs = manifest.reference?.outputs ?? [];
  const ioOutputs = manifest.io.outputs.map((o) => o.name);
  const covered = new Set<string>();
  const refNames = outputReferenceNames(refOutputs);
  for (const [i, r] of refOutputs.entries()) {
    // A reference names its output tensor; a label that is not a tensor name reads the first output.
    const tensor = ioOutputs.includes(r.name) ? r.name : (ioOutputs[0] ?? r.name);
    covered.add(tensor);
    const name = refNames[i] as string;
    outputs.push({ name, tensor, column: r.index, bins: new BinLookup(r.edges), binOffset: offset, binCount: r.edges.length + 1 });
    offset += r.edges.length + 1;
  }
  // Outputs without a reference still get moments over all their elements.
  for (const o of ioOutputs) {
    if (!covered.has(o)) outputs.push({ name: o, tensor: o, column: -1, bins: null, binOffset: offset, binCount: 0 });
  }
  const tabular = features.length > 0;
  const featureInput = features[0]?.input ?? firstInput;
  const spec = manifest.io.inputs.find((t) => t.name === featureInput);
  // Rows: the feature input's first dimension when it is a (free) batch dimension of a rank >= 2 tensor.
  const batched = spec !== undefined && spec.shape.length >= 2;
  return {
    model: manifest.name,
    version: manifest.version,
    referenceId: manifest.reference?.id,
    features,
    outputs,
    inputs: tabular ? [] : manifest.io.inputs.map((t) => t.name),
    rowInput: batched ? featureInput : null,
    rowStride: spec ? rowStride(spec.shape) : 1,
    binsLength: offset,
    dense: buildDense(features),
    task: taskPlan(manifest),
  };
}
