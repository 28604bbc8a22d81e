// Loads one model version into an onnxruntime-node session with options from
// the manifest's runtime (overridable by agent config) and warms it up with a
// synthetic input built from the reference profile, so the first real request
// does not pay for allocation and kernel selection.
import type Ort from 'onnxruntime-node';
import { AppError } from '@edgefleet/shared/core';
import type { Manifest, TensorSpec } from '@edgefleet/shared';
import type { RuntimeOverrides } from '../config.js';
import type { RecordedTensor } from './recorder.js';
import { ort } from './ort.js';
import { arrayFor, toOrt } from './tensors.js';

/**
 * Spinning thread pools halved throughput on a 2-core box (DESIGN.md section 6),
 * so the defaults are 1 intra-op thread, 1 inter-op thread, spinning off.
 */
export function sessionOptions(runtime: Manifest['runtime'], overrides: RuntimeOverrides = {}): Ort.InferenceSession.SessionOptions {
  const spinning = overrides.spinning ?? runtime.spinning ?? false;
  const flag = spinning ? '1' : '0';
  return {
    intraOpNumThreads: overrides.intraOpThreads ?? runtime.intraOpThreads ?? 1,
    interOpNumThreads: overrides.interOpThreads ?? runtime.interOpThreads ?? 1,
    graphOptimizationLevel: overrides.graphOptimization ?? runtime.graphOptimization ?? 'all',
    executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: flag }, inter_op: { allow_spinning: flag } } },
  };
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

/** One synthetic row per input: free dims are 1, feature columns get their reference median / most common category. */
export function warmupFeeds(manifest: Manifest): RecordedTensor[] {
  const firstInput = manifest.io.inputs[0]?.name;
  return manifest.io.inputs.map((spec: TensorSpec) => {
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    if (spec.datatype === 'BYTES') return { name: spec.name, datatype: spec.datatype, shape, data: new Array<string>(n).fill('') };
    const data = arrayFor(spec.datatype, n);
    if (!data) throw new AppError('MODEL_LOAD_FAILED', `input "${spec.name}": datatype ${spec.datatype} is not supported by this agent`);
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

export interface LoadedSession {
  session: Ort.InferenceSession;
  loadSeconds: number;
}

/** Creates the session, checks its io against the manifest, warms it up. Any failure is MODEL_LOAD_FAILED / MODEL_IO_MISMATCH. */
export async function loadSession(manifest: Manifest, modelPath: string, overrides: RuntimeOverrides = {}): Promise<LoadedSession> {
  const t0 = performance.now();
  const what = `${manifest.name}@${manifest.version}`;
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, sessionOptions(manifest.runtime, overrides));
  } catch (err) {
    throw new AppError('MODEL_LOAD_FAILED', `model ${what} does not load in onnxruntime: ${(err as Error).message}`, { cause: err });
  }
  try {
    const want = manifest.io.inputs.map((t) => t.name).sort().join(', ');
    const have = [...session.inputNames].sort().join(', ');
    if (want !== have) throw new AppError('MODEL_IO_MISMATCH', `model ${what} has inputs [${have}], the manifest declares [${want}]`);
    const outs = new Set(session.outputNames);
    const missing = manifest.io.outputs.filter((o) => !outs.has(o.name)).map((o) => o.name);
    if (missing.length) throw new AppError('MODEL_IO_MISMATCH', `model ${what} lacks outputs [${missing.join(', ')}] declared in the manifest; it has [${session.outputNames.join(', ')}]`);
    const feeds: Record<string, Ort.Tensor> = {};
    for (const t of warmupFeeds(manifest)) feeds[t.name] = toOrt(t);
    try {
      await session.run(feeds);
    } catch (err) {
      throw new AppError('MODEL_LOAD_FAILED', `model ${what} failed its warm-up run: ${(err as Error).message}`, { cause: err });
    }
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  return { session, loadSeconds: (performance.now() - t0) / 1000 };
}
