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

/** The slots of a version's rollups, from its manifest's features and reference. */
export function layoutOf(manifest: Pick<Manifest, 'features' | 'reference'> & { task?: Manifest['task'] | undefined }): RollupLayout {
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
  const classes = manifest.task?.kind === 'classification' ? [...manifest.task.classes] : [];
  return { features, outputs, distLength: offset, momentsCount: moments, classes };
}
