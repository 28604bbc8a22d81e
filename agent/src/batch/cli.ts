// `edgefleet-agent batch --model NAME [--version V] --input FILE.jsonl|FILE.csv --output OUT.jsonl`:
// loads the installed version (active by default) from the data dir in its own
// runtime, runs the file, records the predictions in the summaries (written on
// exit), shows a progress bar on a terminal and prints rows/s at the end.
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, toAppError } from '@edgefleet/shared';
import { openStore } from '../agent.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { samplesFromBlobs } from '../install/manager.js';
import { SummaryRecorder } from '../summaries/recorder.js';
import { runBatch, runtimeModel } from './run.js';

export interface BatchContext {
  dataDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

const USAGE = 'usage: edgefleet-agent batch --model NAME [--version V] --input FILE.jsonl|FILE.csv --output OUT.jsonl [--batch-size N]';

/** A one-line progress bar redrawn in place: [#####.....] 50% 1,234 rows. */
export function progressBar(fraction: number, rows: number, width = 30): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}% ${rows.toLocaleString('en-US')} rows`;
}

export async function batchCommand(argv: string[], ctx: BatchContext): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' }, version: { type: 'string' }, input: { type: 'string' }, output: { type: 'string' },
        'batch-size': { type: 'string' }, 'data-dir': { type: 'string' },
      },
    }));
  } catch (err) {
    ctx.stderr.write(`batch: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const missing = (['model', 'input', 'output'] as const).filter((k) => typeof values[k] !== 'string');
  if (missing.length > 0) {
    ctx.stderr.write(`batch: missing ${missing.map((k) => `--${k}`).join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const batchSize = values['batch-size'] === undefined ? 256 : Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    ctx.stderr.write(`batch: invalid --batch-size "${String(values['batch-size'])}": expected a positive integer\n`);
    return 2;
  }
  const name = values.model as string;
  const input = values.input as string;
  const output = values.output as string;
  const store = openStore(ctx.dataDir);
  const runtime = new ModelRuntime({ perModel: 1, queue: 1 << 20 });
  let recorder: SummaryRecorder | undefined;
  try {
    const active = store.models.getActive(name);
    const version = (values.version as string | undefined) ?? active?.active;
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
    runtime.activate(await runtime.load(m, store.blobs.pathOf(entry.sha256), await samplesFromBlobs(m, store.blobs)));
    const tty = ctx.stderr.isTTY === true;
    let last = 0;
    const r = await runBatch({
      model: runtimeModel(runtime, name, version),
      input,
      output,
      batchSize,
      recorder,
      onProgress: (bytes, rows) => {
        const now = performance.now();
        if (!tty || now - last < 100) return;
        last = now;
        ctx.stderr.write(`\r${progressBar(size > 0 ? bytes / size : 1, rows)}`);
      },
    });
    if (tty) ctx.stderr.write(`\r${progressBar(1, r.rows)}\n`);
    ctx.stderr.write(`${name}@${version}: ${r.rows} rows (${r.errors} with errors) in ${r.seconds.toFixed(2)} s, ${Math.round(r.rowsPerSec).toLocaleString('en-US')} rows/s -> ${output}\n`);
    return 0;
  } catch (err) {
    ctx.stderr.write(`batch: ${toAppError(err).message}\n`);
    return 1;
  } finally {
    await runtime.stop();
    recorder?.stop(); // writes the open summary window
    store.db.close();
  }
}
