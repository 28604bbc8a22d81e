// The wasm backend's worker thread (wasm-thread.ts, decision 0121): a worker that dies fails the call
// waiting on it and every later one naming itself and what to do, instead of leaving them waiting forever;
// runs that waited in the worker behind others are recorded as waiting, so the policy judges each model's
// own time (docs/agent.md "Runtime").
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMlp } from '@edgefleet/examples';
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
