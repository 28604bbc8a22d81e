// Test support for the runtime's own tests (not shipped on the daemon path): model files with
// parsed manifests written to a temp dir (no bundle, no signature: the runtime takes a manifest
// and a path), recorders that remember what they saw, and small models built with onnx-proto.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '@edgefleet/examples';
import { Manifest, type ManifestInput, type TensorSpec } from '@edgefleet/shared';
import type { PredictionRecorder, RecordedTensor } from '../recorder.js';

export interface ModelFile {
  manifest: Manifest;
  path: string;
}

/** Writes ONNX bytes to DIR/NAME-VERSION.onnx with a manifest for them. */
export function modelFile(dir: string, o: { name: string; version: string; onnx: Uint8Array; io: { inputs: TensorSpec[]; outputs: TensorSpec[] }; runtime?: Partial<Manifest['runtime']>; manifest?: Partial<ManifestInput> }): ModelFile {
  const path = join(dir, `${o.name}-${o.version}.onnx`);
  writeFileSync(path, o.onnx);
  const manifest = Manifest.parse({
    schema: 'edgefleet.manifest/v1', name: o.name, version: o.version, created: new Date().toISOString(),
    files: [{ path: 'model.onnx', sha256: createHash('sha256').update(o.onnx).digest('hex'), size: o.onnx.length }],
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0', ...o.runtime },
    io: o.io,
    provenance: { data: [], training: { code: 'agent/src/runtime/testing/fixtures.ts' }, metrics: {}, reason: 'test fixture' },
    ...o.manifest,
  });
  return { manifest, path };
}

export interface Seen {
  ok: Array<{ model: string; version: string; rows: number; feeds: readonly RecordedTensor[]; outputs: readonly RecordedTensor[]; latencyMs: number; waitMs: number | undefined }>;
  errors: Array<{ model: string; version: string; code: string }>;
}

/** A recorder that keeps every call (copies of the tensors: batched outputs are views). */
export function seenRecorder(): PredictionRecorder & { seen: Seen } {
  const seen: Seen = { ok: [], errors: [] };
  const copy = (ts: readonly RecordedTensor[]) => ts.map((t) => ({ ...t, shape: [...t.shape], data: Array.isArray(t.data) ? [...t.data] : t.data.slice() }) as RecordedTensor);
  return {
    seen,
    record: (model, version, feeds, outputs, latencyMs, waitMs) => seen.ok.push({ model, version, rows: feeds[0]?.shape[0] ?? 0, feeds: copy(feeds), outputs: copy(outputs), latencyMs, waitMs }),
    recordError: (model, version, code) => seen.errors.push({ model, version, code }),
  };
}

/**
 * `x` FP32 [-1, 4] and `idx` INT64 [-1, 1] in, `y` = x[row, idx[row]] FP32 [-1, 1] out
 * (GatherElements on axis 1). An index outside 0..3 makes onnxruntime fail the whole run:
 * the "one request's bad values" of dynamic batching.
 */
export function pickModel(): { onnx: Uint8Array; io: { inputs: TensorSpec[]; outputs: TensorSpec[] } } {
  const g = new GraphBuilder('pick');
  const x = g.input('x', 'FP32', [-1, 4]);
  const idx = g.input('idx', 'INT64', [-1, 1]);
  g.op('GatherElements', [x, idx], { axis: 1 }, 'y');
  g.output('y', 'FP32', [-1, 1]);
  return {
    onnx: g.build(),
    io: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }, { name: 'idx', datatype: 'INT64', shape: [-1, 1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    },
  };
}

/**
 * `x` FP32 [-1, 4] in, `s` = the sum over rows (ReduceSum axis 0, keepdims) out, declared
 * [-1, 4] though it always has one row: a first dimension that is not a batch.
 */
export function sumRowsModel(): { onnx: Uint8Array; io: { inputs: TensorSpec[]; outputs: TensorSpec[] } } {
  const g = new GraphBuilder('sum_rows');
  const x = g.input('x', 'FP32', [-1, 4]);
  const axes = g.initializer('axes', new BigInt64Array([0n]), [1]);
  g.op('ReduceSum', [x, axes], { keepdims: 1 }, 's');
  g.output('s', 'FP32', [-1, 4]);
  return {
    onnx: g.build(),
    io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 's', datatype: 'FP32', shape: [-1, 4] }] },
  };
}

export const fp32 = (name: string, rows: number[][]): RecordedTensor => ({ name, datatype: 'FP32', shape: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });
export const int64 = (name: string, rows: number[][]): RecordedTensor => ({ name, datatype: 'INT64', shape: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });

/**
 * `x` FP32 [-1, 1024] through `layers` MatMuls by one 1024×1024 weight (4 MiB), `y` = each row's sum
 * FP32 [-1, 1]: about 2 MFLOP per row and layer, so a request's rows set how long its run computes
 * (a row warms up in milliseconds; 2,048 rows over 80 layers took 40 s on onnxruntime-web here).
 */
export function slowModel(layers: number): { onnx: Uint8Array; io: { inputs: TensorSpec[]; outputs: TensorSpec[] } } {
  const width = 1024;
  const g = new GraphBuilder('slow');
  let x = g.input('x', 'FP32', [-1, width]);
  const w = g.initializer('w', new Float32Array(width * width).fill(1 / width), [width, width]);
  for (let i = 0; i < layers; i++) x = g.op('MatMul', [x, w]);
  const axes = g.initializer('axes', new BigInt64Array([1n]), [1]);
  g.op('ReduceSum', [x, axes], { keepdims: 1 }, 'y');
  g.output('y', 'FP32', [-1, 1]);
  return { onnx: g.build(), io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, width] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] } };
}
