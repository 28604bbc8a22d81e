// Checks an ONNX model against the manifest's `io` before a bundle is packed or
// accepted: it must load in onnxruntime, and its inputs and outputs must match
// by name, datatype and rank (fixed dimensions too, where both sides fix them).
// The comparison is shared's checkModelIo, so the agent judges models the same way.
// `model pack` also runs shared's warm-up and preflight, the agent's own
// (docs/decisions/0009-model-samples.md), on this session.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  AppError, actualTensor, checkModelIo, extractBundleFile, preflight, readSamples, refuseUnknownInferFields, sessionRunner, warmUp,
  type ActualTensor, type CheckModelIoOptions, type Manifest, type PreflightResult,
} from '@edgefleet/shared';
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import ort from 'onnxruntime-node';

type Io = Manifest['io'];

/** One input or output as onnxruntime reports it: ORT element type and shape (numbers, or strings for symbolic dims). */
export interface ModelValueInfo {
  name: string;
  /** ORT tensor type ("float32", "int64", ...), or null for a non-tensor value (sequence, map). */
  type: string | null;
  shape: ReadonlyArray<number | string>;
}

export interface ModelIoInfo {
  inputs: ModelValueInfo[];
  outputs: ModelValueInfo[];
}

/**
 * The differences between the manifest io and the model's (empty when they match),
 * by shared's checkModelIo so that hub and agent judge a model alike. A non-tensor
 * value (sequence, map) is reported as a datatype mismatch.
 */
export function compareModelIo(io: Io, model: ModelIoInfo, opts: CheckModelIoOptions = {}): string[] {
  const actual = (vs: ModelValueInfo[]): ActualTensor[] =>
    vs.map((v) => actualTensor(v.type === null ? { name: v.name, isTensor: false } : { name: v.name, isTensor: true, type: v.type, shape: v.shape }));
  return checkModelIo({ inputs: actual(model.inputs), outputs: actual(model.outputs) }, io, opts);
}

function infoOf(m: ort.InferenceSession.ValueMetadata): ModelValueInfo {
  return m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: null, shape: [] };
}

/** Opens the model with onnxruntime (CPU, one thread), runs `fn` on the session and releases it; MODEL_LOAD_FAILED if it does not load. */
async function withSession<T>(modelPath: string, fn: (session: ort.InferenceSession) => Promise<T>, label = modelPath): Promise<T> {
  let session: ort.InferenceSession;
  try {
    // Severity 4 (fatal only): onnxruntime would also print a failed run to stderr, which our error already reports.
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'], logSeverityLevel: 4 });
  } catch (err) {
    throw new AppError('MODEL_LOAD_FAILED', `${label}: onnxruntime could not load the model: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await fn(session);
  } finally {
    await session.release();
  }
}

const ioOf = (session: ort.InferenceSession): ModelIoInfo => ({ inputs: session.inputMetadata.map(infoOf), outputs: session.outputMetadata.map(infoOf) });

/** Loads the model with onnxruntime (CPU, one thread) and returns its io metadata; MODEL_LOAD_FAILED if it does not load. */
export async function readModelIo(modelPath: string): Promise<ModelIoInfo> {
  return withSession(modelPath, (session) => Promise.resolve(ioOf(session)));
}

/** Why onnxruntime-node does not load the model, or undefined when it does (the session is released). */
export async function nativeLoadError(modelPath: string): Promise<string | undefined> {
  try {
    await readModelIo(modelPath);
    return undefined;
  } catch (err) {
    const cause = (err as Error).cause;
    return cause instanceof Error ? cause.message : (err as Error).message; // onnxruntime's own words, not the temp file's name
  }
}

function assertIo(modelPath: string, io: Io, info: ModelIoInfo, opts: CheckModelIoOptions = {}): void {
  const problems = compareModelIo(io, info, opts);
  if (problems.length > 0) {
    throw new AppError('MODEL_IO_MISMATCH', `model ${modelPath} does not match the manifest io: ${problems.join('; ')}`, { details: problems });
  }
}

/**
 * Throws MODEL_LOAD_FAILED when the model does not load, MODEL_IO_MISMATCH naming
 * each tensor and expected vs actual when its io differs from the manifest's.
 */
export async function checkOnnxModel(modelPath: string, io: Io): Promise<void> {
  assertIo(modelPath, io, await readModelIo(modelPath));
}

/**
 * What `model pack` checks: io as checkOnnxModel, then the agent's warm-up (on
 * the samples, or synthetic input without them: MODEL_LOAD_FAILED suggesting
 * --sample) and one preflight run per sample (MODEL_PREFLIGHT_FAILED when an
 * output differs from the expected). `sourceOf` maps a sample's bundle path to its file.
 */
export async function checkPackedModel(
  modelPath: string, manifest: Manifest, sourceOf: (bundlePath: string) => string, opts: CheckModelIoOptions & { label?: string } = {},
): Promise<PreflightResult | undefined> {
  // A sample is a request the agent's REST API must take: a field it would refuse is refused here first.
  for (const s of manifest.samples ?? []) {
    let body: unknown;
    try {
      body = JSON.parse(await readFile(sourceOf(s.request), 'utf8'));
    } catch {
      continue; // readSamples says what is wrong with it
    }
    try {
      refuseUnknownInferFields(body);
    } catch (err) {
      throw new AppError('INVALID_INPUT', `sample ${s.request}: ${(err as Error).message}`, { cause: err });
    }
  }
  const samples = await readSamples(manifest, (p) => readFile(sourceOf(p)));
  const label = opts.label ?? modelPath;
  return withSession(modelPath, async (session) => {
    assertIo(label, manifest.io, ioOf(session), opts);
    const run = sessionRunner(session, (type, data, dims) => new ort.Tensor(type as ort.Tensor.Type, data as never, dims as number[]));
    await warmUp(run, manifest, samples);
    return preflight(run, manifest, samples, { runs: 1 });
  }, label);
}

/**
 * What an agent checks of a bundle's model when it installs it (agent/src/runtime/session.ts), for
 * `model verify`: the entrypoint loads, its io matches the manifest by the agent's rule (a free input
 * dimension the model fixes at 1 is let through), it warms up and its samples pass. The files are copied
 * out hash-checked to a temp dir, removed after. An encrypted bundle is not checked (no content key here).
 */
export async function checkBundleModel(bundle: string, manifest: Manifest): Promise<{ checked: false } | { checked: true; samples: number }> {
  if (manifest.encryption) return { checked: false };
  const dir = await mkdtemp(join(tmpdir(), 'ef-verify-'));
  try {
    const paths = [manifest.entrypoint, ...(manifest.samples ?? []).flatMap((x) => (x.expected === undefined ? [x.request] : [x.request, x.expected]))];
    const local = new Map<string, string>();
    for (const [i, p] of [...new Set(paths)].entries()) {
      local.set(p, join(dir, String(i)));
      await extractBundleFile(bundle, p, join(dir, String(i)));
    }
    const pf = await checkPackedModel(local.get(manifest.entrypoint) as string, manifest, (p) => local.get(p) as string, { allowFreeOverOne: true, label: `bundle ${basename(bundle)}: ${manifest.entrypoint}` });
    return { checked: true, samples: pf?.samples ?? 0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
