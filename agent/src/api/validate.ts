// OIP v2 request validation (moved to @edgefleet/shared so that `edgefleet model
// pack` reads samples the same way; re-exported here for the server) and the
// JSON text of output tensors.
import type { RecordedTensor, TensorData } from '../runtime/recorder.js';

export { refuseUnknownInferFields, validateInferRequest, type InferRequest } from '@edgefleet/shared/core';

/** OIP output tensor as JSON: BOOL as booleans, 64-bit ints as numbers. */
export function outputJson(t: RecordedTensor): { name: string; datatype: string; shape: number[]; data: unknown[] } {
  let data: unknown[];
  const d = t.data;
  if (Array.isArray(d)) data = d;
  else if (t.datatype === 'BOOL') data = Array.from(d as Uint8Array, (x) => x !== 0);
  else if (d instanceof BigInt64Array || d instanceof BigUint64Array) data = Array.from(d, (x) => Number(x));
  else data = Array.from(d as Float32Array);
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data };
}

/**
 * The JSON text of outputJson(t), written directly: no intermediate arrays or
 * objects on the request path. Same text as JSON.stringify(outputJson(t))
 * (non-finite numbers as null, BOOL as booleans), but for 64-bit ints, which are
 * written with all their digits: past 2^53 a number would round them (docs/agent.md).
 */
export function outputJsonText(t: RecordedTensor, head = outputJsonHead(t)): string {
  return `${head}${t.shape.join(',')}],"data":[${dataText(t)}]}`;
}

/** The constant start of outputJsonText(t) (name and datatype), which a caller may keep per output. */
export function outputJsonHead(t: Pick<RecordedTensor, 'name' | 'datatype'>): string {
  return `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[`;
}

function dataText(t: RecordedTensor): string {
  const d = t.data;
  if (Array.isArray(d)) return d.map((x) => JSON.stringify(x)).join(',');
  if (t.datatype === 'BOOL') {
    let s = '';
    for (let i = 0; i < d.length; i++) s += (i ? ',' : '') + (d[i] !== 0 ? 'true' : 'false');
    return s;
  }
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    let s = '';
    for (let i = 0; i < d.length; i++) s += (i ? ',' : '') + String(d[i]);
    return s;
  }
  const a = d as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
  if (a instanceof Float32Array || a instanceof Float64Array) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) return Array.from(a, (x) => (Number.isFinite(x) ? String(x) : 'null')).join(',');
    }
  }
  // Number -> text as JSON.stringify does it (ToString of a finite number).
  return a.join(',');
}
