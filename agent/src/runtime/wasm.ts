// The WebAssembly backend: onnxruntime-web's Node build (its .wasm files ship inside the npm
// package; nothing is fetched). For boxes where onnxruntime-node has no binaries (32-bit ARM,
// musl). Imported only when chosen (backend.ts): the native daemon never pays for it.
// One WebAssembly thread (numThreads is process-wide in onnxruntime-web, and threads would mean
// worker_threads per process); the intra/inter-op settings have no wasm equivalent.
import { readFile } from 'node:fs/promises';
import type { Backend, BackendSession } from './backend.js';

export async function wasmBackend(): Promise<Backend> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  return {
    name: 'wasm',
    version: ort.env.versions.web ?? ort.env.versions.common,
    async create(model, settings) {
      // From bytes: onnxruntime-web would fetch() a path.
      const bytes = typeof model === 'string' ? await readFile(model) : Buffer.from(model.buffer, model.byteOffset, model.length);
      return (await ort.InferenceSession.create(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), {
        executionProviders: ['wasm'],
        graphOptimizationLevel: settings.graphOptimization,
      })) as unknown as BackendSession;
    },
    tensor: (type, data, dims) => new ort.Tensor(type as 'float32', data as Float32Array, dims as number[]),
  };
}
