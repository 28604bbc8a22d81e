// What a captured row holds (docs/agent.md "Data capture"): the requested features of a request, a
// column per feature with one value per row of the request, or whole input tensors for a model without
// features; outputs whole. Plain JSON values (an int64 becomes a number).
import type { Manifest } from '@edgefleet/shared';
import type { TensorData } from '@edgefleet/shared/core';
import type { RecordedTensor } from '../runtime/recorder.js';

export function plain(data: TensorData): unknown[] {
  const out = new Array<unknown>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}

/** The selected features (named columns of their input tensor) or whole input tensors, per batch row. */
export function rowInputs(manifest: Manifest | undefined, feeds: readonly RecordedTensor[], only: readonly string[] | undefined): Record<string, unknown> {
  const want = only ? new Set(only) : null;
  const out: Record<string, unknown> = {};
  const features = manifest?.features ?? [];
  const byTensor = new Set<string>();
  for (const f of features) {
    if (want && !want.has(f.name)) continue;
    const t = f.input ? feeds.find((x) => x.name === f.input) : feeds[0];
    if (!t) continue;
    byTensor.add(t.name);
    const cols = t.shape.length >= 2 ? (t.shape[t.shape.length - 1] as number) : t.data.length;
    const col: unknown[] = [];
    for (let i = f.index; i < t.data.length; i += cols) col.push(typeof t.data[i] === 'bigint' ? Number(t.data[i]) : t.data[i]);
    out[f.name] = col;
  }
  for (const t of feeds) {
    if (features.length && !want) continue; // tabular: the features say it all
    if (want ? want.has(t.name) : !byTensor.has(t.name)) out[t.name] = plain(t.data);
  }
  return out;
}
