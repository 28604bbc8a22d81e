// Model samples (docs/decisions/0009-model-samples.md): reading the sample
// request bodies and expected responses a bundle lists, and the synthetic
// warm-up input used when a bundle has no samples.
import { AppError } from '../errors.js';
import { parseWire } from '../wire/common.js';
import {
  DEFAULT_SAMPLE_TOLERANCE, InferResponseBody, MAX_SAMPLE_BYTES, type Manifest, type Sample, type TensorSpec,
} from '../wire/manifest.js';
import { validateInferRequest } from './request.js';
import { arrayFor, type OipTensor } from './tensor.js';

/** A sample ready to run: its request as tensors, and what the outputs should be (if the bundle says). */
export interface LoadedSample {
  /** The request's bundle path, which names the sample in messages. */
  name: string;
  inputs: OipTensor[];
  expected: InferResponseBody['outputs'] | undefined;
  tolerance: number;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new AppError('INVALID_INPUT', `${what} is not JSON (${(err as Error).message}); expected an OIP v2 body`);
  }
}

/** Parses one sample against the manifest io: the request as the agent's server would, the expectation by schema. */
export function parseSample(manifest: Manifest, sample: Sample, request: Buffer, expected?: Buffer): LoadedSample {
  const what = `sample ${sample.request}`;
  let inputs: OipTensor[];
  try {
    inputs = validateInferRequest(parseJson(request, what), manifest.io, { allowNonFinite: false }).inputs;
  } catch (err) {
    throw new AppError('INVALID_INPUT', `${what}: ${(err as Error).message}`, { cause: err });
  }
  let outputs: InferResponseBody['outputs'] | undefined;
  if (sample.expected !== undefined) {
    if (!expected) throw new AppError('INVALID_INPUT', `${what}: expected response ${sample.expected} was not given`);
    const ew = `expected response ${sample.expected}`;
    outputs = parseWire(InferResponseBody, parseJson(expected, ew), ew).outputs;
    const known = manifest.io.outputs.map((o) => o.name);
    for (const o of outputs) {
      if (!known.includes(o.name)) throw new AppError('INVALID_INPUT', `${ew}: output "${o.name}" is not in the manifest io: expected one of ${known.join(', ')}`);
    }
  }
  return { name: sample.request, inputs, expected: outputs, tolerance: sample.tolerance ?? DEFAULT_SAMPLE_TOLERANCE };
}

/**
 * Reads and parses every sample the manifest lists; `read` returns a bundle
 * file's bytes (from the source files at pack, from the blob store on the agent).
 * Sizes are checked against the manifest before reading (at most MAX_SAMPLE_BYTES each).
 */
export async function readSamples(manifest: Manifest, read: (path: string) => Promise<Buffer>): Promise<LoadedSample[]> {
  const out: LoadedSample[] = [];
  const load = async (p: string): Promise<Buffer> => {
    const f = manifest.files.find((x) => x.path === p);
    if (!f) throw new AppError('BUNDLE_INVALID', `sample file ${p} is not listed in the manifest files`);
    if (f.size > MAX_SAMPLE_BYTES) throw new AppError('BUNDLE_INVALID', `sample file ${p} is ${f.size} bytes; expected at most ${MAX_SAMPLE_BYTES}`);
    return read(p);
  };
  for (const s of manifest.samples ?? []) {
    out.push(parseSample(manifest, s, await load(s.request), s.expected === undefined ? undefined : await load(s.expected)));
  }
  return out;
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
