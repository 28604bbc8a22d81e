// The WebAssembly backend: onnxruntime-web's Node build (its .wasm files ship inside the npm
// package; nothing is fetched). For boxes where onnxruntime-node has no binaries (32-bit ARM,
// musl). Opened only when chosen (backend.ts): the native daemon never pays for it.
// Sessions live in worker threads (wasm-thread.ts, one generation at a time: wasm-workers.ts), so a long run leaves the agent's own thread free
// for signals, probes and the hub link (docs/decisions/0125-wasm-runs-in-a-worker-thread.md).
// One WebAssembly thread (numThreads is process-wide in onnxruntime-web, and threads would mean
// worker_threads per process); the intra/inter-op settings have no wasm equivalent.
import { readFile } from 'node:fs/promises';
import type { OrtTensorLike, OrtValueMetadata } from '@edgefleet/shared/core';
import { RUN_BEGAN, type Backend, type BackendSession } from './backend.js';
import { WasmWorkers } from './wasm-workers.js';

interface Created { id: number; inputNames: string[]; outputNames: string[]; inputMetadata?: OrtValueMetadata[]; outputMetadata?: OrtValueMetadata[] }

/** A tensor's data as the worker gets it: a copy that owns its buffer (a view would send its whole buffer), handed over. */
function owned(t: OrtTensorLike, transfer: ArrayBuffer[]): OrtTensorLike {
  if (!ArrayBuffer.isView(t.data)) return { type: t.type, dims: t.dims, data: t.data };
  const data = (t.data as unknown as Uint8Array).slice();
  transfer.push(data.buffer);
  return { type: t.type, dims: t.dims, data };
}

/**
 * onnxruntime-web's words for a run whose tensors do not fit its WebAssembly heap (4 GiB at most, one for every
 * model of the box) are "memory access out of bounds"; said so, with what to do. The heap it grew stays
 * grown until its worker ends (wasm-workers.ts, docs/agent.md "Runtime").
 */
function outOfMemory(err: Error): Error {
  if (!/memory access out of bounds/.test(err.message)) return err;
  return new Error(`${err.message}: the run needs more memory than onnxruntime-web's WebAssembly heap holds (at most 4 GiB for all models): send fewer rows per request`, { cause: err });
}

export async function wasmBackend(): Promise<Backend> {
  const workers = new WasmWorkers(import.meta.resolve('onnxruntime-web'));
  const version = await workers.open();
  return {
    name: 'wasm',
    version,
    async create(model, settings, modelName) {
      // Bytes, not a path: onnxruntime-web would fetch() a path. A copy of its own goes to the worker,
      // which zeroes it once the session has it (the caller zeroes a sealed model's own bytes).
      const bytes = new Uint8Array(typeof model === 'string' ? await readFile(model) : model);
      const slot = await workers.take(modelName);
      let s: Created;
      try {
        s = await slot.thread.call<Created>('create', { bytes, graphOptimization: settings.graphOptimization }, [bytes.buffer]);
      } catch (err) {
        workers.put(slot);
        throw err;
      } finally {
        if (bytes.byteLength > 0) bytes.fill(0); // the copy when the worker never got it (handed over, it is detached)
      }
      slot.sessions.set(s.id, modelName);
      workers.put(slot);
      const thread = slot.thread;
      const session: BackendSession = {
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        ...(s.inputMetadata && s.outputMetadata ? { inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata } : {}),
        run(feeds, fetches) {
          const transfer: ArrayBuffer[] = [];
          const sent: Record<string, OrtTensorLike> = {};
          for (const [name, t] of Object.entries(feeds)) sent[name] = owned(t, transfer);
          return thread.call<{ ms: number; outputs: Record<string, OrtTensorLike> }>('run', { session: s.id, feeds: sent, ...(fetches ? { fetches: [...fetches] } : {}) }, transfer)
            .then((r) => Object.assign(r.outputs, { [RUN_BEGAN]: performance.now() - r.ms }), (err: Error) => Promise.reject(outOfMemory(err)));
        },
        release: () => thread.call<void>('release', { session: s.id }).finally(() => workers.released(slot, s.id)),
      };
      return session;
    },
    // Plain tensors: the worker makes onnxruntime-web's own of them.
    tensor: (type, data, dims) => ({ type, data, dims }),
    close: () => workers.close(),
  };
}
