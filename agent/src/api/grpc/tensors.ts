// OIP v2 gRPC tensors <-> the request body the shared validator reads
// (@edgefleet/shared infer/request.ts): typed `contents` become `data`, and
// `raw_input_contents` are attached as RAW_DATA, so gRPC gets the same checks
// and messages as REST. Outputs go back as raw_output_contents when the request
// sent raw inputs, as typed contents otherwise (docs/decisions/0016-grpc-local-api.md).
// int64 fields arrive as protobufjs Longs (./server.ts SERVER_PROTO_OPTIONS): shapes become numbers,
// int64/uint64 contents numbers or, past 2^53, BigInts, exact either way (docs/decisions/0068-grpc-exact-int64.md).
import { AppError, echoText, encodeRaw, RAW_DATA, RawDataError, utf8Element, type TensorData } from '@edgefleet/shared/core';
import type { RecordedTensor } from '../../runtime/recorder.js';

/** The InferTensorContents field that carries each datatype. */
const FIELD: Record<string, string> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

/** A protobufjs Long: the two 32-bit halves of an int64 or uint64 field. */
interface Long { low: number; high: number; unsigned: boolean }
type Int64 = number | Long;

type Contents = Record<string, unknown[] | undefined>;
interface GrpcInput { name?: string; datatype?: string; shape?: Int64[]; contents?: Contents | null; data?: unknown; [RAW_DATA]?: Uint8Array }
export interface GrpcInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  inputs?: GrpcInput[];
  outputs?: Array<{ name?: string }>;
  raw_input_contents?: Buffer[];
}

const bad = (msg: string): never => {
  throw new AppError('INVALID_INPUT', msg);
};

/**
 * Puts each input's data where the validator reads it, in place: `data` from
 * the contents field of its datatype, or RAW_DATA from raw_input_contents (one
 * per input, in order, and then no typed contents).
 */
export function prepareGrpcInputs(body: unknown): void {
  const r = body as GrpcInferRequest;
  const inputs = r.inputs ?? [];
  const raw = r.raw_input_contents ?? [];
  if (r.id === '') delete r.id; // proto3: an unset string is ''
  if (raw.length > 0 && raw.length !== inputs.length) {
    bad(`raw_input_contents has ${raw.length} entries but the request has ${inputs.length} inputs: expected one per input, in the order of inputs`);
  }
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    if (t.shape) dims(t.shape, t.name);
    const c = t.contents;
    const field = FIELD[t.datatype ?? ''];
    if (raw.length > 0) {
      if (c && Object.values(c).some((v) => Array.isArray(v) && v.length > 0)) bad(`input ${echoText(t.name ?? '')}: has both contents and raw_input_contents: expected one of them`);
      t[RAW_DATA] = raw[i]!;
      continue;
    }
    // The proto has no contents field for FP16: its values come only as raw bytes (2 per value).
    if (field === undefined && t.datatype === 'FP16') bad(`input ${echoText(t.name ?? '')}: datatype FP16 has no contents field in OIP v2 gRPC: expected its values in raw_input_contents (2 little-endian bytes per value)`);
    // Values in another datatype's field would otherwise read as "data has 0 values": name both fields.
    if (field !== undefined && c) {
      for (const k in c) {
        const v = c[k];
        if (k !== field && Array.isArray(v) && v.length > 0) bad(`input ${echoText(t.name ?? '')}: has values in contents.${k} but datatype ${t.datatype} takes them in contents.${field}`);
      }
    }
    const values = field === undefined ? undefined : c?.[field];
    if (field === 'bytes_contents') t.data = textOf(values as Buffer[] | undefined ?? [], t.name);
    else if (values !== undefined && (field === 'int64_contents' || field === 'uint64_contents')) t.data = ints(values as Int64[]);
    else t.data = values ?? [];
  }
}

/** An int64 field's value, exact: a number within ±(2^53 − 1), a BigInt past it. */
function int64Of(v: Int64): number | bigint {
  if (typeof v === 'number') return v;
  const high = v.unsigned ? v.high >>> 0 : v.high;
  const n = high * 4294967296 + (v.low >>> 0);
  // Both terms are exact doubles, and a sum past 2^53 cannot round into the safe range: a safe n is the value.
  return Number.isSafeInteger(n) ? n : BigInt(high) * 4294967296n + BigInt(v.low >>> 0);
}

/** int64/uint64 contents as numbers or BigInts, in place: the shared validator takes both exactly. */
function ints(values: Int64[]): Array<number | bigint> {
  const out = values as unknown as Array<number | bigint>;
  for (let i = 0; i < values.length; i++) out[i] = int64Of(values[i]!);
  return out;
}

/** Shape dimensions as numbers, in place; one past 2^53 − 1 cannot be a number exactly and is refused. */
function dims(shape: Int64[], name: string | undefined): void {
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (typeof d === 'number') continue;
    const n = int64Of(d);
    if (typeof n === 'bigint') return bad(`input ${echoText(name ?? '')}: shape[${i}] is ${n}, past 2^53 - 1: expected a non-negative integer dimension as the model's shape allows (ModelMetadata)`);
    shape[i] = n;
  }
}

/** bytes_contents as strings; an element that is not UTF-8 is refused as in raw data (not turned into U+FFFD). */
function textOf(values: Buffer[], name: string | undefined): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    try {
      out[i] = utf8Element(values[i]!, i);
    } catch (err) {
      if (err instanceof RawDataError) bad(`input ${echoText(name ?? '')}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

function typed(data: TensorData, datatype: string): unknown[] {
  if (Array.isArray(data)) return data.map((s) => Buffer.from(s));
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (x) => x !== 0);
  // Decimal strings, which protobufjs encodes as exact 64-bit ints (a number would round past 2^53).
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, (x) => x.toString());
  return Array.from(data as Float32Array);
}

/**
 * ModelInferResponse outputs, as raw_output_contents when `raw` or when an output's datatype has no
 * contents field (FP16): the protocol carries either every output raw or none.
 */
export function grpcOutputs(outputs: readonly RecordedTensor[], raw: boolean): { outputs: unknown[]; raw_output_contents?: Uint8Array[] } {
  if (raw || outputs.some((t) => FIELD[t.datatype] === undefined)) {
    return {
      outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      raw_output_contents: outputs.map((t) => encodeRaw(t.data, t.datatype)),
    };
  }
  return {
    outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, contents: { [FIELD[t.datatype]!]: typed(t.data, t.datatype) } })),
  };
}
