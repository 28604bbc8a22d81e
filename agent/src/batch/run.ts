// The batch job: stream rows from a file, run them through a model in batches,
// write one output row per input row (its outputs, or its error), in order.
// Tabular rows are stacked into [n, F] tensors; other models run a row at a time.
// Predictions are recorded in the summaries through the runtime's recorder;
// rows refused before inference are recorded as errors here.
import { createWriteStream } from 'node:fs';
import { realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { AppError, storageError, toAppError } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { PredictionRecorder, RecordedTensor } from '../runtime/recorder.js';
import type { ModelRuntime } from '../runtime/runtime.js';
import { oipFeeds, readRows, rowShape, tabularRow, type RawRow } from './input.js';

/** A model the batch can run: the runtime records each run in the summaries. */
export interface BatchModel {
  name: string;
  version: string;
  manifest: Manifest;
  run(feeds: RecordedTensor[]): Promise<RecordedTensor[]>;
}

/** A BatchModel over the runtime's active (or given) version of `name`. */
export function runtimeModel(rt: ModelRuntime, name: string, version?: string): BatchModel {
  const v = rt.pin(name, version);
  rt.unpin(v);
  return {
    name: v.name,
    version: v.version,
    manifest: v.manifest,
    async run(feeds) {
      return (await rt.infer(rt.pin(name, v.version), feeds)).outputs;
    },
  };
}

export interface BatchOptions {
  model: BatchModel;
  input: string;
  output: string;
  batchSize?: number;
  /** For errors of rows refused before inference (the runtime records the rest). */
  recorder?: PredictionRecorder;
  /** Bytes of input read so far, after each batch. */
  onProgress?: (bytesRead: number, rows: number) => void;
  /**
   * Stops the run after the batch under way (`edgefleet-agent batch` on SIGINT/SIGTERM; the reason is the
   * signal's name): the output is removed rather than renamed into place, and BatchStopped is thrown.
   */
  signal?: AbortSignal;
}

/** A run stopped by its `signal`; the message says what became of the output. */
export class BatchStopped extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'BatchStopped';
  }
}

export interface BatchResult {
  rows: number;
  errors: number;
  seconds: number;
  rowsPerSec: number;
}

type Pending = { line: number; id?: unknown; values?: number[]; feeds?: RecordedTensor[]; error?: { code: string; message: string } };

function toList(data: RecordedTensor['data'], from: number, to: number): unknown[] {
  const out: unknown[] = [];
  for (let i = from; i < to; i++) {
    const x = data[i];
    out.push(typeof x === 'bigint' ? Number(x) : x);
  }
  return out;
}

/**
 * Where the output goes. A file (new, or a regular one, through any symlink to it) is written beside
 * it as OUT.tmp and renamed over it when complete, so a reader never sees half of it; a device or a
 * FIFO (`/dev/stdout`, a pipe) is written in place, never replaced. The input itself, or a directory,
 * is refused before anything is written.
 */
async function outputTarget(input: string, output: string): Promise<{ path: string; inPlace: boolean }> {
  const real = await realpath(output).catch(async () => {
    const dir = await realpath(dirname(output)).catch(() => null);
    if (dir === null) throw new AppError('BAD_REQUEST', `batch output ${output}: its directory ${dirname(output)} does not exist: expected an existing directory`);
    return join(dir, basename(output));
  });
  if (real === await realpath(input).catch(() => input)) {
    throw new AppError('BAD_REQUEST', `batch output ${output} is the input file: expected another file (the input is read while the output is written)`);
  }
  const s = await stat(real).catch(() => null);
  if (s?.isDirectory()) throw new AppError('BAD_REQUEST', `batch output ${output} is a directory: expected a file path such as ${join(output, 'scored.jsonl')}`);
  return { path: real, inPlace: s !== null && !s.isFile() };
}

/** Runs the job; the output is written to OUT.tmp and renamed when complete (in place for a device or FIFO). */
export async function runBatch(o: BatchOptions): Promise<BatchResult> {
  const t0 = performance.now();
  const m = o.model.manifest;
  const shape = rowShape(m);
  const batchSize = o.batchSize ?? 256;
  const target = await outputTarget(o.input, o.output);
  const tmp = target.inPlace ? target.path : `${target.path}.tmp`;
  const out = createWriteStream(tmp);
  // A write the disk refuses (ENOSPC) arrives as an 'error' while rows are being run: kept here (an
  // 'error' without a listener would end the daemon), thrown at the next write, and the .tmp removed.
  out.on('error', () => undefined);
  let rows = 0;
  let errors = 0;
  let bytes = 0;
  const write = async (s: string) => {
    if (out.errored) throw out.errored;
    if (!out.write(s)) await once(out, 'drain');
  };
  const emit = async (p: Pending, outputs?: Record<string, unknown>) => {
    const row: Record<string, unknown> = { line: p.line };
    if (p.id !== undefined) row.id = p.id;
    if (p.error) {
      row.error = p.error;
      errors++;
    } else row.outputs = outputs;
    rows++;
    await write(`${JSON.stringify(row)}\n`);
  };
  const fail = (p: Pending, err: unknown): Pending => {
    const e = toAppError(err);
    return { ...p, error: { code: e.code, message: `line ${p.line}: ${e.message}` } };
  };

  const runOne = async (p: Pending): Promise<Pending & { outputs?: Record<string, unknown> }> => {
    try {
      const res = await o.model.run(p.feeds!);
      return { ...p, outputs: Object.fromEntries(res.map((t) => [t.name, toList(t.data, 0, t.data.length)])) };
    } catch (err) {
      return fail(p, err);
    }
  };

  const flush = async (batch: Pending[]) => {
    const good = batch.filter((p) => !p.error);
    const results = new Map<Pending, Record<string, unknown>>();
    const failed = new Map<Pending, Pending>();
    if (shape.tabular && good.length > 0) {
      const spec = m.io.inputs.find((t) => t.name === shape.input)!;
      const data = spec.datatype === 'FP64' ? new Float64Array(good.length * shape.width) : new Float32Array(good.length * shape.width);
      good.forEach((p, r) => data.set(p.values!, r * shape.width));
      try {
        const res = await o.model.run([{ name: shape.input, datatype: spec.datatype, shape: [good.length, shape.width], data }]);
        good.forEach((p, r) => {
          const outputs: Record<string, unknown> = {};
          for (const t of res) {
            const per = t.shape.length >= 1 && t.shape[0] === good.length ? t.data.length / good.length : 0;
            outputs[t.name] = per > 0 ? toList(t.data, r * per, (r + 1) * per) : toList(t.data, 0, t.data.length);
          }
          results.set(p, outputs);
        });
      } catch {
        // One bad row must not fail its neighbours: rerun them one at a time.
        // Each row in the input's own datatype: an FP64 row once went through a Float32Array, so a retried
        // row ran on rounded values (0.1 as 0.10000000149011612) while its batch neighbours did not.
        for (const p of good) {
          const row = spec.datatype === 'FP64' ? Float64Array.from(p.values!) : Float32Array.from(p.values!);
          const single = await runOne({ ...p, feeds: [{ name: shape.input, datatype: spec.datatype, shape: [1, shape.width], data: row }] });
          if (single.error) failed.set(p, single);
          else results.set(p, Object.fromEntries(Object.entries(single.outputs!).map(([k, v]) => [k, v])));
        }
      }
    } else {
      for (const p of good) {
        const r = await runOne(p);
        if (r.error) failed.set(p, r);
        else results.set(p, r.outputs!);
      }
    }
    for (const p of batch) {
      const f = failed.get(p);
      if (p.error || f) await emit(f ?? p);
      else await emit(p, results.get(p));
    }
    o.onProgress?.(bytes, rows);
  };

  const stopped = () => {
    if (!o.signal?.aborted) return;
    throw new BatchStopped(String(o.signal.reason), target.inPlace
      ? `${o.output} holds the first ${rows} rows only (written in place: a device or FIFO)`
      : `nothing written to ${o.output} (its .tmp was removed)`);
  };
  let batch: Pending[] = [];
  try {
    for await (const raw of readRows(o.input, (n) => { bytes = n; }) as AsyncGenerator<RawRow>) {
      let p: Pending = { line: raw.line };
      if ('error' in raw) p = { ...p, error: { code: 'INVALID_INPUT', message: `line ${raw.line}: ${raw.error}` } };
      else {
        if (raw.value.id !== undefined) p.id = raw.value.id;
        try {
          if (shape.tabular) p.values = tabularRow(raw.value, shape);
          else p.feeds = oipFeeds(raw.value, m);
        } catch (err) {
          p = fail(p, err);
        }
      }
      if (p.error) o.recorder?.recordError(o.model.name, o.model.version, p.error.code, 0);
      batch.push(p);
      if (batch.length >= batchSize) {
        stopped();
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await flush(batch);
    out.end();
    await finished(out); // settles even when the stream failed before this line
    stopped();
  } catch (err) {
    out.destroy();
    if (!target.inPlace) await rm(tmp, { force: true });
    if (!out.errored) throw err;
    throw storageError(err, `batch output ${o.output}: cannot write it`, 'room on its disk for the output; nothing of it was kept');
  }
  if (!target.inPlace) await rename(tmp, target.path);
  const seconds = (performance.now() - t0) / 1000;
  return { rows, errors, seconds, rowsPerSec: seconds > 0 ? rows / seconds : rows };
}
