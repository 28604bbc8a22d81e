// `edgefleet-agent batch --model NAME [--version V] --input FILE.jsonl|FILE.csv --output OUT.jsonl`:
// loads the installed version (active by default) from the data dir in its own
// runtime, with the runtime settings the daemon starts with (backend, threads, batching:
// config-start.ts, stored remote settings included), runs the file, records the
// predictions in the summaries (written on exit), shows a progress bar on a terminal
// and prints rows/s and the backend it ran on at the end.
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { AppError } from '@edgefleet/shared/core';
import { ProgressBar, endProgressLine, optString, parsePositiveInt, reqString, type CliContext, type Command } from '@edgefleet/shared/cli';
import { openStore } from '../store/agent-store.js';
import { configOf, dataDirOptions, warnOn } from '../cli/common.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { removedError } from '../store/removals-repo.js';
import { ModelFiles } from '../install/model-files.js';
import { SummaryRecorder } from '../summaries/recorder.js';
import { BatchStopped, runBatch, runtimeModel } from './run.js';
import type { AgentConfig } from '../config.js';

/**
 * Rows per inference call at most: a batch's rows, their tensor and their outputs are held in memory at
 * once, and any larger number once took the whole file in one batch (--batch-size 100000000000 was taken).
 */
export const MAX_BATCH_SIZE = 65_536;

/** --batch-size: a positive integer of at most MAX_BATCH_SIZE (the parser's check, so it is a usage error). */
function batchSizeProblem(text: string): string | undefined {
  if (!/^[1-9]\d*$/.test(text)) return `expected a positive integer, got "${text}"`;
  if (Number(text) > MAX_BATCH_SIZE) return `expected at most ${MAX_BATCH_SIZE} rows per inference call (they are held in memory at once), got ${text}`;
  return undefined;
}

export const batchCommand: Command = {
  summary: 'Run an installed model over a .jsonl or .csv file, writing one JSON line of predictions per row',
  details: 'The model runs with the runtime settings the daemon starts with (runtime.backend, threads...). The predictions\nare recorded in the summaries like served ones. A progress bar is drawn on a terminal; rows/s and the backend\nare printed at the end.',
  options: {
    model: { type: 'string', required: true, value: 'NAME', description: 'an installed model' },
    version: { type: 'string', value: 'V', description: 'an installed version (default: the active one)' },
    input: { type: 'string', required: true, value: 'FILE', description: 'FILE.jsonl (one request per line) or FILE.csv (a header of feature names)' },
    output: { type: 'string', required: true, value: 'OUT.jsonl', description: 'where the results go' },
    'batch-size': { type: 'integer', positive: true, value: 'N', description: `rows per inference call (default 256, at most ${MAX_BATCH_SIZE})`, check: batchSizeProblem },
    ...dataDirOptions,
  },
  async run(args, ctx) {
    const batchSize = parsePositiveInt(optString(args, 'batch-size') ?? '256', '--batch-size');
    const { dataDir, runtime } = configOf(args, ctx);
    return runBatchFile({ name: reqString(args, 'model'), version: optString(args, 'version'), input: resolve(ctx.cwd, reqString(args, 'input')), output: resolve(ctx.cwd, reqString(args, 'output')), batchSize }, dataDir, runtime, ctx);
  },
};

async function runBatchFile(
  job: { name: string; version: string | undefined; input: string; output: string; batchSize: number },
  dataDir: string,
  settings: AgentConfig['runtime'],
  ctx: CliContext,
): Promise<number> {
  const { name, input, output, batchSize } = job;
  const store = openStore(dataDir);
  // The runtime settings the daemon runs with (local and remote), as the other commands use.
  const runtime = new ModelRuntime({ overrides: settings, perModel: 1, queue: 1 << 20 });
  let recorder: SummaryRecorder | undefined;
  try {
    const removal = store.removals.get(name);
    if (removal) throw removedError(removal);
    const active = store.models.getActive(name);
    const version = job.version ?? active?.active;
    if (version === undefined) {
      const known = [...new Set(store.models.listVersions().map((v) => v.name))];
      throw new AppError('NOT_FOUND', `model "${name}" is not installed: expected one of [${known.join(', ')}]`);
    }
    const installed = store.models.getVersion(name, version);
    if (!installed) {
      const versions = store.models.listVersions(name).map((v) => v.version);
      throw new AppError('NOT_FOUND', `model "${name}" has no version "${version}" installed: expected one of [${versions.join(', ')}]`);
    }
    const m = installed.manifest;
    const entry = m.files.find((f) => f.path === m.entrypoint);
    if (!entry) throw new AppError('BUNDLE_INVALID', `${name}@${version}: entrypoint "${m.entrypoint}" is not among the files`);
    let size = 0;
    try {
      size = statSync(input).size;
    } catch {
      throw new AppError('NOT_FOUND', `input ${input} does not exist: expected a .jsonl or .csv file`);
    }
    recorder = new SummaryRecorder({ sink: store.summaries, manifestOf: () => m });
    runtime.setRecorder(recorder);
    const files = new ModelFiles(store);
    const key = m.encryption ? files.contentKey(m) : undefined;
    runtime.activate(await runtime.load(m, await files.model(m, key), await files.samples(m, key)));
    // The input's bytes read, on a terminal (shared/src/cli/progress.ts); the rows are counted at the end.
    const bar = new ProgressBar(ctx.stderr, { label: `${name}@${version}`, total: size });
    // SIGINT/SIGTERM stop the run after the batch under way: its .tmp is removed and it says so, rather
    // than the process dying with half an OUT.tmp left (a second signal ends it at once, as usual).
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const r = await runBatch({
      model: runtimeModel(runtime, name, version),
      input,
      output,
      batchSize,
      recorder,
      onProgress: (bytes) => bar.update(bytes),
      signal: stop.signal,
    }).catch((err: unknown) => {
      if (!(err instanceof BatchStopped)) throw err;
      endProgressLine(ctx.stderr);
      ctx.stderr.write(`stopped: ${err.reason} received: ${err.message}\n`);
      return 128 + (constants.signals[err.reason as NodeJS.Signals] ?? 0);
    }).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    if (typeof r === 'number') return r;
    bar.done();
    ctx.stderr.write(`${name}@${version}: ${r.rows} rows (${r.errors} with errors) in ${r.seconds.toFixed(2)} s, ${Math.round(r.rowsPerSec).toLocaleString('en-US')} rows/s on the ${runtime.backendInUse ?? 'unknown'} backend -> ${output}\n`);
    return 0;
  } finally {
    // Bounded (RUNTIME_STOP_MS): a backend that does not answer cannot keep the summary window unwritten.
    await runtime.stop(warnOn(ctx));
    recorder?.stop(); // writes the open summary window
    store.db.close();
  }
}
