// Scheduled batch jobs from the config: {name, model, version?, cron, input
// glob, outputDir}. At each cron minute the job runs every matching file it has
// not processed yet; a file is known by path + size + mtime + sha256 in the
// processed_files table, so it is processed once, even across restarts. A row whose file has left the
// job's input directory is forgotten at the job's next run that finds files (it could skip nothing):
// the ledger holds what the directory holds, not every file ever processed.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { AppError, toAppError } from '@edgefleet/shared/core';
import type { PredictionRecorder } from '../runtime/recorder.js';
import type { Clock } from '../summaries/recorder.js';
import { nextRun, parseCron, type Cron } from '@edgefleet/shared/core';
import { runBatch, type BatchModel } from './run.js';
import type { DiskFullState } from '../disk-full.js';

/** A scheduled job writes NAME.out.jsonl into its outputDir for each input NAME.*. */
const OUTPUT_SUFFIX = '.out.jsonl';

/** Where the systemd unit lets the agent read and write (docs/operations.md "The units"). */
const SERVICE_PATHS = 'expected a directory the agent may use (under the systemd unit, ProtectSystem=strict leaves only the data dir writable: '
  + 'add others with ReadWritePaths= in a drop-in, systemctl edit edgefleet-agent; ProtectHome=yes hides /home, /root and /run/user)';

/** The job's outputDir, made if missing, and writable; else CONFIG_INVALID naming the job, the directory and why. */
async function writableOutputDir(job: BatchJob): Promise<void> {
  try {
    await mkdir(job.outputDir, { recursive: true });
    await access(job.outputDir, constants.W_OK);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `batch job "${job.name}": outputDir ${job.outputDir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${SERVICE_PATHS}`);
  }
}

export interface BatchJob {
  name: string;
  model: string;
  version?: string | undefined;
  cron: string;
  input: string;
  outputDir: string;
}

export interface JobLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchedulerOptions {
  db: Database.Database;
  jobs: readonly BatchJob[];
  /** The model to run (in the daemon: the live runtime, so predictions count in its summaries). */
  resolveModel: (name: string, version?: string) => BatchModel;
  recorder?: PredictionRecorder;
  clock?: Clock;
  logger?: JobLogger;
  /** Told when an output is refused for a full disk, and when one is written (disk-full.ts). */
  disk?: DiskFullState;
}

export interface JobRun {
  processed: { path: string; output: string; rows: number; errors: number }[];
  skipped: string[];
  failed: { path: string; error: string }[];
}

/**
 * Files in the glob's directory whose name matches its last segment: `*` and `?` are the only wildcards,
 * every other character is itself (`[` and `]` too: `in[1].csv` once matched `in1.csv`, and a lone `[`
 * made an invalid regular expression).
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  if (/[*?]/.test(dir)) throw new AppError('CONFIG_INVALID', `input glob "${pattern}": wildcards are only supported in the file name, expected e.g. /data/in/*.csv`);
  const re = new RegExp(`^${basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    // Not there (yet): nothing to run. Not readable (a directory the service may not read): said.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AppError('CONFIG_INVALID', `input glob "${pattern}": cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${SERVICE_PATHS}`);
  }
  return names.filter((n) => re.test(n)).sort().map((n) => resolve(dir, n));
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class BatchScheduler {
  private readonly crons: Cron[];
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.crons = opts.jobs.map((j) => {
      try {
        return parseCron(j.cron);
      } catch (err) {
        throw new AppError('CONFIG_INVALID', `batch job "${j.name}": ${(err as Error).message}`);
      }
    });
    this.clock = opts.clock ?? { now: () => Date.now() };
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Clears the timer and waits for a job that is running. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running;
  }

  private schedule(): void {
    if (this.stopped || this.crons.length === 0) return;
    const now = this.clock.now();
    const next = Math.min(...this.crons.map((c) => nextRun(c, now) ?? Number.POSITIVE_INFINITY));
    if (!Number.isFinite(next)) return;
    // Re-arm at most every 10 minutes so a clock change is noticed.
    this.timer = setTimeout(() => this.fire(next), Math.min(Math.max(0, next - now), 600_000));
    this.timer.unref();
  }

  private fire(due: number): void {
    this.timer = null;
    if (this.clock.now() + 5 < due) return this.schedule();
    const run = (async () => {
      for (const [i, job] of this.opts.jobs.entries()) {
        if (nextRun(this.crons[i]!, due - 60_000) !== due) continue;
        try {
          await this.runJob(job);
        } catch (err) {
          const e = toAppError(err);
          this.opts.logger?.error({ job: job.name, code: e.code, err: e.message }, 'batch job failed');
        }
      }
    })();
    this.running = run.finally(() => {
      this.running = null;
      this.schedule();
    });
  }

  /** Runs one job now over the files not processed yet. */
  async runJob(job: BatchJob): Promise<JobRun> {
    const db = this.opts.db;
    const result: JobRun = { processed: [], skipped: [], failed: [] };
    // Never the job's own outputs (NAME.out.jsonl in outputDir), should its input glob reach them: a job
    // whose outputDir is its input directory would otherwise score its results, then those, at every run.
    const outDir = resolve(job.outputDir);
    const files = (await expandGlob(job.input)).filter((p) => !(resolve(dirname(p)) === outDir && p.endsWith(OUTPUT_SUFFIX)));
    if (files.length === 0) return result;
    await writableOutputDir(job);
    const model = this.opts.resolveModel(job.model, job.version);
    const seen = db.prepare('SELECT 1 FROM processed_files WHERE path = ? AND size = ? AND mtime_ms = ? AND sha256 = ?');
    const mark = db.prepare(
      'INSERT OR REPLACE INTO processed_files (path, size, mtime_ms, sha256, job, output, rows, errors, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.forgetGone(job, files);
    for (const path of files) {
      if (this.stopped && this.running !== null) break;
      try {
        const s = await stat(path);
        if (!s.isFile()) continue;
        const mtime = Math.floor(s.mtimeMs);
        const sha = await sha256Of(path);
        if (seen.get(path, s.size, mtime, sha)) {
          result.skipped.push(path);
          continue;
        }
        const output = join(job.outputDir, `${basename(path, extname(path))}${OUTPUT_SUFFIX}`);
        const run = () => runBatch({ model, input: path, output, ...(this.opts.recorder ? { recorder: this.opts.recorder } : {}) });
        const r = await (this.opts.disk ? this.opts.disk.run('batch outputs', run) : run());
        mark.run(path, s.size, mtime, sha, job.name, output, r.rows, r.errors, new Date(this.clock.now()).toISOString());
        result.processed.push({ path, output, rows: r.rows, errors: r.errors });
        this.opts.logger?.info({ job: job.name, path, output, rows: r.rows, errors: r.errors }, 'batch file processed');
      } catch (err) {
        const e = toAppError(err);
        result.failed.push({ path, error: e.message });
        this.opts.logger?.error({ job: job.name, path, code: e.code, err: e.message }, 'batch file failed');
      }
    }
    return result;
  }

  /** Forgets the job's processed files that are no longer among its input files. */
  private forgetGone(job: BatchJob, files: readonly string[]): void {
    this.opts.db.prepare('DELETE FROM processed_files WHERE job = ? AND path NOT IN (SELECT value FROM json_each(?))').run(job.name, JSON.stringify(files));
  }
}
