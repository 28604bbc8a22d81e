// Conversions between OIP tensors (RecordedTensor) and onnxruntime tensors.
import type Ort from 'onnxruntime-node';
import { AppError } from '@edgefleet/shared/core';
import type { Datatype } from '@edgefleet/shared';
import { ort } from './ort.js';
import type { RecordedTensor, TensorData } from './recorder.js';

const TO_ORT: Partial<Record<Datatype, Ort.Tensor.Type>> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};
const FROM_ORT: Record<string, Datatype> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', int8: 'INT8', int16: 'INT16',
  int32: 'INT32', int64: 'INT64', float32: 'FP32', float64: 'FP64', string: 'BYTES', float16: 'FP16',
};

export function toOrt(t: RecordedTensor): Ort.Tensor {
  const type = TO_ORT[t.datatype];
  if (!type) throw new AppError('INVALID_INPUT', `input "${t.name}": datatype ${t.datatype} is not supported by this agent`);
  return new ort.Tensor(type, t.data as never, t.shape as number[]);
}

export function fromOrt(name: string, t: Ort.Tensor): RecordedTensor {
  const datatype = FROM_ORT[t.type];
  if (!datatype) throw new AppError('INFERENCE_FAILED', `output "${name}" has type ${t.type}, which the agent cannot return`);
  return { name, datatype, shape: t.dims, data: t.data as TensorData };
}

/** Typed array constructor for a datatype (BOOL as Uint8Array); undefined for BYTES and FP16. */
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
    case 'FP16':
    case 'BYTES':
      return undefined;
  }
}
