// The binary tensor data extension of OIP v2 REST (Triton's "binary_data"
// extension, https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md):
// a body is a JSON header of `Inference-Header-Content-Length` bytes followed
// by the raw bytes of the inputs whose `parameters.binary_data_size` is set, in
// the order of `inputs`; outputs asked for with `parameters.binary_data` (per
// output) or `binary_data_output` (request) come back the same way. The bytes
// are attached to the tensors (RAW_DATA) and validated by the same code as JSON
// data (@edgefleet/shared infer/request.ts), so the errors are the same.
import { AppError, ECHO_CHARS, echoText, encodeRaw, RAW_DATA } from '@edgefleet/shared/core';
import type { RecordedTensor } from '../runtime/recorder.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const bad = (msg: string): never => {
  throw new AppError('INVALID_INPUT', msg);
};

export const HEADER_LENGTH = 'inference-header-content-length';

/** The JSON header's length from the request header: an integer within the body. */
export function headerLength(value: string, bodyBytes: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > bodyBytes) {
    throw new AppError('BAD_REQUEST', `Inference-Header-Content-Length ${JSON.stringify(value)} is not valid: expected the byte length of the JSON header, an integer from 0 to the body's ${bodyBytes} bytes`);
  }
  return n;
}

/**
 * Attaches the binary part of a body to the inputs that declare
 * `binary_data_size`, in order. Each size must fit in what is left of the body,
 * and together they must use all of it. Called inside validation (InferCore.start),
 * so a refusal is counted like any invalid request.
 */
export function attachBinary(body: unknown, binary: Buffer): void {
  if (!isObj(body) || !Array.isArray(body.inputs)) return; // the validator names what is wrong
  let at = 0;
  for (const t of body.inputs as unknown[]) {
    if (!isObj(t) || !isObj(t.parameters) || t.parameters.binary_data_size === undefined) continue;
    const name = typeof t.name === 'string' ? echoText(t.name) : '"?"';
    const size = t.parameters.binary_data_size;
    if (!Number.isSafeInteger(size) || (size as number) < 0) bad(`input ${name}: parameters.binary_data_size ${typeof size === 'string' ? echoText(size) : String(JSON.stringify(size)).slice(0, ECHO_CHARS)} is not valid: expected a non-negative integer (bytes)`);
    const n = size as number;
    if (at + n > binary.length) bad(`input ${name}: binary_data_size ${n} runs past the end of the body: ${binary.length - at} bytes of binary data are left after the header and the inputs before it`);
    (t as { [RAW_DATA]?: Uint8Array })[RAW_DATA] = binary.subarray(at, at + n);
    at += n;
  }
  if (at !== binary.length) bad(`the body has ${binary.length - at} bytes of binary data after the ${at} that the inputs' binary_data_size claim: expected the sizes to add up to the body after the JSON header`);
}

/**
 * The check for a request without Inference-Header-Content-Length (handler.ts
 * passes it where a binary request gets attachBinary): an input that declares
 * `binary_data_size` would otherwise be refused as missing "data", or its bytes
 * after the JSON as "not JSON". A few property reads per input on the JSON path.
 */
export function refuseUnframedBinary(body: unknown): void {
  const t = binaryInput(body);
  if (t === undefined) return;
  bad(`input ${typeof t.name === 'string' ? echoText(t.name) : '"?"'}: parameters.binary_data_size is set but the request has no Inference-Header-Content-Length header: expected that header, holding the byte length of the JSON header that the binary data follows (or "data" in the JSON instead of binary_data_size)`);
}

/** The first input that declares `binary_data_size`, if any. */
export function binaryInput(body: unknown): Obj | undefined {
  if (!isObj(body) || !Array.isArray(body.inputs)) return undefined;
  for (const t of body.inputs as unknown[]) {
    if (isObj(t) && isObj(t.parameters) && t.parameters.binary_data_size !== undefined) return t;
  }
  return undefined;
}

/**
 * The JSON object at the start of `body` (up to its closing brace), or undefined.
 * Only called on a body that is not JSON, to tell binary data sent without
 * Inference-Header-Content-Length (a JSON header, then bytes) from a broken body.
 */
export function leadingJson(body: Buffer): unknown {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b) return undefined; // '{'
  let depth = 0;
  let inString = false;
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // '\\': skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
      try {
        return JSON.parse(body.toString('utf8', 0, i + 1)) as unknown;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Which outputs go back as binary data, or undefined for none (a plain JSON answer). A flag that is not
 * true or false (`"true"`, 1) is refused naming it, not taken for false: the app would get JSON it did
 * not ask for. Called inside validation (handler.ts), so a refusal is counted like any invalid request.
 */
export function binaryOutputs(body: unknown): ((name: string) => boolean) | undefined {
  if (!isObj(body)) return undefined;
  const flag = isObj(body.parameters) ? body.parameters.binary_data_output : undefined;
  if (flag !== undefined && typeof flag !== 'boolean') bad(`parameters.binary_data_output is ${typeof flag === 'object' ? 'an object or null' : `a ${typeof flag}`}: expected true or false`);
  const all = flag === true;
  let per: Map<string, boolean> | undefined;
  if (Array.isArray(body.outputs)) {
    for (const o of body.outputs as unknown[]) {
      if (!isObj(o) || typeof o.name !== 'string' || !isObj(o.parameters) || o.parameters.binary_data === undefined) continue;
      const b = o.parameters.binary_data;
      if (typeof b !== 'boolean') bad(`output ${echoText(o.name)}: parameters.binary_data is ${typeof b === 'object' ? 'an object or null' : `a ${typeof b}`}: expected true or false`);
      (per ??= new Map()).set(o.name, b);
    }
  }
  if (!all && !(per && [...per.values()].includes(true))) return undefined;
  return (name) => per?.get(name) ?? all;
}

/** The JSON header and the raw parts of a binary answer. */
export function binaryAnswer(prefix: string, id: string | undefined, outputs: readonly RecordedTensor[], binary: (name: string) => boolean,
  jsonText: (t: RecordedTensor) => string): { header: Buffer; parts: Uint8Array[] } {
  let text = prefix;
  if (id !== undefined) text += `,"id":${JSON.stringify(id)}`;
  text += ',"outputs":[';
  const parts: Uint8Array[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const t = outputs[i]!;
    if (i) text += ',';
    if (binary(t.name)) {
      const raw = encodeRaw(t.data, t.datatype);
      parts.push(raw);
      text += `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}],"parameters":{"binary_data_size":${raw.length}}}`;
    } else {
      text += jsonText(t);
    }
  }
  text += ']}';
  return { header: Buffer.from(text), parts };
}
