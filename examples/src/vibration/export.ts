// Exports a trained vibration model to ONNX with the preprocessing inside the
// graph, so the agent feeds raw feature rows: numeric columns are standardized
// with Sub/Mul, the machine type column is one-hot encoded with Equal + Cast,
// then Gemm -> Relu -> Gemm -> Sigmoid.
import type { TensorSpec } from '@edgefleet/shared';
import { GraphBuilder, onnxElemType } from '../onnx/builder.js';
import { MACHINE_TYPES, N_FEATURES } from './data.js';
import { N_INPUT, N_NUMERIC, type TrainedModel } from './train.js';

export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'anomaly_probability';

export const VIBRATION_IO: { inputs: TensorSpec[]; outputs: TensorSpec[] } = {
  inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [-1, N_FEATURES] }],
  outputs: [{ name: OUTPUT_NAME, datatype: 'FP32', shape: [-1, 1] }],
};

export function exportVibrationOnnx(m: TrainedModel, metadata: Record<string, string> = {}): Uint8Array {
  const g = new GraphBuilder('vibration_anomaly');
  const x = g.input(INPUT_NAME, 'FP32', ['N', N_FEATURES]);
  const i64 = (name: string, v: number[]) => g.initializer(name, BigInt64Array.from(v.map(BigInt)), [v.length]);
  const axes = i64('axis1', [1]);
  const numeric = g.op('Slice', [x, i64('num_start', [0]), i64('num_end', [N_NUMERIC]), axes]);
  const centered = g.op('Sub', [numeric, g.initializer('std_mean', m.mean, [N_NUMERIC])]);
  const scaled = g.op('Mul', [centered, g.initializer('std_scale', m.scale, [N_NUMERIC])]);
  const type = g.op('Slice', [x, i64('type_start', [N_NUMERIC]), i64('type_end', [N_FEATURES]), axes]);
  const codes = g.initializer('type_codes', Float32Array.from(MACHINE_TYPES, (_, i) => i), [MACHINE_TYPES.length]);
  const hot = g.op('Cast', [g.op('Equal', [type, codes])], { to: onnxElemType('FP32') });
  const v = g.op('Concat', [scaled, hot], { axis: 1 });
  const h = g.op('Relu', [g.op('Gemm', [v, g.initializer('w1', m.w1, [N_INPUT, m.hidden]), g.initializer('b1', m.b1, [m.hidden])])]);
  const z = g.op('Gemm', [h, g.initializer('w2', m.w2, [m.hidden, 1]), g.initializer('b2', m.b2, [1])]);
  g.op('Sigmoid', [z], {}, OUTPUT_NAME);
  g.output(OUTPUT_NAME, 'FP32', ['N', 1]);
  return g.build({ docString: 'P(anomalous) from 12 vibration features; standardization and one-hot inside the graph', metadata });
}
