// Model samples (docs/decisions/0009-model-samples.md): reading the sample
// request bodies and expected responses a bundle lists (zod: loaded only where
// samples are read; the warm-up itself is in feeds.ts and preflight.ts).
import { AppError } from '../errors.js';
import { parseWire } from '../wire/common.js';
import {
  DEFAULT_SAMPLE_TOLERANCE, InferResponseBody, MAX_SAMPLE_BYTES, type Manifest, type Sample,
} from '../wire/manifest.js';
import { parseSampleJson, parseSampleRequest } from './sample-request.js';
import type { LoadedSample } from './feeds.js';

export { warmupFeeds, type LoadedSample } from './feeds.js';

/** Parses one sample against the manifest io: the request as the agent's server would, the expectation by schema. */
export function parseSample(manifest: Manifest, sample: Sample, request: Buffer, expected?: Buffer): LoadedSample {
  const what = `sample ${sample.request}`;
  const inputs = parseSampleRequest(manifest.io, sample.request, request);
  let outputs: InferResponseBody['outputs'] | undefined;
  if (sample.expected !== undefined) {
    if (!expected) throw new AppError('INVALID_INPUT', `${what}: expected response ${sample.expected} was not given`);
    const ew = `expected response ${sample.expected}`;
    outputs = parseWire(InferResponseBody, parseSampleJson(expected, ew), ew).outputs;
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

