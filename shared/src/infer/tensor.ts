// OIP v2 tensors as both programs hold them (typed arrays, row-major), and the
// datatype <-> onnxruntime tensor type names. No onnxruntime import here: the
// callers (agent runtime, hub CLI) own their onnxruntime-node dependency.
import type { Datatype } from '../wire/manifest.js';
import { fromHalfBits, toHalfBits } from './half.js';

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A validated request tensor or a model output, row-major. BOOL is a Uint8Array of 0/1, FP16 a Float32Array of its values (half.ts). */
export interface OipTensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: TensorData;
}

/** OIP datatype -> onnxruntime tensor type (FP16 data goes through ortData). */
export const ORT_TYPE_OF: Partial<Record<Datatype, string>> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64', FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

/** onnxruntime tensor type -> OIP datatype, for outputs. */
export const DATATYPE_OF_ORT: Record<string, Datatype> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', int8: 'INT8', int16: 'INT16',
  int32: 'INT32', int64: 'INT64', float32: 'FP32', float64: 'FP64', string: 'BYTES', float16: 'FP16',
};

/** Typed array constructor for a datatype (BOOL as Uint8Array, FP16 as Float32Array of its values); undefined for BYTES. */
export function arrayFor(datatype: Datatype, n: number): Exclude<TensorData, string[]> | undefined {
  switch (datatype) {
    case 'FP32': return new Float32Array(n);
    case 'FP64': return new Float64Array(n);
    case 'INT32': return new Int32Array(n);
    case 'INT64': return new BigInt64Array(n);
    case 'BOOL': return new Uint8Array(n);
    case 'UINT8': return new Uint8Array(n);
    case 'INT8': return new Int8Array(n);
    case 'INT16': return new Int16Array(n);
    case 'UINT16': return new Uint16Array(n);
    case 'UINT32': return new Uint32Array(n);
    case 'UINT64': return new BigUint64Array(n);
    case 'FP16': return new Float32Array(n);
    case 'BYTES':
      return undefined;
  }
}

/** Tensor data as onnxruntime takes it for `datatype`: FP16 values become their bits, the rest as they are. */
export function ortData(datatype: Datatype, data: TensorData): TensorData {
  return datatype === 'FP16' && !Array.isArray(data) ? toHalfBits(data as Float32Array) : data;
}

/** An onnxruntime output's data as an OipTensor holds it: float16 bits become values, the rest as they are. */
export function oipData(type: string, data: unknown): TensorData {
  return type === 'float16' ? fromHalfBits(data as Uint16Array) : data as TensorData;
}

/** The structural part of an onnxruntime-node tensor and session that warm-up and preflight use. */
export interface OrtTensorLike { type: string; dims: readonly number[]; data: unknown }
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
}
/** `(type, data, dims) => new ort.Tensor(type, data, dims)`, passed in by the caller. */
export type MakeOrtTensor = (type: string, data: TensorData, dims: readonly number[]) => OrtTensorLike;

/** Runs named OIP tensors through a session; returns every output as an OIP tensor. */
export type RunModel = (inputs: readonly OipTensor[]) => Promise<OipTensor[]>;

/** A RunModel over an onnxruntime session. */
export function sessionRunner(session: OrtSessionLike, makeTensor: MakeOrtTensor): RunModel {
  return async (inputs) => {
    const feeds: Record<string, OrtTensorLike> = {};
    for (const t of inputs) {
      const type = ORT_TYPE_OF[t.datatype];
      if (!type) throw new Error(`input "${t.name}": datatype ${t.datatype} is not supported by onnxruntime-node`);
      feeds[t.name] = makeTensor(type, ortData(t.datatype, t.data), t.shape);
    }
    const out = await session.run(feeds);
    return Object.entries(out).map(([name, t]) => {
      const datatype = DATATYPE_OF_ORT[t.type];
      if (!datatype) throw new Error(`output "${name}" has type ${t.type}, which has no OIP datatype`);
      return { name, datatype, shape: t.dims, data: oipData(t.type, t.data) };
    });
  };
}
