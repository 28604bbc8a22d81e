// One test suite for every execution backend (STYLE.md practice 6; backend.ts): the example
// vibration model and a real MLP load, warm up, preflight and run through ModelRuntime on the
// backend, with outputs compared to onnxruntime-node run directly (the example) and to the MLP's
// own arithmetic in JS (mlpForward), within float tolerance; a swap keeps a pinned request on its
// version; batched requests equal requests run alone; a file that is not a model names the backend.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mlpForward, randomMlp, SMALL_EXAMPLE, trainExample } from '@edgefleet/examples';
import type { AppError, LoadedSample } from '@edgefleet/shared/core';
import type { BackendName } from '../backend.js';
import { fp32, modelFile, seenRecorder } from './fixtures.js';
import { nativeBackend } from '../native.js';
import { ModelRuntime } from '../runtime.js';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
};

export function backendSuite(name: BackendName): void {
  describe(`runtime on the ${name} backend`, () => {
    let dir: string;
    let rt: ModelRuntime;
    const recorder = seenRecorder();
    before(() => {
      dir = mkdtempSync(join(tmpdir(), `ef-backend-${name}-`));
      rt = new ModelRuntime({ overrides: { backend: name, batching: 'on', maxQueueDelayUs: 20_000 }, perModel: 2, queue: 16, recorder });
    });
    after(async () => {
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`opens the ${name} backend`, async () => {
      const b = await rt.backend();
      assert.equal(b.name, name);
      assert.match(b.version, /^\d+\.\d+\.\d+/);
      assert.equal(rt.backendInUse, name);
    });

    it('runs the example vibration model as onnxruntime-node does', async () => {
      const ex = await trainExample({ ...SMALL_EXAMPLE, version: '1.0.0' });
      const f = modelFile(dir, { name: 'vibration-anomaly', version: '1.0.0', onnx: ex.onnx, io: ex.manifest.io as never });
      await rt.switchTo(f.manifest, f.path);
      const n = 64;
      const width = ex.holdout.x.length / ex.holdout.rows;
      const x = ex.holdout.x.subarray(0, n * width);
      const input = { name: f.manifest.io.inputs[0]!.name, datatype: 'FP32' as const, shape: [n, width], data: Float32Array.from(x) };
      const got = (await rt.infer(rt.pin('vibration-anomaly'), [input])).outputs[0]!;
      const native = nativeBackend();
      const s = await native.create(f.path, { intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimization: 'all' });
      const want = (await s.run({ [input.name]: native.tensor('float32', input.data, input.shape) }))[f.manifest.io.outputs[0]!.name]!;
      await s.release();
      assert.deepEqual(got.shape, want.dims);
      close(got.data as Float32Array, want.data as Float32Array, 1e-5, 'P(anomalous)');
    });

    it('runs a real MLP as its arithmetic says; preflight passes on a sample with the expected outputs', async () => {
      const m = randomMlp({ inputDim: 64, hidden: [256, 256], outputDim: 10, seed: 4 });
      const f = modelFile(dir, { name: 'mlp', version: '1.0.0', onnx: m.onnx, io: m.io });
      const rows = 5;
      const x = Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(i));
      const want = mlpForward(m.spec, x, rows);
      const expected = [{ name: 'output', datatype: 'FP32' as const, shape: [rows, 10], data: Array.from(want) }];
      const sample: LoadedSample = { name: 'sample.json', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: x }], expected, tolerance: 1e-4 };
      const v = await rt.load(f.manifest, f.path, [sample]);
      const pre = await rt.preflight(v, [sample]);
      assert.equal(pre?.samples, 1);
      rt.activate(v);
      const got = (await rt.infer(rt.pin('mlp'), [sample.inputs[0]!])).outputs[0]!;
      assert.deepEqual(got.shape, [rows, 10]);
      close(got.data as Float32Array, want, 1e-4, 'mlp output');
      // A sample whose expected outputs are off fails preflight.
      const bad: LoadedSample = { ...sample, expected: [{ ...expected[0]!, data: expected[0]!.data.map((z) => z + 1) }] };
      await assert.rejects(rt.preflight(v, [bad]), (e: AppError) => e.code === 'MODEL_PREFLIGHT_FAILED');
    });

    it('batched requests get what they get alone', async () => {
      const x = (k: number) => fp32('input', [Array.from({ length: 64 }, (_, i) => Math.cos(i + k))]);
      const alone: Float32Array[] = [];
      for (let k = 0; k < 4; k++) alone.push((await rt.infer(rt.pin('mlp'), [x(k)])).outputs[0]!.data as Float32Array);
      const runs = rt.batchStats('mlp')!.runs;
      const together = await Promise.all([0, 1, 2, 3].map((k) => rt.infer(rt.pin('mlp'), [x(k)])));
      assert.equal(rt.batchStats('mlp')!.runs, runs + 1);
      together.forEach((r, k) => close(r.outputs[0]!.data as Float32Array, alone[k]!, 1e-5, `request ${k}`));
    });

    it('a swap keeps a pinned request on its version and releases the old session after it', async () => {
      const m2 = randomMlp({ inputDim: 64, hidden: [32], outputDim: 10, seed: 8 });
      const f2 = modelFile(dir, { name: 'mlp', version: '2.0.0', onnx: m2.onnx, io: m2.io });
      const released: string[] = [];
      const r2 = new ModelRuntime({ overrides: { backend: name }, perModel: 1, queue: 4, onRelease: (v) => released.push(v.version) });
      try {
        const f1 = modelFile(dir, { name: 'mlp', version: '1.0.1', onnx: randomMlp({ inputDim: 64, hidden: [16], outputDim: 10, seed: 1 }).onnx, io: m2.io });
        await r2.switchTo(f1.manifest, f1.path);
        const v1 = r2.pin('mlp');
        await r2.switchTo(f2.manifest, f2.path);
        assert.deepEqual(released, [], 'the pinned version stays');
        assert.equal((await r2.infer(v1, [fp32('input', [Array(64).fill(0.5)])])).version, '1.0.1');
        assert.deepEqual(released, ['1.0.1']);
        assert.equal((await r2.infer(r2.pin('mlp'), [fp32('input', [Array(64).fill(0.5)])])).version, '2.0.0');
      } finally {
        await r2.stop();
      }
    });

    it('loads a model from its bytes (a sealed model, decrypted in memory), zeroes them and serves it', async () => {
      const m = randomMlp({ inputDim: 64, hidden: [16], outputDim: 10, seed: 3 });
      const f = modelFile(dir, { name: 'sealed', version: '1.0.0', onnx: m.onnx, io: m.io });
      const bytes = Uint8Array.from(m.onnx);
      const v = await rt.load(f.manifest, bytes);
      assert.ok(bytes.every((b) => b === 0), 'the plaintext is zeroed once the session has it');
      rt.activate(v);
      const x = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i));
      const got = (await rt.infer(rt.pin('sealed'), [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: x }])).outputs[0]!;
      close(got.data as Float32Array, mlpForward(m.spec, x, 1), 1e-4, 'sealed output');
    });

    it('a file that is not a model is MODEL_LOAD_FAILED naming the backend', async () => {
      const f = modelFile(dir, { name: 'junk', version: '1.0.0', onnx: new Uint8Array([1, 2, 3]), io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] } });
      writeFileSync(f.path, 'not an onnx model');
      await assert.rejects(rt.load(f.manifest, f.path), (e: AppError) => e.code === 'MODEL_LOAD_FAILED' && e.message.includes(`(${name})`) && e.message.includes('junk@1.0.0'));
    });
  });
}
