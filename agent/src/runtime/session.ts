// Loads one model version into an onnxruntime-node session with options from
// the manifest's runtime (overridable by agent config) and warms it up with the
// bundle's samples, or a synthetic input built from the reference profile when
// it has none (shared warmUp, the same as `edgefleet model pack` runs), so the
// first real request does not pay for allocation and kernel selection.
import type Ort from 'onnxruntime-node';
import { AppError, sessionRunner, warmUp, type LoadedSample, type MakeOrtTensor, type RunModel } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { RuntimeOverrides } from '../config.js';
import { ort } from './ort.js';

const makeTensor: MakeOrtTensor = (type, data, dims) => new ort.Tensor(type as Ort.Tensor.Type, data as never, dims as number[]);

/** A RunModel (shared warm-up and preflight) over an onnxruntime session. */
export function runnerFor(session: Ort.InferenceSession): RunModel {
  return sessionRunner(session, makeTensor);
}

/**
 * Spinning thread pools halved throughput on a 2-core box (docs/architecture.md section 6),
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

export interface LoadedSession {
  session: Ort.InferenceSession;
  loadSeconds: number;
}

/** Creates the session, checks its io against the manifest, warms it up. Any failure is MODEL_LOAD_FAILED / MODEL_IO_MISMATCH. */
/**
 * `model` is a path, or the model's bytes in memory (a decrypted sealed model: docs/decisions/0029-sealed-models.md);
 * ORT copies the bytes into the session, and they are zeroed here once it is created or has failed.
 */
export async function loadSession(manifest: Manifest, model: string | Uint8Array, overrides: RuntimeOverrides = {}, samples: readonly LoadedSample[] = []): Promise<LoadedSession> {
  const t0 = performance.now();
  const what = `${manifest.name}@${manifest.version}`;
  let session: Ort.InferenceSession;
  try {
    session = typeof model === 'string'
      ? await ort.InferenceSession.create(model, sessionOptions(manifest.runtime, overrides))
      : await ort.InferenceSession.create(model, sessionOptions(manifest.runtime, overrides));
  } catch (err) {
    throw new AppError('MODEL_LOAD_FAILED', `model ${what} does not load in onnxruntime: ${(err as Error).message}`, { cause: err });
  } finally {
    if (typeof model !== 'string') model.fill(0);
  }
  try {
    const want = manifest.io.inputs.map((t) => t.name).sort().join(', ');
    const have = [...session.inputNames].sort().join(', ');
    if (want !== have) throw new AppError('MODEL_IO_MISMATCH', `model ${what} has inputs [${have}], the manifest declares [${want}]`);
    const outs = new Set(session.outputNames);
    const missing = manifest.io.outputs.filter((o) => !outs.has(o.name)).map((o) => o.name);
    if (missing.length) throw new AppError('MODEL_IO_MISMATCH', `model ${what} lacks outputs [${missing.join(', ')}] declared in the manifest; it has [${session.outputNames.join(', ')}]`);
    await warmUp(runnerFor(session), manifest, samples);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  return { session, loadSeconds: (performance.now() - t0) / 1000 };
}
