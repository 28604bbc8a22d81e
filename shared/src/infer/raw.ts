// Raw tensor bytes of the Open Inference Protocol v2: little-endian, row-major,
// BOOL one byte per value, BYTES as a 4-byte little-endian length before each
// element. The same layout serves gRPC's raw_input_contents / raw_output_contents
// and REST's binary tensor data extension
// (https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md,
// Triton's binary_data extension). Decoding is called by validateInferRequest
// (request.ts), so raw and JSON inputs get the same checks and messages.
import type { Datatype } from '../wire/manifest.js';
import { arrayFor, type TensorData } from './tensor.js';
import { fromHalfBits, toHalfBits } from './half.js';
import { shapeText } from './shape-text.js';

/** Bytes per element of each fixed-size datatype (BYTES has none). */
export const ELEMENT_BYTES: Partial<Record<Datatype, number>> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4,
  UINT64: 8, INT64: 8, FP64: 8,
};

/**
 * Typed arrays are in the host's byte order and the protocol's bytes are
 * little-endian; every platform the agent ships for (x86-64, arm64) is
 * little-endian, and a big-endian one is refused rather than given swapped values.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Why raw bytes cannot be a tensor, as the end of a message that the caller prefixes with the input's name. */
export class RawDataError extends Error {}

/**
 * The tensor data in `bytes` for `n` values of `datatype`. Throws RawDataError
 * when the byte count does not match (or a BYTES element runs past the end).
 * The bytes are copied: the typed array is aligned and owns its memory.
 */
export function decodeRaw(bytes: Uint8Array, datatype: Datatype, n: number, shape: readonly number[]): TensorData {
  if (!LITTLE_ENDIAN) throw new RawDataError('raw tensor data is not supported on a big-endian host');
  if (datatype === 'BYTES') return decodeBytes(bytes, n, shape);
  const size = ELEMENT_BYTES[datatype];
  const unsupported = () => new RawDataError(`datatype ${datatype} is not supported by this agent: expected FP16, FP32, FP64, INT8-64, UINT8-64, BOOL or BYTES`);
  if (size === undefined) throw unsupported();
  // Checked before the array is made: a shape of 2^40 rows sent with 16 bytes must not allocate for it.
  if (bytes.length !== n * size) {
    throw new RawDataError(`raw data has ${bytes.length} bytes but shape ${shapeText(shape)} of ${datatype} needs ${n * size} (${n} values of ${size} bytes)`);
  }
  const arr = datatype === 'FP16' ? new Uint16Array(n) : arrayFor(datatype, n);
  if (arr === undefined) throw unsupported();
  new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(bytes);
  return datatype === 'FP16' ? fromHalfBits(arr as Uint16Array) : arr;
}

/**
 * Keeps a leading byte order mark (onnxruntime keeps it in a string given as JSON or
 * typed contents). Not `fatal`: Buffer's isUtf8 checks first (a fatal TextDecoder
 * needs ICU, which a Node built without Intl lacks).
 */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Whether `bytes` are valid UTF-8: Node's Buffer.isUtf8 where there is one (no `node:` import: this module
 * is also bundled for the console's browser renderer), else a fatal decoder made on first use.
 */
let fatal: InstanceType<typeof TextDecoder> | undefined;
function isUtf8(bytes: Uint8Array): boolean {
  const check = (globalThis as { Buffer?: { isUtf8?: (b: Uint8Array) => boolean } }).Buffer?.isUtf8;
  if (check) return check(bytes);
  try {
    (fatal ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * One BYTES element as the string a model gets. Element bytes that are not UTF-8
 * are refused (RawDataError naming element `i`): decoding them would hand the
 * model U+FFFD in place of what the app sent. Used for raw data here and for
 * gRPC bytes_contents, so both give the same message.
 */
export function utf8Element(bytes: Uint8Array, i: number): string {
  if (!isUtf8(bytes)) throw new RawDataError(`BYTES element ${i} is not valid UTF-8: expected valid UTF-8 text`);
  if (bytes.includes(0)) throw new RawDataError(NUL_MESSAGE(`BYTES element ${i}`));
  return UTF8.decode(bytes);
}

/** onnxruntime hands a model a string only up to its first NUL: one with a NUL is refused, not cut. */
export const NUL_MESSAGE = (what: string): string => `${what} holds a NUL character, where onnxruntime would cut the text: expected text without NUL`;

function decodeBytes(bytes: Uint8Array, n: number, shape: readonly number[]): string[] {
  // Each element takes at least its 4-byte length: a count the bytes cannot hold is refused before the array is made.
  if (n * 4 > bytes.length) throw new RawDataError(`raw data has ${bytes.length} bytes but shape ${shapeText(shape)} of BYTES needs at least ${n * 4} (${n} elements, each a 4-byte little-endian length, then the bytes)`);
  const out = new Array<string>(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (at + 4 > bytes.length) throw new RawDataError(`raw data ends after ${i} of the ${n} BYTES elements shape ${shapeText(shape)} needs (each a 4-byte little-endian length, then the bytes)`);
    const len = view.getUint32(at, true);
    at += 4;
    if (at + len > bytes.length) throw new RawDataError(`raw BYTES element ${i} declares ${len} bytes but only ${bytes.length - at} are left`);
    out[i] = utf8Element(bytes.subarray(at, at + len), i);
    at += len;
  }
  if (at !== bytes.length) throw new RawDataError(`raw data has ${bytes.length - at} bytes after the ${n} BYTES elements shape ${shapeText(shape)} needs`);
  return out;
}

/** The raw bytes of tensor data (a view over typed arrays: no copy, but FP16 values become 2-byte halves), for outputs. */
export function encodeRaw(data: TensorData, datatype: Datatype): Uint8Array {
  if (!LITTLE_ENDIAN) throw new RawDataError('raw tensor data is not supported on a big-endian host');
  if (datatype === 'FP16' && !Array.isArray(data)) data = toHalfBits(data as Float32Array);
  if (!Array.isArray(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const enc = new TextEncoder();
  const parts = data.map((s) => enc.encode(s));
  const out = new Uint8Array(parts.reduce((k, p) => k + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length, true);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}
