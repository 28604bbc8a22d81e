// The flat layout of one model version's rollups (docs/decisions/0023-rollups.md): every count a
// window carries for drift (feature and output bins on the manifest's reference edges, categories in
// vocabulary order, nulls, NaNs) gets a fixed slot in one numeric vector, and every moments sketch
// five slots (n, mean, m2, min, max) in a second. Merging rollups is then a loop over two typed
// arrays, with no names looked up and no JSON parsed. The layout comes from the signed manifest, so
// every device's windows of a version land in the same slots.
import { outputReferenceNames, type Manifest } from '@edgefleet/shared';

export interface NumericSlot {
  kind: 'numeric';
  name: string;
  /** Reference edges, or null when the manifest gives none (then only nulls and NaNs are counted). */
  edges: number[] | null;
  /** dist[offset .. offset+bins+1] = under, counts..., over (absent without edges); then nulls, nans. */
  offset: number;
  bins: number;
  /** Index of this feature's moments (× 5) in the moments vector. */
  moments: number;
}

export interface CategoricalSlot {
  kind: 'categorical';
  name: string;
  vocabulary: string[];
  /** dist[offset .. offset+k-1] = vocabulary counts, then other, then nulls. */
  offset: number;
}

export interface OutputSlot {
  name: string;
  index: number;
  /**
   * Reference edges, or null for an io output no reference output covers: the agent still sends its
   * moments over all its values (agent/src/summaries/layout.ts), so it gets a moments slot and no counts
   * (docs/decisions/0171-outputs-without-reference-keep-their-mean.md).
   */
  edges: number[] | null;
  /** dist[offset ..] = under, counts..., over (absent without edges). */
  offset: number;
  bins: number;
  moments: number;
}

export interface RollupLayout {
  features: Array<NumericSlot | CategoricalSlot>;
  outputs: OutputSlot[];
  /** Length of the counts vector. */
  distLength: number;
  /** Number of moments sketches (the moments vector has 5 × this). */
  momentsCount: number;
  /**
   * The classes of a classifier (manifest `task`), [] otherwise: the perf vector is PERF_FIELDS then
   * the classes² confusion counts. Absent in layouts stored before accuracy existed (read as []).
   */
  classes?: string[];
}

/** perf vector: labelled, correct, absErrorSum, sqErrorSum, confidence n, confidence sum, then the confusion matrix. */
export const PERF_FIELDS = 6;

export const MOMENT_FIELDS = 5;

/** The part of a manifest a layout reads (io: the output tensors' names and types; absent in test rows). */
export type LayoutManifest = Pick<Manifest, 'features' | 'reference'> & {
  task?: Manifest['task'] | undefined;
  io?: { outputs: ReadonlyArray<{ name: string; datatype: string }> } | undefined;
};

/** The slots of a version's rollups, from its manifest's features, reference and io outputs. */
export function layoutOf(manifest: LayoutManifest): RollupLayout {
  const ref = manifest.reference;
  const features: RollupLayout['features'] = [];
  const outputs: OutputSlot[] = [];
  let offset = 0;
  let moments = 0;
  const seen = new Set<string>();
  const declared = manifest.features ?? [];
  // Features named by the manifest first, then reference-only ones (a reference without features).
  const names = [...declared.map((f) => f.name), ...(ref?.features ?? []).map((f) => f.name)];
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const decl = declared.find((f) => f.name === name);
    const r = ref?.features.find((f) => f.name === name);
    const kind = decl?.kind ?? r?.kind ?? 'numeric';
    if (kind === 'categorical') {
      const vocabulary = decl?.vocabulary ?? (r?.kind === 'categorical' ? Object.keys(r.counts) : []);
      features.push({ kind: 'categorical', name, vocabulary: [...vocabulary], offset });
      offset += vocabulary.length + 2;
    } else {
      const edges = r?.kind === 'numeric' ? [...r.edges] : null;
      const bins = edges ? edges.length - 1 : 0;
      features.push({ kind: 'numeric', name, edges, offset, bins, moments: moments++ });
      offset += (edges ? bins + 2 : 0) + 2;
    }
  }
  const refNames = outputReferenceNames(ref?.outputs ?? []);
  for (const [i, o] of (ref?.outputs ?? []).entries()) {
    const bins = o.edges.length - 1;
    outputs.push({ name: refNames[i] as string, index: o.index, edges: [...o.edges], offset, bins, moments: moments++ });
    offset += bins + 2;
  }
  // Then, as the agent records them, every io output no reference output covers (a reference output whose
  // name is no tensor's reads the first one): moments only, after every other slot, so a layout stored
  // before them is this one's prefix (extendedLayout).
  const io = (manifest.io?.outputs ?? []).map((o) => o.name);
  const covered = new Set((ref?.outputs ?? []).map((o) => (io.includes(o.name) ? o.name : io[0])));
  for (const o of manifest.io?.outputs ?? []) {
    // A BYTES output has no values to average: the agent sends it with n 0.
    if (covered.has(o.name) || o.datatype === 'BYTES' || outputs.some((x) => x.name === o.name)) continue;
    outputs.push({ name: o.name, index: 0, edges: null, offset, bins: 0, moments: moments++ });
  }
  const classes = manifest.task?.kind === 'classification' ? [...manifest.task.classes] : [];
  return { features, outputs, distLength: offset, momentsCount: moments, classes };
}

/**
 * `fresh` when it is `stored` with moments-only output slots added after it (a layout stored before io
 * outputs without reference edges had slots): stored rollups then read unchanged (their dist blobs have the
 * same length, their moments blobs lack only the new slots, which read empty). Else null: keep `stored`.
 */
export function extendedLayout(stored: RollupLayout, fresh: RollupLayout): RollupLayout | null {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const added = fresh.outputs.slice(stored.outputs.length);
  if (added.length === 0 || stored.distLength !== fresh.distLength || !same(stored.features, fresh.features)) return null;
  if (!same(stored.outputs, fresh.outputs.slice(0, stored.outputs.length)) || !same(stored.classes ?? [], fresh.classes ?? [])) return null;
  if (!added.every((o, i) => o.edges === null && o.bins === 0 && o.moments === stored.momentsCount + i)) return null;
  return fresh;
}
