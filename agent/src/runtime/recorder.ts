// What the runtime tells the summaries part about every prediction. Called on
// the request path, so implementations must be in-memory and cheap (< 1 µs):
// they never touch SQLite here. The real recorder lives in ../summaries/.
import type { Datatype, Manifest } from '@edgefleet/shared';

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A validated request tensor or a model output, row-major. BOOL is a Uint8Array of 0/1. */
export interface RecordedTensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: TensorData;
}

export interface PredictionRecorder {
  record(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[], latencyMs: number): void;
  recordError(model: string, version: string, code: string, latencyMs: number): void;
}

/** Lets the recorder look up features and the reference profile of a version. */
export type ManifestLookup = (name: string, version: string) => Manifest | undefined;

export const noopRecorder: PredictionRecorder = {
  record() {},
  recordError() {},
};
