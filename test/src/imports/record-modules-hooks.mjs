// The loader-thread half of record-modules.mjs: every specifier that resolves is appended (as its
// URL) to the file named in `data.out`, synchronously, so nothing is lost if the process ends abruptly.
import { appendFileSync } from 'node:fs';

let out = '';

export function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, nextResolve) {
  const r = await nextResolve(specifier, context);
  appendFileSync(out, `${r.url}\n`);
  return r;
}
