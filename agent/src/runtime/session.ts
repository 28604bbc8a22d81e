// Loads one model version into a session of the chosen backend (backend.ts) with options from
// the manifest's runtime (overridable by agent config) and warms it up with the bundle's samples,
// or a synthetic input built from the reference profile when it has none (shared warmUp, the same
// as `edgefleet model pack` runs), so the first real request does not pay for allocation and
// kernel selection.
import { actualTensor, AppError, checkModelIo, MAX_ORT_THREADS, sessionRunner, warmUp, type LoadedSample, type RunModel } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { RuntimeOverrides } from '../config.js';
import type { Backend, BackendSession, SessionSettings } from './backend.js';

/** A RunModel (shared warm-up and preflight) over a backend session. */
export function runnerFor(backend: Backend, session: BackendSession): RunModel {
  return sessionRunner(session, backend.tensor);
}

/**
 * Spinning thread pools halved throughput on a 2-core box (docs/architecture.md section 6),
 * so the defaults are 1 intra-op thread, 1 inter-op thread, spinning off. A manifest's thread counts
 * are held to MAX_ORT_THREADS as the agent's own settings are: a bundle signed before `model pack`
 * refused more (manifest-authoring.ts) would otherwise keep the box creating its session for minutes.
 */
export function sessionSettings(runtime: Manifest['runtime'], overrides: RuntimeOverrides = {}): SessionSettings {
  const threads = (n: number | undefined) => (n === undefined ? undefined : Math.min(n, MAX_ORT_THREADS));
  return {
    intraOpThreads: overrides.intraOpThreads ?? threads(runtime.intraOpThreads) ?? 1,
    interOpThreads: overrides.interOpThreads ?? threads(runtime.interOpThreads) ?? 1,
    spinning: overrides.spinning ?? runtime.spinning ?? false,
    graphOptimization: overrides.graphOptimization ?? runtime.graphOptimization ?? 'all',
  };
}

export interface LoadedSession {
  session: BackendSession;
  loadSeconds: number;
}

/** Creates the session, checks its io against the manifest, warms it up. Any failure is MODEL_LOAD_FAILED / MODEL_IO_MISMATCH. */
/**
 * `model` is a path, or the model's bytes in memory (a decrypted sealed model: docs/decisions/0029-sealed-models.md);
 * onnxruntime copies the bytes into the session, and they are zeroed here once it is created or has failed.
 */
export async function loadSession(backend: Backend, manifest: Manifest, model: string | Uint8Array, overrides: RuntimeOverrides = {}, samples: readonly LoadedSample[] = []): Promise<LoadedSession> {
  const t0 = performance.now();
  const what = `${manifest.name}@${manifest.version}`;
  let session: BackendSession;
  try {
    session = await backend.create(model, sessionSettings(manifest.runtime, overrides), manifest.name);
  } catch (err) {
    throw new AppError('MODEL_LOAD_FAILED', `model ${what} does not load in onnxruntime (${backend.name}): ${(err as Error).message}`, { cause: err });
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
    // Datatypes and dimensions as `model pack` checks them, so a bundle made another way is refused
    // naming the tensor rather than failing its warm-up in onnxruntime's words.
    if (session.inputMetadata && session.outputMetadata) {
      const problems = checkModelIo({ inputs: session.inputMetadata.map(actualTensor), outputs: session.outputMetadata.map(actualTensor) }, manifest.io, { allowFreeOverOne: true });
      if (problems.length) throw new AppError('MODEL_IO_MISMATCH', `model ${what} does not match the manifest io: ${problems.join('; ')}`);
    }
    await warmUp(runnerFor(backend, session), manifest, samples);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  return { session, loadSeconds: (performance.now() - t0) / 1000 };
}
