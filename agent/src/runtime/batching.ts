// Dynamic batching, as Triton's dynamic batcher does it
// (https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/model_configuration.html#dynamic-batcher):
// concurrent requests for one model version whose inputs and outputs all have a free first
// dimension are combined along it into one session run, and the outputs are split back per
// request. The policy (off / on / auto, max batch size, max queue delay) and the pure parts:
// which requests may share a run, concatenating their feeds, splitting the outputs. The queueing
// lives in runtime.ts (docs/decisions/0018-dynamic-batching.md).
import type { Manifest } from '@edgefleet/shared';
import type { RuntimeOverrides } from '../config.js';
import type { RecordedTensor, TensorData } from './recorder.js';

export { MAX_BATCH_SIZE, MAX_QUEUE_DELAY_US } from '@edgefleet/shared/core';
/** Rows per batched run unless the manifest or agent config says otherwise. */
export const DEFAULT_MAX_BATCH_SIZE = 32;
/** How long a request waits for company with batching "on" unless configured. */
export const DEFAULT_MAX_QUEUE_DELAY_US = 500;

export type BatchingMode = 'off' | 'on' | 'auto';

export interface BatchPolicy {
  /** on: a request waits up to maxQueueDelayUs for others; auto: it never waits, requests queued behind busy runs share one. */
  mode: 'on' | 'auto';
  maxBatchSize: number;
  maxQueueDelayUs: number;
}

/**
 * The batching policy of a version, or undefined when its requests always run alone: batching
 * off, a max batch size of 1 (the manifest's 1 always wins: its rows are not independent), or a
 * tensor whose first dimension is not free (or is BYTES, which is not concatenated).
 */
export function batchPolicy(m: Manifest, o: RuntimeOverrides = {}): BatchPolicy | undefined {
  const mode = o.batching ?? 'auto';
  if (mode === 'off' || m.runtime.maxBatchSize === 1) return undefined;
  const maxBatchSize = o.maxBatchSize ?? m.runtime.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  if (maxBatchSize < 2) return undefined;
  const free = (t: { shape: number[]; datatype: string }) => t.shape.length > 0 && t.shape[0] === -1 && t.datatype !== 'BYTES' && t.datatype !== 'FP16';
  if (!m.io.inputs.every(free) || !m.io.outputs.every(free)) return undefined;
  return { mode, maxBatchSize, maxQueueDelayUs: o.maxQueueDelayUs ?? m.runtime.maxQueueDelayUs ?? DEFAULT_MAX_QUEUE_DELAY_US };
}

/**
 * The rows of a request (its first dimension) and the key requests must share to run together
 * (input names, datatypes and the other dimensions, the outputs asked for); undefined when it
 * must run alone (no rows, inputs disagreeing on their rows, more rows than a batch holds).
 */
export function batchKey(feeds: readonly RecordedTensor[], wanted: readonly string[] | undefined, max: number): { rows: number; key: string } | undefined {
  const rows = feeds[0]?.shape[0];
  if (rows === undefined || rows < 1 || rows >= max) return undefined;
  let key = wanted ? wanted.join('\0') : '*';
  for (let i = 0; i < feeds.length; i++) {
    const f = feeds[i]!;
    if (f.shape[0] !== rows || Array.isArray(f.data)) return undefined;
    key += `|${f.name}:${f.datatype}:${f.shape.length === 2 ? f.shape[1]! : f.shape.slice(1).join(',')}`;
  }
  return { rows, key };
}

/** The members' feeds, concatenated along the first dimension (members share a batchKey). */
export function concatFeeds(members: ReadonlyArray<{ feeds: readonly RecordedTensor[]; rows: number }>, rows: number): RecordedTensor[] {
  const first = members[0]!.feeds;
  return first.map((f, i) => {
    const per = f.data.length / f.shape[0]!;
    const Ctor = (f.data as Exclude<TensorData, string[]>).constructor as new (n: number) => Exclude<TensorData, string[]>;
    const data = new Ctor(per * rows);
    let at = 0;
    for (const m of members) {
      const d = m.feeds[i]!.data as Exclude<TensorData, string[]>;
      (data as Float32Array).set(d as Float32Array, at);
      at += d.length;
    }
    return { name: f.name, datatype: f.datatype, shape: [rows, ...f.shape.slice(1)], data };
  });
}

/**
 * A batched run's outputs split back per member (views on the batch's arrays), or undefined when
 * an output's first dimension is not the batch's rows: the model does not treat the first
 * dimension as a batch, and the members are run alone.
 */
export function splitOutputs(outputs: readonly RecordedTensor[], rows: readonly number[], total: number): RecordedTensor[][] | undefined {
  for (const o of outputs) if (o.shape[0] !== total || Array.isArray(o.data)) return undefined;
  const out: RecordedTensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const per = o.data.length / total;
    const rest = o.shape.slice(1);
    const data = o.data as Exclude<TensorData, string[]>;
    let at = 0;
    for (let k = 0; k < rows.length; k++) {
      const n = rows[k]!;
      out[k]!.push({ name: o.name, datatype: o.datatype, shape: [n, ...rest], data: data.subarray(at * per, (at + n) * per) });
      at += n;
    }
  }
  return out;
}
