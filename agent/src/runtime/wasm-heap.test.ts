// The wasm backend gives a replaced version's memory back (wasm-workers.ts, docs/agent.md "Runtime"):
// onnxruntime-web's WebAssembly heap never shrinks, so a large model replaced by a small one in the same
// worker kept the process's RSS at the large one's size (measured: 819 MB with an 80 MB model, 708 MB
// after the switch to a 1 KB one). The switch here is the runtime's own (load beside, swap, release).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomMlp } from '@edgefleet/examples';
import { ModelRuntime } from './runtime.js';
import { fp32, modelFile } from './testing/fixtures.js';
import { WasmWorkers, type WorkerSlot } from './wasm-workers.js';

const MB = 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const rss = () => process.memoryUsage().rss / MB;

it('after a large version is replaced by a small one, the large one\'s heap is given back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-wasm-heap-'));
  const rt = new ModelRuntime({ overrides: { backend: 'wasm', batching: 'off' }, perModel: 2, queue: 4 });
  // The models are written first and the main thread's garbage collected, so RSS tells the worker's heap.
  const files = new Map([['1.0.0', 16], ['2.0.0', 1024], ['3.0.0', 16]].map(([version, inputDim]) => {
    const m = randomMlp({ inputDim: inputDim as number, hidden: inputDim === 1024 ? [4096, 4096] : [16], outputDim: 10, seed: 1 }); // 2.0.0: 80 MB of weights
    return [version as string, { f: modelFile(dir, { name: 'mlp', version: version as string, onnx: m.onnx, io: m.io }), inputDim: inputDim as number }];
  }));
  const load = async (version: string, rows: number) => {
    const { f, inputDim } = files.get(version)!;
    await rt.switchTo(f.manifest, f.path);
    await rt.infer(rt.pin('mlp'), [fp32('input', Array.from({ length: rows }, () => new Array<number>(inputDim).fill(0.5)))]);
    gc();
  };
  try {
    await load('1.0.0', 1);
    const base = rss();
    await load('2.0.0', 64);
    const peak = rss();
    assert.ok(peak - base > 200, `the large version grew RSS by ${(peak - base).toFixed(0)} MB: expected over 200`);
    await load('3.0.0', 1);
    // The old version is released once its requests finished: wait for it (bounded), not for a fixed time.
    let after = rss();
    for (let i = 0; i < 100 && after > (base + peak) / 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = rss();
    }
    assert.ok(after < (base + peak) / 2, `RSS ${after.toFixed(0)} MB after the switch (${base.toFixed(0)} MB before the large version, ${peak.toFixed(0)} MB with it): expected under ${((base + peak) / 2).toFixed(0)}`);
    const out = await rt.infer(rt.pin('mlp'), [fp32('input', [new Array<number>(16).fill(0.5)])]);
    assert.equal(out.version, '3.0.0', 'the small version serves');
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('with two models, an old worker lives until each of its models was switched, then ends; a new version of a held model starts a worker', async () => {
  const workers = new WasmWorkers(import.meta.resolve('onnxruntime-web'));
  const onnx = randomMlp({ inputDim: 4, hidden: [4], outputDim: 2, seed: 1 }).onnx;
  const create = async (model: string) => {
    const slot = await workers.take(model);
    const bytes = new Uint8Array(onnx);
    const s = await slot.thread.call<{ id: number }>('create', { bytes, graphOptimization: 'all' }, [bytes.buffer]);
    slot.sessions.set(s.id, model);
    workers.put(slot);
    return { slot, id: s.id };
  };
  const release = async (x: { slot: WorkerSlot; id: number }) => {
    await x.slot.thread.call('release', { session: x.id });
    workers.released(x.slot, x.id);
  };
  try {
    await workers.open();
    const a1 = await create('a');
    const b1 = await create('b');
    assert.equal(b1.slot, a1.slot, 'another model shares the worker');
    const a2 = await create('a');
    assert.notEqual(a2.slot, a1.slot, 'a new version of a held model: a new worker');
    await release(a1);
    assert.equal(workers.size, 2, 'the old worker still holds b');
    const b2 = await create('b');
    assert.equal(b2.slot, a2.slot);
    await release(b1);
    assert.equal(workers.size, 1, 'its last session released, the old worker ended');
    await release(a2);
    await release(b2);
    assert.equal(workers.size, 0, 'no session, no worker');
    const a3 = await create('a');
    assert.equal(workers.size, 1, 'the next load starts a fresh one');
    await release(a3);
  } finally {
    await workers.close();
  }
});
