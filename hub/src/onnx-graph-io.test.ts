// readGraphIo against onnxruntime's own metadata (model-check.ts readModelIo, a real session) on models
// built in code: the same inputs and outputs, initializers that a graph also lists as inputs left out
// as onnxruntime leaves them out, the model read from inside a larger file, weights never read, and a
// file that is no ONNX model refused naming it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, ortTypeToDatatype, type ActualTensor } from '@edgefleet/shared';
import { GraphBuilder, buildMultiInputModel, buildSampleRateModel, randomMlp } from '@edgefleet/examples';
import { readModelIo, type ModelValueInfo } from './model-check.js';
import { readGraphIo } from './onnx-graph-io.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('onnx-graph-io', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-graph-io-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Protobuf by hand (https://protobuf.dev/programming-guides/encoding/): a varint, a length-delimited field. */
  function varint(n: number): number[] {
    const out: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
    return [...out, n];
  }
  const field = (no: number, bytes: Uint8Array | number[]): number[] => [...varint(no * 8 + 2), ...varint(bytes.length), ...bytes];
  const str = (s: string) => [...Buffer.from(s)];

  /** A ValueInfoProto of a float tensor with these fixed dimensions. */
  function floatInput(name: string, dims: number[]): number[] {
    const shape = dims.flatMap((d) => field(1, [...varint(1 * 8), ...varint(d)]));
    const tensor = [...varint(1 * 8), ...varint(1), ...field(2, shape)];
    return [...field(1, str(name)), ...field(2, field(1, tensor))];
  }

  /** x [N, 3] x w [3, 2] + b: w and b are initializers; `listed` also names them as graph inputs (a second graph field, merged). */
  function initializerModel(listed: boolean): Uint8Array {
    const g = new GraphBuilder('init');
    const x = g.input('x', 'FP32', [-1, 3]);
    const w = g.initializer('w', new Float32Array(6).fill(0.5), [3, 2]);
    const b = g.initializer('b', new Float32Array(2), [2]);
    g.output(g.op('Add', [g.op('MatMul', [x, w]), b], {}, 'y'), 'FP32', [-1, 2]);
    const model = g.build();
    if (!listed) return model;
    return Uint8Array.from([...model, ...field(7, [...field(11, floatInput('w', [3, 2])), ...field(11, floatInput('b', [2]))])]);
  }

  /** What checkModelIo compares, from either side: name, datatype, rank and the fixed dimensions. */
  const fromOrt = (vs: ModelValueInfo[]) => vs.map((v) => ({ name: v.name, datatype: v.type === null ? 'a non-tensor value' : ortTypeToDatatype(v.type), shape: v.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 'free')) }));
  const fromGraph = (vs: ActualTensor[]) => vs.map((v) => ({ name: v.name, datatype: v.datatype, shape: (v.shape ?? []).map((d) => (typeof d === 'number' ? d : 'free')) }));

  const models: Array<[string, () => Uint8Array]> = [
    ['an MLP of 340 KB (weights over several read windows)', () => randomMlp({ seed: 3 }).onnx],
    ['two inputs, one a scalar INT64', () => buildMultiInputModel().onnx],
    ['the sample-rate model', () => buildSampleRateModel().onnx],
    ['initializers, not listed as inputs', () => initializerModel(false)],
    ['initializers also listed as graph inputs', () => initializerModel(true)],
  ];

  for (const [what, build] of models) {
    test(`the graph's inputs and outputs are onnxruntime's: ${what}`, async () => {
      const onnx = build();
      const path = join(dir, 'model.onnx');
      writeFileSync(path, onnx);
      const ort = await readModelIo(path);
      const graph = await readGraphIo(path, 0, onnx.length, 'model.onnx');
      assert.deepEqual(fromGraph(graph.inputs), fromOrt(ort.inputs));
      assert.deepEqual(fromGraph(graph.outputs), fromOrt(ort.outputs));
    });
  }

  test('read from inside a larger file (a bundle entry), jumping over the weights', async () => {
    const big = randomMlp({ inputDim: 1024, hidden: [2048], outputDim: 4, seed: 5 }).onnx; // 8 MB of weights
    const path = join(dir, 'entry.bin');
    const junk = Buffer.alloc(1536, 0xff);
    writeFileSync(path, Buffer.concat([junk, big, junk]));
    const graph = await readGraphIo(path, junk.length, big.length, 'entry');
    assert.deepEqual(fromGraph(graph.inputs), [{ name: 'input', datatype: 'FP32', shape: ['free', 1024] }]);
    assert.deepEqual(fromGraph(graph.outputs), [{ name: 'output', datatype: 'FP32', shape: ['free', 4] }]);
    assert.ok(graph.bytesRead < 512 * 1024, `read ${graph.bytesRead} bytes of a ${big.length}-byte model`);
  });

  test('a file that is no ONNX model, or is cut short, is MODEL_LOAD_FAILED naming it', async () => {
    const onnx = randomMlp({ seed: 3 }).onnx;
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['text.onnx', Buffer.from('not a model at all, just some text'), /^text\.onnx: not an ONNX model the hub can read \(/],
      ['cut.onnx', onnx.subarray(0, Math.floor(onnx.length / 2)), /^cut\.onnx: not an ONNX model the hub can read \(.*(past|ended)/],
      ['empty.onnx', new Uint8Array(0), /^empty\.onnx: not an ONNX model the hub can read \(no graph\)/],
    ];
    for (const [name, bytes, message] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      await assert.rejects(readGraphIo(path, 0, bytes.length, name), (e: unknown) => {
        assert.ok(e instanceof AppError, String(e));
        assert.equal(e.code, 'MODEL_LOAD_FAILED');
        assert.match(e.message, message);
        return true;
      });
    }
  });
});
