// What the runtime tells the summaries part about every prediction. Called on
// the request path, so implementations must be in-memory and cheap (< 1 µs):
// they never touch SQLite here. The real recorder lives in ../summaries/.
import type { Manifest, OipTensor, TensorData } from '@edgefleet/shared';

/** A validated request tensor or a model output, row-major (the shared OIP tensor). */
export type RecordedTensor = OipTensor;
export type { TensorData };

export interface PredictionRecorder {
  /**
   * `latencyMs`: from the request's arrival to its answer (what the caller saw: the summaries' latency);
   * `waitMs`: the part of it before the request's run started (parsing, waiting for a run slot or a
   * batch): load, not the model, for the policy guard (policy/watcher.ts).
   */
  record(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[], latencyMs: number, waitMs?: number): void;
  recordError(model: string, version: string, code: string, latencyMs: number): void;
}

/** Lets the recorder look up features and the reference profile of a version. */
export type ManifestLookup = (name: string, version: string) => Manifest | undefined;

export const noopRecorder: PredictionRecorder = {
  record() {},
  recordError() {},
};
