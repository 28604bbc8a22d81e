// Every model the builder makes is loaded in a real onnxruntime-node session and
// must compute the numbers we expect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import ort from 'onnxruntime-node';
import { GraphBuilder, attr, onnxElemType } from './builder.js';
import { buildMlp, buildMultiInputModel, mlpForward, randomMlp } from './models.js';

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): void {
  assert.equal(a.length, b.length, 'length');
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs((a[i] as number) - (b[i] as number)) <= tol * (1 + Math.abs(b[i] as number)), `index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

test('buildMlp with hand-set weights computes Gemm + activations', async () => {
  // 2 -> 2 (relu) -> 1 (sigmoid); standardization (x - 1) * 2 first.
  const spec = {
    inputName: 'x',
    inputDim: 2,
    outputName: 'p',
    standardize: { mean: Float32Array.of(1, 1), scale: Float32Array.of(2, 2) },
    layers: [
      { weights: Float32Array.of(1, -1, 2, 0.5), bias: Float32Array.of(0, 1), activation: 'relu' as const },
      { weights: Float32Array.of(1, -2), bias: Float32Array.of(0.5), activation: 'sigmoid' as const },
    ],
  };
  const s = await session(buildMlp(spec));
  try {
    assert.deepEqual(s.inputNames, ['x']);
    assert.deepEqual(s.outputNames, ['p']);
    const x = Float32Array.of(2, 3, 0, 0, 1, 1);
    const out = await s.run({ x: new ort.Tensor('float32', x, [3, 2]) });
    const p = out.p as ort.Tensor;
    assert.deepEqual(p.dims, [3, 1]);
    // row 0: z = (2, 4); h = relu(2+8, -2+2+1) = (10, 1); o = 10 - 2 + 0.5 = 8.5
    const expected = mlpForward(spec, x, 3);
    assert.ok(Math.abs((expected[0] as number) - 1 / (1 + Math.exp(-8.5))) < 1e-9, 'reference forward by hand');
    close(p.data as Float32Array, expected);
  } finally {
    await s.release();
  }
});

test('randomMlp 64-256-256-10 is seeded and its softmax rows sum to 1', async () => {
  const a = randomMlp({ seed: 7 });
  const b = randomMlp({ seed: 7 });
  const c = randomMlp({ seed: 8 });
  assert.deepEqual(a.onnx, b.onnx);
  assert.notDeepEqual(a.onnx, c.onnx);
  assert.deepEqual(a.io.inputs[0], { name: 'input', datatype: 'FP32', shape: [-1, 64] });
  const s = await session(a.onnx);
  try {
    const rows = 4;
    const x = Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(i));
    const y = (await s.run({ input: new ort.Tensor('float32', x, [rows, 64]) })).output as ort.Tensor;
    assert.deepEqual(y.dims, [rows, 10]);
    const data = y.data as Float32Array;
    for (let r = 0; r < rows; r++) close([data.subarray(r * 10, r * 10 + 10).reduce((u, v) => u + v, 0)], [1]);
    close(data, mlpForward(a.spec, x, rows), 1e-3);
  } finally {
    await s.release();
  }
});

test('buildMultiInputModel: audio + INT64 scalar in, energy + scalar out', async () => {
  const m = buildMultiInputModel();
  const s = await session(m.onnx);
  try {
    assert.deepEqual([...s.inputNames].sort(), ['audio', 'sample_rate']);
    assert.deepEqual([...s.outputNames].sort(), ['energy', 'sr_out']);
    const audio = Float32Array.of(1, -2, 3, 0, 0.5);
    const out = await s.run({
      audio: new ort.Tensor('float32', audio, [1, audio.length]),
      sample_rate: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
    });
    const energy = out.energy as ort.Tensor;
    assert.deepEqual(energy.dims, [1, 1]);
    close(energy.data as Float32Array, [(1 + 4 + 9 + 0 + 0.25) / 5]);
    const sr = out.sr_out as ort.Tensor;
    assert.deepEqual(sr.dims, []);
    assert.equal(sr.type, 'int64');
    assert.equal((sr.data as BigInt64Array)[0], 16000n);
    // A different length works too: the time dimension is free.
    const out2 = await s.run({
      audio: new ort.Tensor('float32', Float32Array.of(2, 2), [1, 2]),
      sample_rate: new ort.Tensor('int64', BigInt64Array.of(8000n), []),
    });
    close((out2.energy as ort.Tensor).data as Float32Array, [4]);
  } finally {
    await s.release();
  }
});

test('GraphBuilder: Cast, MatMul, Add, Softmax, Identity and attributes', async () => {
  const g = new GraphBuilder('misc');
  const x = g.input('x', 'INT64', [-1, 2]);
  const xf = g.op('Cast', [x], { to: onnxElemType('FP32') });
  const m = g.op('MatMul', [xf, g.initializer('w', Float32Array.of(1, 0, 0, 1), [2, 2])]);
  const a = g.op('Add', [m, g.initializer('b', Float32Array.of(0.5), [])]);
  g.op('Softmax', [a], { axis: attr.i(1) }, 'sm');
  g.op('Identity', [a], {}, 'lin');
  g.output('sm', 'FP32', [-1, 2]);
  g.output('lin', 'FP32', [-1, 2]);
  const s = await session(g.build());
  try {
    const out = await s.run({ x: new ort.Tensor('int64', BigInt64Array.of(1n, 3n), [1, 2]) });
    close((out.lin as ort.Tensor).data as Float32Array, [1.5, 3.5]);
    const e = Math.exp(2);
    close((out.sm as ort.Tensor).data as Float32Array, [1 / (1 + e), e / (1 + e)]);
  } finally {
    await s.release();
  }
});

test('builder refuses bad graphs with messages that say what was expected', () => {
  const g = new GraphBuilder();
  g.input('x', 'FP32', [1]);
  assert.throws(() => g.input('x', 'FP32', [1]), /duplicate input name "x"/);
  assert.throws(() => g.initializer('w', Float32Array.of(1, 2, 3), [2, 2]), /has 3 values: expected 4 for dims \[2, 2\]/);
  assert.throws(() => g.input('y', 'FP32', [2.5]), /bad dimension 2.5 of "y"/);
  g.op('Relu', ['nope'], {}, 'r');
  g.output('r', 'FP32', [1]);
  assert.throws(() => g.build(), /reads "nope": expected an input, initializer or earlier node output/);
  const h = new GraphBuilder();
  h.input('x', 'FP32', [1]);
  h.output('missing', 'FP32', [1]);
  assert.throws(() => h.build(), /graph output "missing" is not produced/);
  assert.throws(
    () => buildMlp({ inputName: 'x', inputDim: 3, outputName: 'y', layers: [{ weights: new Float32Array(5), bias: new Float32Array(2), activation: 'none' }] }),
    /layer 0: weights have 5 values, expected 3x2 = 6/,
  );
});
