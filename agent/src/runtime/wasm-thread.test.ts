// The wasm backend's worker thread (wasm-thread.ts, decision 0125): a worker that dies fails the call
// waiting on it and every later one naming itself and what to do, instead of leaving them waiting forever;
// runs that waited in the worker behind others are recorded as waiting, so the policy judges each model's
// own time (docs/agent.md "Runtime").
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, randomMlp } from '@edgefleet/examples';
import type { AppError } from '@edgefleet/shared/core';
import { ModelRuntime } from './runtime.js';
import { fp32, modelFile, seenRecorder } from './testing/fixtures.js';
import { WasmThread } from './wasm-thread.js';

it('a worker that dies fails what waits and every later call, naming itself', async () => {
  const thread = new WasmThread(import.meta.resolve('onnxruntime-web'));
  try {
    assert.match(await thread.ready, /^\d+\.\d+\.\d+/);
    // An op the worker does not know throws outside any call: the worker dies of it.
    await assert.rejects(thread.call('no-such-op', {}), /^Error: the wasm backend's worker thread stopped \(.*\): restart the agent$/);
    await assert.rejects(thread.call('release', { session: 1 }), /the wasm backend's worker thread stopped/);
  } finally {
    await thread.close();
  }
});

it('concurrent runs are recorded with their own compute time, not the time they waited behind each other in the worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-wasm-own-'));
  const recorder = seenRecorder();
  const rt = new ModelRuntime({ overrides: { backend: 'wasm', batching: 'off' }, perModel: 4, queue: 16, recorder });
  try {
    const m = randomMlp({ inputDim: 256, hidden: [512, 512], outputDim: 10, seed: 1 });
    const f = modelFile(dir, { name: 'mlp', version: '1.0.0', onnx: m.onnx, io: m.io });
    await rt.switchTo(f.manifest, f.path);
    const x = fp32('input', Array.from({ length: 64 }, (_, r) => Array.from({ length: 256 }, (_, i) => Math.sin(r + i))));
    let elapsed = 0;
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      await Promise.all([0, 1, 2, 3].map(() => rt.infer(rt.pin('mlp'), [x])));
      elapsed += performance.now() - t0;
    }
    const own = recorder.seen.ok.reduce((sum, o) => sum + o.latencyMs - (o.waitMs ?? 0), 0);
    assert.equal(recorder.seen.ok.length, 20);
    // The worker computes one run at a time, so their own times fit in the time they all took; counted
    // from when each was handed to the backend, the four of a round summed to about 2.5 times it.
    assert.ok(own <= elapsed * 1.5, `own time of the runs ${own.toFixed(1)} ms over ${elapsed.toFixed(1)} ms for all of them`);
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a run too large for the WebAssembly heap is INFERENCE_FAILED naming the backend and what to do; the box serves on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-wasm-oom-'));
  const rt = new ModelRuntime({ overrides: { backend: 'wasm' }, perModel: 1, queue: 1 });
  try {
    // Each row of `x` expanded to 2^28 floats (1 GiB): one row does not fit onnxruntime-web's heap.
    const g = new GraphBuilder('huge');
    g.input('x', 'FP32', [-1, 1]);
    const big = g.op('Expand', ['x', g.initializer('shape', new BigInt64Array([1n, 1n << 28n]), [2])]);
    g.op('ReduceSum', [big, g.initializer('axes', new BigInt64Array([1n]), [1])], { keepdims: 1 }, 'y');
    g.output('y', 'FP32', [-1, 1]);
    const io = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 1] }] };
    const f = modelFile(dir, { name: 'huge', version: '1.0.0', onnx: g.build(), io });
    // Loaded without its warm-up (which would run a row): the session, as onnxruntime-web made it.
    const backend = await rt.backend();
    const session = await backend.create(f.path, { intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimization: 'all' });
    rt.activate({ name: 'huge', version: '1.0.0', manifest: f.manifest, loadSeconds: 0, pins: 0, retired: false, session, backend, batch: undefined });
    await assert.rejects(rt.infer(rt.pin('huge'), [fp32('x', [[1]])]), (e: AppError) => e.code === 'INFERENCE_FAILED'
      && /^model "huge" version "1\.0\.0" failed to run on the wasm backend: .*memory access out of bounds: the run needs more memory than onnxruntime-web's WebAssembly heap holds \(at most 4 GiB for all models\): send fewer rows per request$/.test(e.message));
    const m = randomMlp({ inputDim: 4, hidden: [8], outputDim: 3, seed: 1 });
    const small = modelFile(dir, { name: 'mlp', version: '1.0.0', onnx: m.onnx, io: m.io });
    await rt.switchTo(small.manifest, small.path);
    assert.deepEqual((await rt.infer(rt.pin('mlp'), [fp32('input', [[1, 2, 3, 4]])])).outputs[0]!.shape, [1, 3]);
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
