// Validation of OIP v2 infer requests against a model's manifest io, before
// anything reaches onnxruntime: input names, datatype, shape (manifest dims,
// -1 free) against the data length, nested or flat row-major data, value
// types and ranges, non-finite numbers. Every error names the input and what
// was expected. Hand-written rather than zod: it runs on every request. Shared
// so that the agent's server and the samples of `model pack` (docs/decisions/0009-model-samples.md)
// turn a request body into tensors the same way.
import { AppError } from '../errors.js';
import type { Manifest, TensorSpec } from '../wire/manifest.js';
import { decodeRaw, NUL_MESSAGE, RawDataError } from './raw.js';
import { shapeText, shapeValueText } from './shape-text.js';
import { arrayFor, type OipTensor, type TensorData } from './tensor.js';
import { FP16_MAX } from './half.js';
import { echoText } from '../text.js';

/**
 * Set by a transport on a request tensor whose data came as raw little-endian
 * bytes (gRPC raw_input_contents, REST binary tensor data, raw.ts) instead of
 * "data". A symbol: a JSON body cannot set it.
 */
export const RAW_DATA: unique symbol = Symbol('raw tensor data');

export interface InferRequest {
  id: string | undefined;
  inputs: OipTensor[];
  /** Requested output names, or undefined for all. */
  outputs: string[] | undefined;
}

const bad = (msg: string): never => {
  throw new AppError('INVALID_INPUT', msg);
};

const INT_RANGE: Record<string, [number, number]> = {
  INT8: [-128, 127], UINT8: [0, 255], INT16: [-32768, 32767], UINT16: [0, 65535],
  INT32: [-2147483648, 2147483647], UINT32: [0, 4294967295],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * The full ranges of the 64-bit datatypes, for values given as BigInts: a JSON body cannot hold one,
 * typed gRPC int64/uint64 contents past 2^53 come as them (agent api/grpc/tensors.ts).
 */
const BIG_RANGE: Record<string, [bigint, bigint]> = { INT64: [-(2n ** 63n), 2n ** 63n - 1n], UINT64: [0n, 2n ** 64n - 1n] };

export interface FiniteOpts {
  allowNonFinite: boolean;
  /** The setting that would take NaN and infinities, named when one is refused (the agent's `allowNonFinite`). */
  nonFiniteSetting?: string | undefined;
}

/** What a message on a refused NaN or infinity adds: the setting that would take it, when there is one. */
const offHint = (o: FiniteOpts): string => (o.nonFiniteSetting === undefined ? '' : `; NaN and infinities are taken only with ${o.nonFiniteSetting} on`);

/** A UTF-16 surrogate not paired with another: a string with one has no UTF-8 encoding. */
const LONE_SURROGATE = /\p{Cs}/u;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates a parsed JSON body against the manifest io and returns typed tensors. */
export function validateInferRequest(body: unknown, io: Manifest['io'], opts: FiniteOpts): InferRequest {
  if (!isObject(body)) return bad('request body: expected a JSON object {"inputs": [...]}');
  let id: string | undefined;
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') return bad('request id: expected a string');
    id = body.id;
  }
  if (body.parameters !== undefined && !isObject(body.parameters)) bad('request parameters: expected an object');
  const inputs = body.inputs;
  if (!Array.isArray(inputs)) return bad('request inputs: expected an array of {name, shape, datatype, data}');
  const specs = io.inputs;
  let byName: Map<string, Record<string, unknown>> | undefined;
  let single: Record<string, unknown> | undefined;
  for (let i = 0; i < inputs.length; i++) {
    const t: unknown = inputs[i];
    if (!isObject(t) || typeof t.name !== 'string') return bad(`inputs[${i}]: expected an object with a string "name"`);
    if ((single !== undefined && single.name === t.name) || byName?.has(t.name)) bad(`input ${echoText(t.name)} is given twice: expected each input once`);
    let known = false;
    for (let k = 0; k < specs.length; k++) if (specs[k]!.name === t.name) known = true;
    if (!known) bad(`unknown input ${echoText(t.name)}: expected only ${expectedNames(io)}`);
    if (single === undefined && byName === undefined) single = t;
    else {
      if (byName === undefined) {
        byName = new Map();
        byName.set(single!.name as string, single!);
      }
      byName.set(t.name, t);
    }
  }
  const out: OipTensor[] = [];
  for (const spec of specs) {
    const t = byName !== undefined ? byName.get(spec.name) : single !== undefined && single.name === spec.name ? single : undefined;
    if (!t) return bad(`missing input "${spec.name}": expected inputs ${expectedNames(io)}`);
    out.push(validateTensor(t, spec, opts));
  }
  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) return bad('request outputs: expected an array of {name}');
    const known = io.outputs.map((o) => `"${o.name}"`).join(', ');
    outputs = body.outputs.map((o: unknown, i) => {
      if (!isObject(o) || typeof o.name !== 'string') return bad(`outputs[${i}]: expected an object with a string "name"`);
      if (!io.outputs.some((s) => s.name === o.name)) bad(`unknown output ${echoText(o.name)}: expected one of ${known}`);
      for (let k = 0; k < i; k++) if ((body.outputs as Array<{ name: unknown }>)[k]!.name === o.name) bad(`output ${echoText(o.name)} is asked for twice: expected each output once`);
      return o.name;
    });
  }
  // No names asked for is all of them (OIP), not a run that fetches nothing.
  return { id, inputs: out, outputs: outputs?.length === 0 ? undefined : outputs };
}

// Error-message helpers are module functions, not per-request closures: the
// request path should allocate nothing it does not need.
function expectedNames(io: Manifest['io']): string {
  return io.inputs.map((s) => `"${s.name}"`).join(', ');
}

function wantShape(spec: TensorSpec): string {
  return `${shapeText(spec.shape)}${spec.shape.includes(-1) ? ' (-1 is free)' : ''}`;
}

/**
 * A shape that is not a list of sizes. A -1 is what the model's metadata shows for a free dimension:
 * a request sends the size its data has there instead, which the message says.
 */
function badShape(name: string, shape: unknown, spec: TensorSpec): never {
  if (shape === undefined) return bad(`input "${name}": missing "shape": expected ${wantShape(spec)}`);
  const at = Array.isArray(shape) ? shape.findIndex((d) => typeof d === 'number' && d < 0) : -1;
  if (at >= 0) {
    const example = shapeText(spec.shape.map((d) => (d === -1 ? 1 : d)));
    const free = spec.shape[at] === -1 ? ` (a -1 in the model's shape ${shapeText(spec.shape)} means any size there, not a size to send)` : '';
    return bad(`input "${name}": shape ${shapeValueText(shape)} has ${(shape as number[])[at]} at index ${at}: expected the sizes of the data sent, e.g. ${example}${free}`);
  }
  return bad(`input "${name}": shape ${shapeValueText(shape)} is not a list of non-negative integers: expected ${wantShape(spec)}`);
}

function validateTensor(t: Record<string, unknown>, spec: TensorSpec, opts: FiniteOpts): OipTensor {
  const name = spec.name;
  if (t.datatype !== spec.datatype) {
    if (t.datatype === undefined) bad(`input "${name}": missing "datatype": expected "${spec.datatype}"`);
    bad(`input "${name}": datatype ${typeof t.datatype === 'string' ? echoText(t.datatype) : describe(t.datatype)} does not match the model: expected "${spec.datatype}"`);
  }
  const shape = t.shape;
  if (!Array.isArray(shape)) return badShape(name, shape, spec);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (!Number.isInteger(d) || (d as number) < 0) return badShape(name, shape, spec);
    n *= d as number;
  }
  let matches = shape.length === spec.shape.length;
  for (let i = 0; matches && i < shape.length; i++) {
    const d = spec.shape[i]!;
    if (d !== -1 && d !== shape[i]) matches = false;
  }
  if (!matches) bad(`input "${name}": shape ${shapeText(shape)} does not match the model: expected ${wantShape(spec)}`);
  const bytes = (t as { [RAW_DATA]?: Uint8Array })[RAW_DATA];
  if (bytes !== undefined) return { name, datatype: spec.datatype, shape: shape as number[], data: fromRaw(bytes, t.data, spec, n, shape as number[], opts) };
  const raw = t.data;
  // A lone scalar stands for a one-value list; an object is not data.
  if (!Array.isArray(raw) && (raw === undefined || typeof raw === 'object')) {
    bad(`input "${name}": ${raw === undefined ? 'missing "data"' : `"data" is ${describe(raw)}`}: expected an array of ${n} values (flat, or nested as shape ${shapeText(shape)})`);
  }
  const flat: unknown[] = !Array.isArray(raw) ? [raw] : raw.length > 0 && Array.isArray(raw[0]) ? flatten(raw, shape as number[], name) : raw;
  if (flat.length !== n) {
    bad(`input "${name}": data has ${flat.length} values but shape ${shapeText(shape)} needs ${n}`);
  }
  return { name, datatype: spec.datatype, shape: shape as number[], data: fill(flat, spec, opts) };
}

/** Raw bytes as tensor data, with the checks fill() makes on JSON values that raw bytes can fail. */
function fromRaw(bytes: Uint8Array, data: unknown, spec: TensorSpec, n: number, shape: number[], opts: FiniteOpts): TensorData {
  const name = spec.name;
  if (data !== undefined) bad(`input "${name}": has both "data" and binary data: expected one of them`);
  let out: TensorData;
  try {
    out = decodeRaw(bytes, spec.datatype, n, shape);
  } catch (err) {
    if (err instanceof RawDataError) return bad(`input "${name}": ${err.message}`);
    throw err;
  }
  if ((out instanceof Float32Array || out instanceof Float64Array) && !opts.allowNonFinite) {
    for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) bad(`input "${name}": data[${i}] is not finite: expected a finite number (${spec.datatype})${offHint(opts)}`);
  } else if (spec.datatype === 'BOOL') {
    const a = out as Uint8Array;
    for (let i = 0; i < n; i++) if (a[i]! > 1) bad(`input "${name}": data[${i}] is the byte ${a[i]!}: expected 0 or 1 (BOOL)`);
  }
  return out;
}

/** Nested data must mirror the shape exactly: a ragged array is refused, not flattened into the right count. */
function flatten(a: unknown[], shape: number[], name: string): unknown[] {
  const out: unknown[] = [];
  walk(a, 0, shape, name, 'data', out);
  return out;
}

function walk(x: unknown[], depth: number, shape: number[], name: string, at: string, out: unknown[]): void {
  const want = shape[depth];
  if (want === undefined) bad(`input "${name}": ${at} is nested deeper than shape ${shapeText(shape)}: expected ${shape.length} levels of arrays`);
  if (x.length !== want) bad(`input "${name}": ${at} has ${x.length} items but shape ${shapeText(shape)} needs ${want} there (nested data must not be ragged)`);
  const last = depth === shape.length - 1;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Array.isArray(v)) {
      if (last) bad(`input "${name}": ${at}[${i}] is an array but shape ${shapeText(shape)} has ${shape.length} levels: expected a value`);
      walk(v, depth + 1, shape, name, `${at}[${i}]`, out);
    } else {
      if (!last) bad(`input "${name}": ${at}[${i}] is ${describe(v)} but shape ${shapeText(shape)} needs an array of ${shape[depth + 1]} items there (nested data must not be ragged)`);
      out.push(v);
    }
  }
}

/**
 * A tensor's flat values checked and converted as the local API takes them: the datatype's type and
 * range (integers in range, FP32 that does not overflow, BOOL as true/false, BYTES as text); the batch
 * job uses it too, so a file row is held to what a request is. Throws INVALID_INPUT naming the value.
 */
export function tensorData(flat: unknown[], spec: TensorSpec, opts: FiniteOpts): OipTensor['data'] {
  return fill(flat, spec, opts);
}

function fill(flat: unknown[], spec: TensorSpec, opts: FiniteOpts): OipTensor['data'] {
  const { name, datatype } = spec;
  const allowNonFinite = opts.allowNonFinite;
  const n = flat.length;
  if (datatype === 'BYTES') {
    const s = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const v = flat[i];
      if (typeof v !== 'string') bad(`input "${name}": data[${i}] is ${describe(v)}: expected a string (BYTES)`);
      // A JSON "\ud800" escape without its pair: onnxruntime would hand the model U+FFFD in its place.
      if (LONE_SURROGATE.test(v as string)) bad(`input "${name}": data[${i}] has a lone UTF-16 surrogate (a \\u escape without its pair), which is not text: expected valid UTF-8 text`);
      if ((v as string).includes('\0')) bad(`input "${name}": ${NUL_MESSAGE(`data[${i}]`)}`);
      s[i] = v as string;
    }
    return s;
  }
  const arr = arrayFor(datatype, n);
  if (!arr) return bad(`input "${name}": datatype ${datatype} is not supported by this agent: expected FP16, FP32, FP64, INT8-64, UINT8-64, BOOL or BYTES`);
  if (datatype === 'FP32' || datatype === 'FP64' || datatype === 'FP16') {
    const a = arr as Float32Array | Float64Array;
    for (let i = 0; i < n; i++) {
      let v = flat[i];
      if (typeof v !== 'number') {
        const nonFinite = v === 'NaN' || v === 'Infinity' || v === '-Infinity';
        if (allowNonFinite && nonFinite) v = Number(v);
        else bad(`input "${name}": data[${i}] is ${describe(v)}: expected a ${nonFinite ? `finite number (${datatype})${offHint(opts)}` : `number (${datatype})`}`);
      } else if (!Number.isFinite(v) && !allowNonFinite) {
        bad(`input "${name}": data[${i}] is not finite: expected a finite number (${datatype})${offHint(opts)}`);
      }
      a[i] = v as number;
    }
    if (!allowNonFinite && datatype === 'FP32') {
      for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]!)) bad(`input "${name}": data[${i}] = ${flat[i] as number} overflows FP32: expected a finite FP32 number`);
    }
    if (!allowNonFinite && datatype === 'FP16') {
      for (let i = 0; i < n; i++) {
        if (Math.abs(a[i]!) >= 65520) bad(`input "${name}": data[${i}] = ${flat[i] as number} overflows FP16: expected a finite FP16 number (at most ${FP16_MAX} in magnitude)`);
      }
    }
    return a;
  }
  if (datatype === 'BOOL') {
    const a = arr as Uint8Array;
    for (let i = 0; i < n; i++) {
      const v = flat[i];
      if (typeof v !== 'boolean') bad(`input "${name}": data[${i}] is ${describe(v)}: expected true or false (BOOL)`);
      a[i] = v ? 1 : 0;
    }
    return a;
  }
  const [lo, hi] = INT_RANGE[datatype]!;
  for (let i = 0; i < n; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      const wide = BIG_RANGE[datatype];
      if (typeof v === 'bigint' && wide !== undefined) {
        if (v >= wide[0] && v <= wide[1]) continue;
        bad(`input "${name}": data[${i}] is ${v}: expected an integer in [${wide[0]}, ${wide[1]}] (${datatype})`);
      }
      // Past 2^53 the parser has already rounded what was sent: say so, and how to send such values.
      const big = wide !== undefined && typeof v === 'number' && Math.abs(v) > Number.MAX_SAFE_INTEGER;
      bad(`input "${name}": data[${i}] is ${describe(v)}${big ? ' (past 2^53, where JSON numbers round, so perhaps not the value sent)' : ''}: expected an integer in [${lo}, ${hi}] (${datatype})${big ? '; larger values go as raw or binary data' : ''}`);
    }
  }
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) arr[i] = BigInt(flat[i] as number | bigint);
  } else {
    for (let i = 0; i < n; i++) arr[i] = flat[i] as number;
  }
  return arr;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `the BigInt ${v}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

