// The synthetic warm-up input used when a bundle has no samples, and the shape of a loaded sample.
// No zod here: the agent's start-up path warms models up through this file (shared/src/core.ts).
import { AppError } from '../errors.js';
import type { InferResponseBody, Manifest, TensorSpec } from '../wire/manifest.js';
import { arrayFor, type OipTensor } from './tensor.js';

/** A sample ready to run: its request as tensors, and what the outputs should be (if the bundle says). */
export interface LoadedSample {
  /** The request's bundle path, which names the sample in messages. */
  name: string;
  inputs: OipTensor[];
  expected: InferResponseBody['outputs'] | undefined;
  tolerance: number;
}

/** Median of a binned distribution, as the midpoint of the bin holding the middle row; undefined when empty. */
function binnedMedian(edges: readonly number[], counts: readonly number[]): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!;
    if (acc * 2 >= total) return (edges[i]! + edges[i + 1]!) / 2;
  }
  return undefined;
}

/** One synthetic row per input: free dims are 1, feature columns get their reference median / most common category, the rest 0. */
export function warmupFeeds(manifest: Manifest): OipTensor[] {
  const firstInput = manifest.io.inputs[0]?.name;
  return manifest.io.inputs.map((spec: TensorSpec) => {
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    if (spec.datatype === 'BYTES') return { name: spec.name, datatype: spec.datatype, shape, data: new Array<string>(n).fill('') };
    const data = arrayFor(spec.datatype, n);
    if (!data) throw new AppError('MODEL_LOAD_FAILED', `input "${spec.name}": datatype ${spec.datatype} is not supported by onnxruntime-node`);
    const cols = shape.length > 0 ? shape[shape.length - 1]! : 1;
    for (const f of manifest.features ?? []) {
      if ((f.input ?? firstInput) !== spec.name || f.index >= cols) continue;
      const ref = manifest.reference?.features.find((r) => r.name === f.name);
      let v = 0;
      if (ref?.kind === 'numeric') v = binnedMedian(ref.edges, ref.counts) ?? ref.moments.mean;
      else if (ref?.kind === 'categorical' && f.vocabulary) {
        let best = -1;
        f.vocabulary.forEach((word, i) => {
          const c = ref.counts[word] ?? 0;
          if (best < 0 || c > (ref.counts[f.vocabulary![best]!] ?? 0)) best = i;
        });
        v = Math.max(0, best);
      }
      for (let i = f.index; i < n; i += cols) {
        if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(Math.round(v));
        else data[i] = v;
      }
    }
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}
