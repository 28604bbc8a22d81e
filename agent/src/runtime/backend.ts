// The execution backend the runtime runs sessions on: onnxruntime-node (native, the default where
// its binaries exist: linux x64/arm64 glibc) or onnxruntime-web's WebAssembly build running in Node
// (any box Node runs on: 32-bit ARM, musl). The interface is the few calls the runtime makes, so
// both implementations run one shared test suite (testing/backend-suite.ts). `auto` picks native when it
// loads, else wasm. Each implementation is imported only when chosen: the native daemon never
// loads onnxruntime-web (idle RSS, docs/performance.md).
import { AppError, type MakeOrtTensor, type OrtTensorLike, type OrtValueMetadata } from '@edgefleet/shared/core';

export type BackendName = 'native' | 'wasm';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['native', 'wasm', 'auto'];

/** Session options both backends understand (the manifest's runtime section, overridden by agent config). */
export interface SessionSettings {
  intraOpThreads: number;
  interOpThreads: number;
  spinning: boolean;
  graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
}

/** What the runtime uses of an onnxruntime InferenceSession (both packages' sessions fit it). */
export interface BackendSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Datatypes and shapes (onnxruntime's sessions have them; a test double may not). */
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensorLike>, fetches?: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/**
 * On a run's result: when its computation began (performance.now() on the agent's thread), where the backend
 * knows it better than the time it was called: wasm runs go one at a time in one worker thread, and a run
 * that waited there behind others waited for the backend (load), not for its model (the policy judges the
 * model's own time, docs/agent.md). Read it with runBegan.
 */
export const RUN_BEGAN = Symbol('run began');

/** When the run whose `result` this is began computing: the backend's time if it gave one, else `called`. */
export function runBegan(result: object, called: number): number {
  const began = (result as { [RUN_BEGAN]?: number })[RUN_BEGAN];
  return began !== undefined && began > called ? began : called;
}

export interface Backend {
  readonly name: BackendName;
  /** The onnxruntime version of the package behind it. */
  readonly version: string;
  /**
   * Creates a session from an .onnx file, or its bytes (a decrypted sealed model); throws what onnxruntime
   * throws. `modelName`: the model it is a version of (wasm: a new version of a loaded model goes to a
   * worker of its own, so the old one's heap goes with it, wasm-workers.ts).
   */
  create(model: string | Uint8Array, settings: SessionSettings, modelName?: string): Promise<BackendSession>;
  /** `new ort.Tensor(type, data, dims)` of this backend's package (each package has its own Tensor class). */
  tensor: MakeOrtTensor;
  /** Ends what the backend holds beyond its sessions (wasm: its worker thread, wasm-thread.ts). */
  close?(): Promise<void>;
}

export interface BackendLoaders {
  native(): Promise<Backend>;
  wasm(): Promise<Backend>;
}

const loaders: BackendLoaders = {
  native: async () => (await import('./native.js')).nativeBackend(),
  wasm: async () => (await import('./wasm.js')).wasmBackend(),
};

/**
 * Opens the chosen backend. `auto`: native when onnxruntime-node loads on this box, else wasm.
 * A backend that cannot load is MODEL_LOAD_FAILED naming it and why (loaders: a test hook).
 */
export async function openBackend(choice: BackendChoice, load: BackendLoaders = loaders): Promise<Backend> {
  const open = async (name: BackendName): Promise<Backend> => {
    try {
      return await load[name]();
    } catch (err) {
      throw new AppError('MODEL_LOAD_FAILED', `the ${name} onnxruntime backend does not load on this box: ${(err as Error).message}`, { cause: err });
    }
  };
  if (choice !== 'auto') return open(choice);
  try {
    return await open('native');
  } catch (native) {
    try {
      return await open('wasm');
    } catch (wasm) {
      throw new AppError('MODEL_LOAD_FAILED', `no onnxruntime backend loads on this box (runtime.backend "auto"): ${(native as Error).message}; ${(wasm as Error).message}`, { cause: wasm });
    }
  }
}
