// The values of one request tensor checked and converted (infer/request.ts validates the request around
// them): each value's type and the datatype's range (integers in range, BigInts for the 64-bit types,
// FP16/FP32 that do not overflow, BOOL, BYTES as valid text), NaN and infinities only when allowed, and
// raw little-endian bytes held to the same checks. On every request: loops over the data, no per-value closures.
import { AppError } from '../errors.js';
import type { TensorSpec } from '../wire/manifest.js';
import { FP16_MAX } from './half.js';
import { decodeRaw, NUL_MESSAGE, RawDataError } from './raw.js';
import { arrayFor, type OipTensor, type TensorData } from './tensor.js';

/** Throws INVALID_INPUT with `msg` (a message naming the input and what was expected). */
export const bad = (msg: string): never => {
  throw new AppError('INVALID_INPUT', msg);
};

export interface FiniteOpts {
  allowNonFinite: boolean;
  /** The setting that would take NaN and infinities, named when one is refused (the agent's `allowNonFinite`). */
  nonFiniteSetting?: string | undefined;
}

/** What a message on a refused NaN or infinity adds: the setting that would take it, when there is one. */
const offHint = (o: FiniteOpts): string => (o.nonFiniteSetting === undefined ? '' : `; NaN and infinities are taken only with ${o.nonFiniteSetting} on`);

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

/** A UTF-16 surrogate not paired with another: a string with one has no UTF-8 encoding. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Raw bytes as tensor data, with the checks tensorData() makes on JSON values that raw bytes can fail. */
export function fromRaw(bytes: Uint8Array, data: unknown, spec: TensorSpec, n: number, shape: number[], opts: FiniteOpts): TensorData {
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

/**
 * A tensor's flat values checked and converted as the local API takes them: the datatype's type and
 * range (integers in range, FP32 that does not overflow, BOOL as true/false, BYTES as text); the batch
 * job uses it too, so a file row is held to what a request is. Throws INVALID_INPUT naming the value.
 */
export function tensorData(flat: unknown[], spec: TensorSpec, opts: FiniteOpts): OipTensor['data'] {
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

/** A value as a message names it (a long string cut short). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `the BigInt ${v}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}
