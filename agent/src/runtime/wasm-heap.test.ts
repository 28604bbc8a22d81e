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
