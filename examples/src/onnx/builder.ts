// A small graph DSL over onnx-proto: inputs, outputs, initializers and nodes in,
// serialized ModelProto bytes out (opset 17, IR version 8 by default). Enough to
// build the models our tests, benches and the example need without Python.
// Operator reference: https://onnx.ai/onnx/operators/ (opset 17).
import onnxProto from 'onnx-proto';
import type { Datatype } from '@edgefleet/shared';

const { onnx } = onnxProto;

/** A dimension: a fixed size, -1 for a free dimension, or a named symbolic dimension such as 'N'. */
export type Dim = number | string;

/** Tensor data accepted for initializers; the typed array decides the element type unless `datatype` says otherwise. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** Attribute values: integers become INT, other numbers FLOAT; use `attr.f(1)` / `attr.i(1)` to be explicit. */
export type AttrValue =
  | number
  | string
  | number[]
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] };

export const attr = {
  f: (value: number): AttrValue => ({ kind: 'float', value }),
  i: (value: number): AttrValue => ({ kind: 'int', value }),
  floats: (value: number[]): AttrValue => ({ kind: 'floats', value }),
  ints: (value: number[]): AttrValue => ({ kind: 'ints', value }),
};

const ELEM_TYPE: Partial<Record<Datatype, number>> = {
  FP32: onnx.TensorProto.DataType.FLOAT,
  FP64: onnx.TensorProto.DataType.DOUBLE,
  FP16: onnx.TensorProto.DataType.FLOAT16,
  INT8: onnx.TensorProto.DataType.INT8,
  INT16: onnx.TensorProto.DataType.INT16,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  UINT8: onnx.TensorProto.DataType.UINT8,
  UINT16: onnx.TensorProto.DataType.UINT16,
  UINT32: onnx.TensorProto.DataType.UINT32,
  UINT64: onnx.TensorProto.DataType.UINT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
  BYTES: onnx.TensorProto.DataType.STRING,
};

/** The ONNX TensorProto.DataType number for an OIP datatype (e.g. for Cast's `to` attribute). */
export function onnxElemType(datatype: Datatype): number {
  const t = ELEM_TYPE[datatype];
  if (t === undefined) throw new Error(`unsupported datatype "${datatype}": expected one of ${Object.keys(ELEM_TYPE).join(', ')}`);
  return t;
}

function datatypeOf(data: TensorData): Datatype {
  if (data instanceof Float32Array) return 'FP32';
  if (data instanceof Float64Array) return 'FP64';
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof BigInt64Array) return 'INT64';
  if (data instanceof Int8Array) return 'INT8';
  return 'UINT8';
}

export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producer?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function toAttribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (Array.isArray(v)) return v.every(Number.isInteger) ? { name, type: T.INTS, ints: v } : { name, type: T.FLOATS, floats: v };
  switch (v.kind) {
    case 'float': return { name, type: T.FLOAT, f: v.value };
    case 'int': return { name, type: T.INT, i: v.value };
    case 'floats': return { name, type: T.FLOATS, floats: v.value };
    case 'ints': return { name, type: T.INTS, ints: v.value };
  }
}

/** Builds one ONNX graph. Names must be unique; `build()` checks that every node input exists. */
export class GraphBuilder {
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  private valueInfo(name: string, datatype: Datatype, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
    return {
      name,
      type: {
        tensorType: {
          elemType: onnxElemType(datatype),
          shape: {
            dim: dims.map((d, i) => {
              if (typeof d === 'string') return { dimParam: d };
              if (d === -1) return { dimParam: i === 0 ? 'N' : `${name}_dim${i}` };
              if (!Number.isInteger(d) || d < 0) throw new Error(`bad dimension ${d} of "${name}": expected an integer >= 0, -1 or a name`);
              return { dimValue: d };
            }),
          },
        },
      },
    };
  }

  private claim(name: string, what: string): string {
    if (this.names.has(name)) throw new Error(`duplicate ${what} name "${name}": expected each tensor name once`);
    this.names.add(name);
    return name;
  }

  /** A fresh tensor name with the given prefix. */
  fresh(prefix = 't'): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.names.has(n));
    return n;
  }

  input(name: string, datatype: Datatype, dims: Dim[]): string {
    this.inputs.push(this.valueInfo(this.claim(name, 'input'), datatype, dims));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node (or be an input/initializer). */
  output(name: string, datatype: Datatype, dims: Dim[]): string {
    this.outputs.push(this.valueInfo(name, datatype, dims));
    return name;
  }

  /** A constant tensor; `dims` default to [data.length], [] is a scalar. */
  initializer(name: string, data: TensorData, dims: number[] = [data.length], datatype: Datatype = datatypeOf(data)): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(`initializer "${name}" has ${data.length} values: expected ${count} for dims [${dims.join(', ')}]`);
    }
    this.initializers.push({
      name: this.claim(name, 'initializer'),
      dims,
      dataType: onnxElemType(datatype),
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    });
    return name;
  }

  /** Adds a node; returns its output names (generated unless given). */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: string[] | number = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : outputs;
    for (const o of outs) this.claim(o, `output of ${op}`);
    this.nodes.push({
      opType: op,
      name: `${op}_${this.nodes.length}`,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return outs;
  }

  /** A node with one output; returns its name. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(op, inputs, attrs, output === undefined ? 1 : [output])[0] as string;
  }

  /** Serializes the model. Throws naming the first node input or graph output that nothing produces. */
  build(options: ModelOptions = {}): Uint8Array {
    const known = new Set<string>([
      ...this.inputs.map((v) => v.name as string),
      ...this.initializers.map((t) => t.name as string),
    ]);
    for (const n of this.nodes) {
      for (const i of n.input ?? []) {
        if (i !== '' && !known.has(i)) throw new Error(`node ${n.name} (${n.opType}) reads "${i}": expected an input, initializer or earlier node output`);
      }
      for (const o of n.output ?? []) known.add(o);
    }
    for (const o of this.outputs) {
      if (!known.has(o.name as string)) throw new Error(`graph output "${o.name}" is not produced by any node, input or initializer`);
    }
    if (this.outputs.length === 0) throw new Error(`graph "${this.name}" has no outputs: expected at least one output()`);
    const model: onnxProto.onnx.IModelProto = {
      irVersion: options.irVersion ?? 8,
      opsetImport: [{ domain: '', version: options.opset ?? 17 }],
      producerName: options.producer ?? 'edgefleet-examples',
      producerVersion: '0.1.0',
      docString: options.docString ?? '',
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}
