// The inputs and outputs of an ONNX model read from its graph (ModelProto.graph: input, output and
// initializer), without onnxruntime: the hub checks a pushed bundle's model against its manifest io
// this way (docs/decisions/0070-model-io-checked-at-push.md). onnxruntime-node loads a model
// synchronously on the calling thread and holds all of it in memory; this reads the protobuf fields'
// headers from the file in 64 KiB windows and jumps over everything else (nodes, weights), so its
// memory is a window and its reads at most one pass over the model.
// Wire format: https://protobuf.dev/programming-guides/encoding/ ; messages: https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
// Where onnxruntime would know more (a value with no type or no shape) the value is left unknown,
// so the hub never refuses a model an agent would load.
import { open, type FileHandle } from 'node:fs/promises';
import { AppError, ortTypeToDatatype, type ActualTensor } from '@edgefleet/shared';

const WINDOW = 64 * 1024;
/** Graph inputs and outputs read at most (a manifest with more could not be matched either). */
export const MAX_GRAPH_VALUES = 100_000;
/** Dimensions kept per value; more are counted for its rank only. */
const MAX_DIMS = 64;

/** TensorProto.DataType → onnxruntime's name for it (ortTypeToDatatype maps those OIP has). */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16',
  11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn',
  18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

export interface GraphIo {
  inputs: ActualTensor[];
  outputs: ActualTensor[];
  /** Bytes read from the file: the cost, a window per group of headers, never the weights. */
  bytesRead: number;
}

/** Reads a region of a file as protobuf: varints, byte strings and jumps, through one window. */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufAt = 0;
  bytesRead = 0;
  constructor(private readonly fh: FileHandle, public pos: number, readonly end: number, private readonly what: string) {}

  fail(why: string): never {
    throw new AppError('MODEL_LOAD_FAILED', `${this.what}: not an ONNX model the hub can read (${why})`);
  }

  /** Makes bytes [pos, pos + n) available in the window (n <= WINDOW). */
  private async fill(n: number): Promise<void> {
    if (this.pos + n > this.end) this.fail(`a field runs past the end of the file at byte ${this.pos}`);
    if (this.pos >= this.bufAt && this.pos + n <= this.bufAt + this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.min(WINDOW, this.end - this.pos));
    const { bytesRead } = await this.fh.read(b, 0, b.length, this.pos);
    this.bytesRead += bytesRead;
    if (bytesRead < n) this.fail(`the file ended at byte ${this.pos + bytesRead}`);
    this.buf = b.subarray(0, bytesRead);
    this.bufAt = this.pos;
  }

  /** A varint as a number; one past 2^53 (only a negative int64 here) is not exact. */
  async varint(): Promise<number> {
    await this.fill(Math.min(10, this.end - this.pos));
    let v = 0;
    for (let i = 0, mul = 1; i < 10 && this.pos < this.end; i++, mul *= 128) {
      const b = this.buf[this.pos++ - this.bufAt] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
    }
    return this.fail(`a malformed varint before byte ${this.pos}`);
  }

  async text(n: number): Promise<string> {
    if (n > WINDOW) this.fail(`a name of ${n} bytes at byte ${this.pos}; expected at most ${WINDOW}`);
    await this.fill(n);
    const s = this.buf.toString('utf8', this.pos - this.bufAt, this.pos - this.bufAt + n);
    this.pos += n;
    return s;
  }

  /**
   * Calls `on` for each field of the message that ends at `end`: a varint with its value, a length-delimited
   * one with its end (the cursor at its start; the next field is read from its end whatever `on` read).
   * Fixed-width fields are skipped; groups (deprecated, never in ONNX) are refused.
   */
  async fields(end: number, on: (field: number, value: number, kind: 'varint' | 'bytes') => Promise<void> | void): Promise<void> {
    while (this.pos < end) {
      const tag = await this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === 0) await on(field, await this.varint(), 'varint');
      else if (wire === 1 || wire === 5) this.pos += wire === 1 ? 8 : 4;
      else if (wire === 2) {
        const len = await this.varint();
        const fieldEnd = this.pos + len;
        if (fieldEnd > end) this.fail(`field ${field} at byte ${this.pos} runs past its message`);
        await on(field, fieldEnd, 'bytes');
        this.pos = fieldEnd;
      } else this.fail(`wire type ${wire} at byte ${this.pos}`);
    }
    if (this.pos !== end) this.fail(`a field runs past its message at byte ${end}`);
  }
}

/** TensorShapeProto: its dimensions (dim_value a number, dim_param or neither: free) and its rank. */
async function shapeOf(c: Cursor, end: number): Promise<{ shape: (number | null)[]; rank: number }> {
  const shape: (number | null)[] = [];
  let rank = 0;
  await c.fields(end, async (f, dimEnd, kind) => {
    if (f !== 1 || kind !== 'bytes') return;
    let dim: number | null = null;
    await c.fields(dimEnd, (g, v, k) => {
      if (g === 1 && k === 'varint') dim = Number.isSafeInteger(v) ? v : null;
      else if (g === 2) dim = null;
    });
    if (rank++ < MAX_DIMS) shape.push(dim);
  });
  return { shape, rank };
}

/** ValueInfoProto: name and type. A tensor without a shape has an unknown rank; a value without a type is unknown. */
async function valueOf(c: Cursor, end: number): Promise<ActualTensor> {
  let name = '';
  let t: Omit<ActualTensor, 'name'> = {};
  await c.fields(end, async (f, fieldEnd, kind) => {
    if (kind !== 'bytes') return;
    if (f === 1) name = await c.text(fieldEnd - c.pos);
    if (f !== 2) return;
    t = {};
    await c.fields(fieldEnd, async (g, typeEnd, k) => {
      if (k !== 'bytes') return;
      if (g !== 1) {
        // sequence (4), map (5), sparse tensor (8), optional (9): onnxruntime's non-tensor values
        if (g === 4 || g === 5 || g === 8 || g === 9) t = { datatype: 'a non-tensor value' };
        return;
      }
      await c.fields(typeEnd, async (h, v, kk) => {
        if (h === 1 && kk === 'varint' && v !== 0) {
          const ort = ELEM_TYPES[v] ?? `element type ${v}`;
          t = { ...t, datatype: ortTypeToDatatype(ort) ?? ort };
        } else if (h === 2 && kk === 'bytes') t = { ...t, ...(await shapeOf(c, v)) };
      });
    });
  });
  return { name, ...t };
}

/** The name (field 8) of a TensorProto, jumping over its data. */
async function tensorName(c: Cursor, end: number): Promise<string | undefined> {
  let name: string | undefined;
  await c.fields(end, async (f, fieldEnd, kind) => {
    if (f === 8 && kind === 'bytes') name = await c.text(fieldEnd - c.pos);
  });
  return name;
}

/**
 * The inputs onnxruntime asks for (graph inputs that are not initializers, as its session's inputMetadata)
 * and the outputs of the model stored at [start, start + size) of `path`; MODEL_LOAD_FAILED naming `what`
 * when it is no ONNX model.
 */
export async function readGraphIo(path: string, start: number, size: number, what: string): Promise<GraphIo> {
  const fh = await open(path, 'r');
  try {
    const c = new Cursor(fh, start, start + size, what);
    // A message field sent more than once is merged (protobuf): every `graph` counts.
    const graphs: Array<[number, number]> = [];
    await c.fields(start + size, (f, end, kind) => { if (f === 7 && kind === 'bytes') graphs.push([c.pos, end]); });
    if (graphs.length === 0) c.fail('no graph');
    const inputs: ActualTensor[] = [];
    const outputs: ActualTensor[] = [];
    const initializers = new Set<string>();
    for (const [from, end] of graphs) {
      c.pos = from;
      await c.fields(end, async (f, fieldEnd, kind) => {
        if (kind !== 'bytes') return;
        if ((f === 11 || f === 12) && inputs.length + outputs.length >= MAX_GRAPH_VALUES) c.fail(`more than ${MAX_GRAPH_VALUES} graph inputs and outputs`);
        if (f === 11) inputs.push(await valueOf(c, fieldEnd));
        else if (f === 12) outputs.push(await valueOf(c, fieldEnd));
        else if (f === 5) initializers.add((await tensorName(c, fieldEnd)) ?? '');
        else if (f === 15) {
          // SparseTensorProto: its name is that of its values (field 1)
          await c.fields(fieldEnd, async (g, valuesEnd, k) => { if (g === 1 && k === 'bytes') initializers.add((await tensorName(c, valuesEnd)) ?? ''); });
        }
      });
    }
    return { inputs: inputs.filter((i) => !initializers.has(i.name)), outputs, bytesRead: c.bytesRead };
  } finally {
    await fh.close();
  }
}
