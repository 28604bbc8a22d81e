// Shadow evaluation on the box (docs/agent.md "Shadow evaluation", decision 0032): a candidate version
// loaded beside the active one runs on a sampled share of answered requests, off the request path, and
// its outputs are compared with the answer the active version gave; the box always answers with the
// active version. The summaries recorder offers every answered request (offer(), in memory, no I/O);
// a sample is queued and run after the answer went out (setImmediate, one shadow run at a time). The
// queue is bounded in entries and bytes: when the shadow falls behind, samples are dropped and counted,
// and answers are never delayed. Each candidate session is one more model session in the agent's memory:
// at most one per model and `sessions` in all (docs/agent.md "Shadow evaluation").
import { AppError, settleWithin } from '@edgefleet/shared/core';
import type { Logger } from '../log.js';
import type { LoadedVersion, ModelRuntime } from '../runtime/runtime.js';
import type { RecordedTensor } from '../runtime/recorder.js';
import type { ShadowSampler, ShadowTallies } from '../summaries/recorder.js';
import type { ShadowTally } from '../summaries/shadow-tally.js';
import { outputsAgree } from './agreement.js';
import { RecentRequests, bytesOf, replay, type RecentLimits } from './replay.js';
import type { ReplayReport } from '@edgefleet/shared';

export interface ShadowLimits {
  /** Samples waiting for a shadow run, in all. */
  queue: number;
  /** Bytes of tensors those samples hold, in all. */
  queueBytes: number;
  /** Candidate sessions loaded at once (one per model at most). */
  sessions: number;
  /** stop(): how long the shadow run in progress may take. */
  stopMs: number;
}

export const SHADOW_LIMITS: ShadowLimits = { queue: 32, queueBytes: 8 * 1024 * 1024, sessions: 2, stopMs: 1000 };
/** Default tolerance for float outputs of one value per row when the desired document names none. */
export const DEFAULT_SHADOW_TOLERANCE = 0.01;

export interface ShadowSettings {
  sampleRate: number;
  tolerance?: number | undefined;
  /** Single-value float outputs compared as a class at this threshold (agreement.ts). */
  threshold?: number | undefined;
  /** Set: no live sampling; replay up to this many recently answered requests once (replay.ts). */
  replay?: number | undefined;
}

interface Shadow {
  name: string;
  v: LoadedVersion;
  sampleRate: number;
  tolerance: number;
  threshold: number | undefined;
  replay: number | undefined;
  /** Sampling by credit (deterministic: exactly sampleRate of the offers, evenly spread). */
  credit: number;
  retired: boolean;
  /** The shadow run in progress on this session, if any. */
  running: Promise<void> | null;
}

interface Job {
  sh: Shadow;
  version: string;
  feeds: readonly RecordedTensor[];
  outputs: readonly RecordedTensor[];
  tally: ShadowTally;
  bytes: number;
}

/** Totals since start (tests, logs); the windows carry the per-window numbers. */
export interface ShadowStats { sampled: number; dropped: number; runs: number; agree: number; errors: number; late: number }


export class ShadowRunner implements ShadowSampler {
  readonly limits: ShadowLimits;
  readonly stats: ShadowStats = { sampled: 0, dropped: 0, runs: 0, agree: 0, errors: 0, late: 0 };
  private readonly shadows = new Map<string, Shadow>();
  private queue: Job[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Recently answered requests, for replay checks (replay.ts). */
  readonly recent: RecentRequests;
  private readonly replays = new Map<string, ReplayReport>();
  private replayListener: (() => void) | undefined;

  constructor(private readonly deps: { runtime: ModelRuntime; logger?: Logger; limits?: Partial<ShadowLimits>; recent?: RecentLimits }) {
    this.limits = { ...SHADOW_LIMITS, ...deps.limits };
    this.recent = new RecentRequests(deps.recent);
  }

  /** The last replay check of a candidate of `name` (kept after its shadow ends, for the state report). */
  replayOf(name: string): ReplayReport | undefined {
    return this.replays.get(name);
  }

  /** Called when a replay check makes progress (the agent reports its state). */
  onReplay(fn: () => void): void {
    this.replayListener = fn;
  }

  /** The candidate run in shadow for a model, if any. */
  current(name: string): { version: string; sampleRate: number; tolerance: number; threshold?: number } | undefined {
    const sh = this.shadows.get(name);
    return sh ? { version: sh.v.version, sampleRate: sh.sampleRate, tolerance: sh.tolerance, ...(sh.threshold !== undefined ? { threshold: sh.threshold } : {}) } : undefined;
  }

  names(): string[] {
    return [...this.shadows.keys()].sort();
  }

  /** Changes the sample rate and tolerance of the shadow already loaded for `name`. */
  configure(name: string, s: ShadowSettings): void {
    const sh = this.shadows.get(name);
    if (!sh) return;
    sh.sampleRate = s.sampleRate;
    sh.tolerance = s.tolerance ?? DEFAULT_SHADOW_TOLERANCE;
    sh.threshold = s.threshold;
  }

  /** Replays the model's recent requests through its candidate once (a shadow set with `replay`). */
  private startReplay(sh: Shadow, n: number): void {
    const samples = this.recent.take(sh.name, n, sh.v.version);
    this.replays.set(sh.name, { version: sh.v.version, against: [], samples: 0, agree: 0, errors: 0, maxAbsDiff: null, done: samples.length === 0, at: new Date().toISOString() });
    this.replayListener?.();
    if (!samples.length) return;
    const done = replay({
      runtime: this.deps.runtime, name: sh.name, v: sh.v, samples, rule: sh,
      stopped: () => this.stopped || sh.retired,
      track: (p) => { sh.running = p.then(() => undefined, () => undefined); },
      progress: (r) => {
        if (this.shadows.get(sh.name) !== sh) return;
        this.replays.set(sh.name, r);
        if (r.done || r.samples % 10 === 0) this.replayListener?.();
      },
    });
    done.then((r) => this.deps.logger?.info({ model: sh.name, version: sh.v.version, samples: r.samples, agree: r.agree, errors: r.errors }, 'replay check done'),
      (err: unknown) => this.deps.logger?.warn({ model: sh.name, err: (err as Error).message }, 'replay check failed'));
  }

  /**
   * Runs `v` (loaded, never activated) in shadow of model `name`, replacing its previous candidate.
   * Refused (and `v` released) when stopping, with a bad rate, or OVERLOADED when `limits.sessions` other
   * models already have one.
   */
  async set(name: string, v: LoadedVersion, s: ShadowSettings): Promise<void> {
    let refusal: AppError | undefined;
    if (this.stopped) refusal = new AppError('CONFLICT', `the agent is stopping: shadow ${name}@${v.version} not started`);
    else if (!(s.sampleRate > 0 && s.sampleRate <= 1)) refusal = new AppError('INVALID_INPUT', `shadow sample rate ${s.sampleRate}: expected a share in (0, 1]`);
    else if (!this.shadows.has(name) && this.shadows.size >= this.limits.sessions) {
      refusal = new AppError('OVERLOADED', `shadow ${name}@${v.version} not loaded: ${this.shadows.size} shadow sessions are loaded (${this.names().join(', ')}), the limit is ${this.limits.sessions}`);
    }
    if (refusal) {
      await this.deps.runtime.discard(v).catch(() => undefined);
      throw refusal;
    }
    const old = this.shadows.get(name);
    const sh: Shadow = { name, v, sampleRate: s.sampleRate, tolerance: s.tolerance ?? DEFAULT_SHADOW_TOLERANCE, threshold: s.threshold, replay: s.replay, credit: 0, retired: false, running: null };
    this.shadows.set(name, sh);
    if (old) await this.retire(old);
    if (s.replay !== undefined) this.startReplay(sh, s.replay);
  }

  /** Stops running a shadow of `name` and releases its session (after its run in progress). */
  async clear(name: string): Promise<void> {
    const sh = this.shadows.get(name);
    if (!sh) return;
    this.shadows.delete(name);
    await this.retire(sh);
  }

  /** Called by the summaries recorder for every answered request, on the request path: no I/O, no await. */
  offer(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[], window: ShadowTallies): void {
    this.recent.add(model, version, feeds, outputs);
    if (this.shadows.size === 0) return;
    const sh = this.shadows.get(model);
    if (!sh || sh.v.version === version || sh.replay !== undefined) return;
    sh.credit += sh.sampleRate;
    if (sh.credit < 1) return;
    sh.credit -= 1;
    const t = window.shadowTally(sh.v.version);
    const bytes = bytesOf(feeds) + bytesOf(outputs);
    if (this.stopped || this.queue.length >= this.limits.queue || this.queuedBytes + bytes > this.limits.queueBytes) {
      t.dropped++;
      this.stats.dropped++;
      return;
    }
    t.sampled++;
    this.stats.sampled++;
    this.queue.push({ sh, version, feeds, outputs, tally: t, bytes });
    this.queuedBytes += bytes;
    this.schedule();
  }

  /** Samples waiting for a run. */
  get queued(): number {
    return this.queue.length;
  }

  /** Drops the queue, waits (bounded) for the run in progress, releases every candidate session. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    this.queuedBytes = 0;
    const all = [...this.shadows.values()];
    this.shadows.clear();
    await settleWithin(Promise.all(all.map((sh) => this.retire(sh))), this.limits.stopMs, 'releasing shadow sessions', (err) => {
      this.deps.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'stopping: shadow sessions');
    });
  }

  private async retire(sh: Shadow): Promise<void> {
    sh.retired = true;
    if (sh.running) await sh.running;
    await this.deps.runtime.discard(sh.v).catch(() => undefined);
  }

  /** After the current macrotask (the answer is written first), one shadow run at a time. */
  private schedule(): void {
    if (this.scheduled || this.running || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.next();
    });
  }

  private next(): void {
    if (this.running) return;
    let job: Job | undefined;
    while ((job = this.queue.shift()) !== undefined) {
      this.queuedBytes -= job.bytes;
      if (!job.sh.retired) break;
    }
    if (!job) return;
    const sh = job.sh;
    const p = this.run(job).finally(() => {
      sh.running = null;
      this.running = null;
      this.schedule();
    });
    sh.running = p;
    this.running = p;
  }

  private async run(job: Job): Promise<void> {
    const { runtime } = this.deps;
    const t0 = performance.now();
    const wanted = job.outputs.map((o) => o.name);
    try {
      const result = await runtime.runSession(job.sh.v, job.feeds, wanted);
      const ms = performance.now() - t0;
      const current = runtime.manifestFor(job.sh.name, job.version);
      const agreed = current !== undefined && outputsAgree(current, job.outputs, runtime.outputsOf(job.sh.v, result, wanted), job.sh);
      if (job.tally.ran(ms, agreed)) {
        this.stats.runs++;
        if (agreed) this.stats.agree++;
      } else this.stats.late++;
    } catch (err) {
      if (job.tally.failed()) this.stats.errors++;
      else this.stats.late++;
      this.deps.logger?.debug({ model: job.sh.name, version: job.sh.v.version, err: (err as Error).message }, 'shadow run failed');
    }
  }
}
