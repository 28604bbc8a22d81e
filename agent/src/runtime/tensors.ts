// Conversions between OIP tensors (RecordedTensor) and onnxruntime tensors of either backend
// (the type tables live in @edgefleet/shared, which the hub CLI uses too).
import { AppError, DATATYPE_OF_ORT, ORT_TYPE_OF, oipData, ortData, type MakeOrtTensor, type OrtTensorLike } from '@edgefleet/shared/core';
import type { RecordedTensor } from './recorder.js';

export function toOrt(make: MakeOrtTensor, t: RecordedTensor): OrtTensorLike {
  const type = ORT_TYPE_OF[t.datatype];
  if (!type) throw new AppError('INVALID_INPUT', `input "${t.name}": datatype ${t.datatype} is not supported by this agent`);
  return make(type, ortData(t.datatype, t.data), t.shape);
}

export function fromOrt(name: string, t: OrtTensorLike): RecordedTensor {
  const datatype = DATATYPE_OF_ORT[t.type];
  if (!datatype) throw new AppError('INFERENCE_FAILED', `output "${name}" has type ${t.type}, which the agent cannot return`);
  return { name, datatype, shape: t.dims, data: oipData(t.type, t.data) };
}

export { arrayFor } from '@edgefleet/shared/core';
