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

/** A run's feeds as onnxruntime tensors, by input name (INVALID_INPUT for a datatype the agent cannot pass). */
export function ortFeeds(make: MakeOrtTensor, feeds: readonly RecordedTensor[]): Record<string, OrtTensorLike> {
  const input: Record<string, OrtTensorLike> = {};
  for (let i = 0; i < feeds.length; i++) input[feeds[i]!.name] = toOrt(make, feeds[i]!);
  return input;
}

/** The outputs `specs` names (those in `wanted`, if given) of a run, in `specs`' order, as OIP tensors. */
export function outputsOfRun(specs: ReadonlyArray<{ name: string }>, result: Record<string, OrtTensorLike>, wanted: readonly string[] | undefined): RecordedTensor[] {
  const outputs: RecordedTensor[] = [];
  for (let i = 0; i < specs.length; i++) {
    const name = specs[i]!.name;
    const t = result[name];
    if (t && (!wanted || wanted.includes(name))) outputs.push(fromOrt(name, t));
  }
  return outputs;
}

export { arrayFor } from '@edgefleet/shared/core';
