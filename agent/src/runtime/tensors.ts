// Conversions between OIP tensors (RecordedTensor) and onnxruntime tensors
// (the type tables live in @edgefleet/shared, which the hub CLI uses too).
import type Ort from 'onnxruntime-node';
import { AppError, DATATYPE_OF_ORT, ORT_TYPE_OF } from '@edgefleet/shared/core';
import type { Datatype } from '@edgefleet/shared';
import { ort } from './ort.js';
import type { RecordedTensor, TensorData } from './recorder.js';

const TO_ORT = ORT_TYPE_OF as Partial<Record<Datatype, Ort.Tensor.Type>>;
const FROM_ORT = DATATYPE_OF_ORT;

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

export { arrayFor } from '@edgefleet/shared/core';
