// Checks an ONNX model against the manifest's `io` before a bundle is packed or
// accepted: it must load in onnxruntime, and its inputs and outputs must match
// by name, datatype and rank (fixed dimensions too, where both sides fix them).
// The comparison is shared's checkModelIo, so the agent judges models the same way.
import { AppError, checkModelIo, ortTypeToDatatype, type ActualTensor, type Manifest } from '@edgefleet/shared';
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
export function compareModelIo(io: Io, model: ModelIoInfo): string[] {
  const actual = (vs: ModelValueInfo[]): ActualTensor[] =>
    vs.map((v) => ({
      name: v.name,
      datatype: v.type === null ? 'a non-tensor value' : (ortTypeToDatatype(v.type) ?? v.type),
      shape: v.type === null ? undefined : [...v.shape],
    }));
  return checkModelIo({ inputs: actual(model.inputs), outputs: actual(model.outputs) }, io);
}

function infoOf(m: ort.InferenceSession.ValueMetadata): ModelValueInfo {
  return m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: null, shape: [] };
}

/** Loads the model with onnxruntime (CPU, one thread) and returns its io metadata; MODEL_LOAD_FAILED if it does not load. */
export async function readModelIo(modelPath: string): Promise<ModelIoInfo> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
  } catch (err) {
    throw new AppError('MODEL_LOAD_FAILED', `${modelPath}: onnxruntime could not load the model: ${(err as Error).message}`, { cause: err });
  }
  try {
    return { inputs: session.inputMetadata.map(infoOf), outputs: session.outputMetadata.map(infoOf) };
  } finally {
    await session.release();
  }
}

/**
 * Throws MODEL_LOAD_FAILED when the model does not load, MODEL_IO_MISMATCH naming
 * each tensor and expected vs actual when its io differs from the manifest's.
 */
export async function checkOnnxModel(modelPath: string, io: Io): Promise<void> {
  const info = await readModelIo(modelPath);
  const problems = compareModelIo(io, info);
  if (problems.length > 0) {
    throw new AppError('MODEL_IO_MISMATCH', `model ${modelPath} does not match the manifest io: ${problems.join('; ')}`, { details: problems });
  }
}
