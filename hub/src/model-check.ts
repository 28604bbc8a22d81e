// Checks an ONNX model against the manifest's `io` before a bundle is packed or
// accepted: it must load in onnxruntime, and its inputs and outputs must match
// by name, datatype and rank (fixed dimensions too, where both sides fix them).
// The comparison is a pure function so it can be tested on metadata alone.
import { AppError, type Manifest, type TensorSpec } from '@edgefleet/shared';
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

/** ORT tensor element types in OIP datatype terms. */
const ORT_TO_OIP: Record<string, TensorSpec['datatype']> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

function showShape(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : JSON.stringify(d))).join(', ')}]`;
}

function compareSide(side: 'input' | 'output', declared: TensorSpec[], actual: ModelValueInfo[]): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((a) => [a.name, a]));
  const declaredNames = new Set(declared.map((d) => d.name));
  for (const d of declared) {
    const a = byName.get(d.name);
    if (!a) {
      problems.push(`${side} "${d.name}": declared in the manifest but the model has no such ${side} (model ${side}s: ${actual.map((x) => `"${x.name}"`).join(', ') || 'none'})`);
      continue;
    }
    if (a.type === null) {
      problems.push(`${side} "${d.name}": expected a ${d.datatype} tensor, the model's is not a tensor`);
      continue;
    }
    const dt = ORT_TO_OIP[a.type];
    if (dt !== d.datatype) problems.push(`${side} "${d.name}": expected datatype ${d.datatype}, the model has ${dt ?? a.type}`);
    if (a.shape.length !== d.shape.length) {
      problems.push(`${side} "${d.name}": expected rank ${d.shape.length} ${showShape(d.shape)}, the model has rank ${a.shape.length} ${showShape(a.shape)}`);
      continue;
    }
    d.shape.forEach((dim, i) => {
      const m = a.shape[i];
      const modelFixed = typeof m === 'number' && m >= 0;
      // A manifest dimension fixed where the model is free is a narrowing and fine; the reverse would let clients send what the model refuses.
      if ((dim >= 0 && modelFixed && dim !== m) || (dim < 0 && modelFixed)) {
        problems.push(`${side} "${d.name}": dimension ${i} is ${dim} in the manifest ${showShape(d.shape)}, ${String(m)} in the model ${showShape(a.shape)}`);
      }
    });
  }
  for (const a of actual) {
    if (!declaredNames.has(a.name)) problems.push(`${side} "${a.name}": the model has it but the manifest io does not declare it`);
  }
  return problems;
}

/** The list of differences between the manifest io and the model's (empty when they match). */
export function compareModelIo(io: Io, model: ModelIoInfo): string[] {
  return [...compareSide('input', io.inputs, model.inputs), ...compareSide('output', io.outputs, model.outputs)];
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
