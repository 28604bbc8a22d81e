// Ready-made models on top of the graph DSL: an MLP from given weights, a seeded
// random MLP for benches, and a non-tabular multi-input model (audio + scalar
// sample rate) so that pack/verify/serve/summarise are tested beyond tables; one only
// onnxruntime-node loads (runtime.backend tests).
import type { TensorSpec } from '@edgefleet/shared';
import { GraphBuilder } from './builder.js';
import { makeRng } from '../rng.js';

export type Activation = 'relu' | 'sigmoid' | 'softmax' | 'none';

export interface MlpLayer {
  /** Row-major [in][out]: weights[i * out + j] connects input i to output j. */
  weights: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

export interface MlpSpec {
  inputName: string;
  inputDim: number;
  layers: MlpLayer[];
  outputName: string;
  /** Optional standardization baked into the graph before the first layer: (x - mean) * scale. */
  standardize?: { mean: Float32Array; scale: Float32Array };
  metadata?: Record<string, string>;
}

/** Output dims of each layer, checked against weights/bias sizes; throws naming the layer. */
function layerDims(spec: MlpSpec): number[] {
  let inDim = spec.inputDim;
  return spec.layers.map((l, k) => {
    if (l.bias.length === 0) throw new Error(`layer ${k}: empty bias, expected one value per output unit`);
    const out = l.bias.length;
    if (l.weights.length !== inDim * out) {
      throw new Error(`layer ${k}: weights have ${l.weights.length} values, expected ${inDim}x${out} = ${inDim * out} (row-major [in][out])`);
    }
    inDim = out;
    return out;
  });
}

/** The manifest `io` of an MLP: input [-1, inputDim] FP32, output [-1, outDim] FP32. */
export function mlpIo(spec: Pick<MlpSpec, 'inputName' | 'inputDim' | 'outputName'>, outDim: number): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  return {
    inputs: [{ name: spec.inputName, datatype: 'FP32', shape: [-1, spec.inputDim] }],
    outputs: [{ name: spec.outputName, datatype: 'FP32', shape: [-1, outDim] }],
  };
}

/** An MLP as ONNX: [Sub, Mul] standardization, then Gemm + activation per layer. */
export function buildMlp(spec: MlpSpec): Uint8Array {
  if (spec.layers.length === 0) throw new Error('buildMlp: expected at least one layer');
  const dims = layerDims(spec);
  const g = new GraphBuilder('mlp');
  let x = g.input(spec.inputName, 'FP32', ['N', spec.inputDim]);
  if (spec.standardize) {
    const { mean, scale } = spec.standardize;
    if (mean.length !== spec.inputDim || scale.length !== spec.inputDim) {
      throw new Error(`standardize: mean has ${mean.length} and scale ${scale.length} values, expected ${spec.inputDim} each`);
    }
    x = g.op('Sub', [x, g.initializer('std_mean', mean, [spec.inputDim])]);
    x = g.op('Mul', [x, g.initializer('std_scale', scale, [spec.inputDim])]);
  }
  let inDim = spec.inputDim;
  spec.layers.forEach((l, k) => {
    const out = dims[k] as number;
    const last = k === spec.layers.length - 1;
    const w = g.initializer(`w${k}`, l.weights, [inDim, out]);
    const b = g.initializer(`b${k}`, l.bias, [out]);
    const lin = last && l.activation === 'none' ? spec.outputName : undefined;
    x = g.op('Gemm', [x, w, b], {}, lin);
    const actOut = last ? spec.outputName : undefined;
    if (l.activation === 'relu') x = g.op('Relu', [x], {}, actOut);
    else if (l.activation === 'sigmoid') x = g.op('Sigmoid', [x], {}, actOut);
    else if (l.activation === 'softmax') x = g.op('Softmax', [x], { axis: -1 }, actOut);
    inDim = out;
  });
  g.output(spec.outputName, 'FP32', ['N', inDim]);
  return g.build(spec.metadata ? { metadata: spec.metadata } : {});
}

/** The same MLP computed in plain TypeScript (float64), to check ORT's numbers against. */
export function mlpForward(spec: Pick<MlpSpec, 'inputDim' | 'layers' | 'standardize'>, x: ArrayLike<number>, rows: number): Float64Array {
  let cur = Float64Array.from(x);
  let inDim = spec.inputDim;
  if (spec.standardize) {
    const { mean, scale } = spec.standardize;
    cur = cur.map((v, i) => (v - (mean[i % inDim] as number)) * (scale[i % inDim] as number));
  }
  for (const l of spec.layers) {
    const out = l.bias.length;
    const next = new Float64Array(rows * out);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < out; j++) {
        let s = l.bias[j] as number;
        for (let i = 0; i < inDim; i++) s += (cur[r * inDim + i] as number) * (l.weights[i * out + j] as number);
        next[r * out + j] = l.activation === 'relu' ? Math.max(0, s) : l.activation === 'sigmoid' ? 1 / (1 + Math.exp(-s)) : s;
      }
      if (l.activation === 'softmax') {
        const row = next.subarray(r * out, (r + 1) * out);
        const m = Math.max(...row);
        let z = 0;
        for (let j = 0; j < out; j++) z += (row[j] = Math.exp((row[j] as number) - m));
        for (let j = 0; j < out; j++) row[j] = (row[j] as number) / z;
      }
    }
    cur = next;
    inDim = out;
  }
  return cur;
}

export interface RandomMlpOptions {
  inputDim?: number;
  hidden?: number[];
  outputDim?: number;
  seed?: number;
  inputName?: string;
  outputName?: string;
  output?: Activation;
}

export interface BuiltModel {
  onnx: Uint8Array;
  io: { inputs: TensorSpec[]; outputs: TensorSpec[] };
}

/** A seeded random MLP (He-scaled weights, ReLU hidden, softmax out by default): 64 -> 256 -> 256 -> 10 for benches. */
export function randomMlp(opts: RandomMlpOptions = {}): BuiltModel & { spec: MlpSpec } {
  const inputDim = opts.inputDim ?? 64;
  const sizes = [...(opts.hidden ?? [256, 256]), opts.outputDim ?? 10];
  const rng = makeRng(opts.seed ?? 1);
  let inDim = inputDim;
  const layers: MlpLayer[] = sizes.map((out, k) => {
    const sd = Math.sqrt(2 / inDim);
    const weights = Float32Array.from({ length: inDim * out }, () => rng.normal() * sd);
    const bias = Float32Array.from({ length: out }, () => rng.normal() * 0.01);
    inDim = out;
    return { weights, bias, activation: k === sizes.length - 1 ? (opts.output ?? 'softmax') : 'relu' };
  });
  const spec: MlpSpec = { inputName: opts.inputName ?? 'input', inputDim, layers, outputName: opts.outputName ?? 'output' };
  return { onnx: buildMlp(spec), io: mlpIo(spec, sizes[sizes.length - 1] as number), spec };
}

/**
 * A model onnxruntime-node loads and serves and onnxruntime-web's WebAssembly build refuses: its declared
 * output shape contradicts its own shape inference. `inputName` [-1, features] -> MatMul -> ReduceMax over
 * axis 1 (inferred [-1, 1]), declared `score` [-1, 2]. For runtime.backend=wasm breaking a model.
 */
export function buildStrictShapeModel(inputName = 'input', features = 4): BuiltModel {
  const g = new GraphBuilder('strict_shape');
  g.input(inputName, 'FP32', [-1, features]);
  g.initializer('w', new Float32Array(features * 2).fill(0.1), [features, 2]);
  g.node('MatMul', [inputName, 'w'], {}, ['h']);
  g.node('ReduceMax', ['h'], { axes: [1] }, ['score']);
  g.output('score', 'FP32', [-1, 2]);
  return { onnx: g.build(), io: { inputs: [{ name: inputName, datatype: 'FP32', shape: [-1, features] }], outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 2] }] } };
}

/**
 * A non-tabular model: `audio` FP32 [1, -1] and scalar `sample_rate` INT64 [] in;
 * `energy` = mean(audio^2) as FP32 [1, 1] and `sr_out` = sample_rate (INT64 []) out.
 */
export function buildMultiInputModel(): BuiltModel {
  const g = new GraphBuilder('multi_input');
  const audio = g.input('audio', 'FP32', [1, 'T']);
  const sr = g.input('sample_rate', 'INT64', []);
  const sq = g.op('Mul', [audio, audio]);
  g.op('ReduceMean', [sq], { axes: [1], keepdims: 1 }, 'energy');
  g.op('Identity', [sr], {}, 'sr_out');
  g.output('energy', 'FP32', [1, 1]);
  g.output('sr_out', 'INT64', []);
  return {
    onnx: g.build({ docString: 'mean signal energy of an audio clip; passes the sample rate through' }),
    io: {
      inputs: [
        { name: 'audio', datatype: 'FP32', shape: [1, -1] },
        { name: 'sample_rate', datatype: 'INT64', shape: [] },
      ],
      outputs: [
        { name: 'energy', datatype: 'FP32', shape: [1, 1] },
        { name: 'sr_out', datatype: 'INT64', shape: [] },
      ],
    },
  };
}

/**
 * A speech-like model that, like real ones, only runs at the sample rates it
 * was trained for: `audio` FP32 [1, -1] and scalar `sample_rate` INT64 [] in,
 * `energy` = mean(audio^2) FP32 [1, 1] out. The graph reshapes the audio to
 * [1 + (sr - 8000) * (sr - 16000), -1], which only works for 8000 and 16000:
 * any other rate (the zeros of a synthetic warm-up) fails in onnxruntime.
 */
export function buildSampleRateModel(): BuiltModel {
  const g = new GraphBuilder('sample_rate_gate');
  const audio = g.input('audio', 'FP32', [1, 'T']);
  const sr = g.input('sample_rate', 'INT64', []);
  const a = g.op('Sub', [sr, g.initializer('sr_8k', new BigInt64Array([8000n]), [])]);
  const b = g.op('Sub', [sr, g.initializer('sr_16k', new BigInt64Array([16000n]), [])]);
  const rows = g.op('Add', [g.op('Mul', [a, b]), g.initializer('one', new BigInt64Array([1n]), [])]);
  const rows1 = g.op('Unsqueeze', [rows, g.initializer('axis0', new BigInt64Array([0n]), [1])]);
  const shape = g.op('Concat', [rows1, g.initializer('rest', new BigInt64Array([-1n]), [1])], { axis: 0 });
  const x = g.op('Reshape', [audio, shape]);
  g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [0, 1], keepdims: 1 }, 'energy');
  g.output('energy', 'FP32', [1, 1]);
  return {
    onnx: g.build({ docString: 'mean signal energy; runs only at 8000 or 16000 Hz' }),
    io: {
      inputs: [
        { name: 'audio', datatype: 'FP32', shape: [1, -1] },
        { name: 'sample_rate', datatype: 'INT64', shape: [] },
      ],
      outputs: [{ name: 'energy', datatype: 'FP32', shape: [1, 1] }],
    },
  };
}

/** An OIP v2 infer request for buildSampleRateModel: four audio samples at `rate` Hz. */
export function sampleRateRequest(rate = 16000): { inputs: { name: string; datatype: string; shape: number[]; data: number[] }[] } {
  return {
    inputs: [
      { name: 'audio', datatype: 'FP32', shape: [1, 4], data: [0.5, -0.5, 1, 0] },
      { name: 'sample_rate', datatype: 'INT64', shape: [], data: [rate] },
    ],
  };
}

/** The `energy` buildSampleRateModel returns for sampleRateRequest(): mean of 0.25, 0.25, 1, 0. */
export const SAMPLE_RATE_ENERGY = 0.375;

/** An OIP v2 infer response body with `energy` = `value`, as a sample's expectation. */
export function energyResponse(value: number): { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] } {
  return { outputs: [{ name: 'energy', datatype: 'FP32', shape: [1, 1], data: [value] }] };
}
