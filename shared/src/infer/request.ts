// Validation of OIP v2 infer requests against a model's manifest io, before
// anything reaches onnxruntime: input names, datatype, shape (manifest dims,
// -1 free) against the data length, nested or flat row-major data, value
// types and ranges, non-finite numbers. Every error names the input and what
// was expected. Hand-written rather than zod: it runs on every request. Shared
// so that the agent's server and the samples of `model pack` (docs/decisions/0009-model-samples.md)
// turn a request body into tensors the same way. The checks on the values themselves (type, range,
// finiteness, raw bytes) are infer/tensor-values.ts.
import type { Manifest, TensorSpec } from '../wire/manifest.js';
import { shapeText, shapeValueText } from './shape-text.js';
import type { OipTensor } from './tensor.js';
import { bad, describe, fromRaw, tensorData, type FiniteOpts } from './tensor-values.js';
import { echoText } from '../text.js';

export { tensorData, type FiniteOpts } from './tensor-values.js';

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
  return { name, datatype: spec.datatype, shape: shape as number[], data: tensorData(flat, spec, opts) };
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
