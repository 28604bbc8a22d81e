// The REST handler's answer to one inference (handler.ts): the outputs as OIP v2 JSON, or JSON then raw
// tensor bytes for the binary extension (binary.ts), each head and body in one write with a Content-Length.
// On the local API's hot path (docs/performance.md): a version's JSON prefix and output heads are built once
// and kept on its Hot entry (core.ts).
import type { ServerResponse } from 'node:http';
import type { RecordedTensor } from '../runtime/recorder.js';
import { binaryAnswer } from './binary.js';
import type { Hot } from './core.js';
import { outputJsonHead, outputJsonText } from './validate.js';

/** One output as JSON, its head ({"name", "datatype", "shape"}) cached per version (a version's outputs keep their datatype). */
export function outputJson(h: Hot, t: RecordedTensor): string {
  let head = h.heads.get(t.name);
  if (head === undefined) h.heads.set(t.name, (head = outputJsonHead(t)));
  return outputJsonText(t, head);
}

/** 200 with every output as JSON. */
export function sendJsonOutputs(res: ServerResponse, h: Hot, id: string | undefined, outs: readonly RecordedTensor[]): void {
  let text = h.prefix;
  if (id !== undefined) text += `,"id":${JSON.stringify(id)}`;
  text += ',"outputs":[';
  for (let i = 0; i < outs.length; i++) text += (i ? ',' : '') + outputJson(h, outs[i]!);
  text += ']}';
  // A Content-Length instead of chunked encoding: head and body leave in one write.
  res.writeHead(200, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))]);
  res.end(text);
}

/** 200 with the JSON header, then the raw bytes of the outputs `binary` names (binary_tensor_data). */
export function sendBinaryOutputs(res: ServerResponse, h: Hot, id: string | undefined, outs: readonly RecordedTensor[], binary: (name: string) => boolean): void {
  const { header, parts } = binaryAnswer(h.prefix, id, outs, binary, (t) => outputJson(h, t));
  const total = parts.reduce((k, p) => k + p.length, header.length);
  res.writeHead(200, ['content-type', 'application/octet-stream', 'inference-header-content-length', String(header.length), 'content-length', String(total)]);
  res.cork();
  res.write(header);
  for (const p of parts) res.write(p);
  res.end();
}
