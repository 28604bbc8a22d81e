// The inference runtime: one onnxruntime session per active model version, on the configured
// backend (backend.ts). A switch loads and warms the new session beside the old one, swaps, and
// releases the old one when the requests pinned to it have finished (live-versions.ts), so no
// request fails during a swap. Concurrent requests for one version may share a run (batcher.ts);
// REST, gRPC and batch jobs all come through infer(), so batching sits below every transport.
import { AppError, echoText, preflight, settleWithin, toAppError, type LoadedSample, type OrtTensorLike, type PreflightResult } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { RuntimeOverrides } from '../config.js';
import { openBackend, runBegan, type Backend, type BackendChoice, type BackendLoaders } from './backend.js';
import { Batcher, type BatchStats } from './batcher.js';
import { batchPolicy } from './batching.js';
import { Limiter } from './limiter.js';
import { LiveVersions, type LoadedVersion } from './live-versions.js';
import { QueuedRun, type Queued } from './queued.js';
import { loadSession, runnerFor } from './session.js';
import { noopRecorder, type PredictionRecorder, type RecordedTensor } from './recorder.js';
import { ortFeeds, outputsOfRun } from './tensors.js';

export type { LoadedVersion } from './live-versions.js';

/**
 * stop()'s deadlines, inside the agent's runtime step (agent.ts STOP_MS.runtime): the sessions' releases,
 * then the backend's close. A release the backend does not answer (a wasm worker busy with another
 * session's long run answers nothing until the run ends) is passed, and the close ends the worker and the run.
 */
export const RUNTIME_STOP_MS = { release: 500, close: 300 };

export interface RuntimeOptions {
  overrides?: RuntimeOverrides;
  perModel: number;
  queue: number;
  recorder?: PredictionRecorder;
  onRelease?: (v: LoadedVersion) => void;
  /** Test hook: how backends load (backend.ts). */
  backendLoaders?: BackendLoaders;
}

interface Slot { active: LoadedVersion; limiter: Limiter; batcher: Batcher }

export interface InferResult {
  version: string;
  outputs: RecordedTensor[];
}

/** NOT_FOUND for a request naming a version that is not the active one (the name and version echoed bounded). */
export function noSuchVersion(name: string, version: string, active: string): AppError {
  return new AppError('NOT_FOUND', `model ${echoText(name)} has no version ${echoText(version)} loaded: expected "${active}" (the active version)`);
}

export class ModelRuntime {
  private readonly slots = new Map<string, Slot>();
  /** Every version whose session is alive, active or draining (live-versions.ts). */
  private readonly versions = new LiveVersions((v) => this.slots.get(v.name)?.active === v, (v) => this.opts.onRelease?.(v));
  private recorder: PredictionRecorder;
  private backendP: Promise<Backend> | undefined;
  private backendName: Backend['name'] | undefined;

  constructor(private readonly opts: RuntimeOptions) {
    this.recorder = opts.recorder ?? noopRecorder;
  }

  /** Opens the backend (runtime.backend: native | wasm | auto); load() does it too. MODEL_LOAD_FAILED when none loads. */
  backend(): Promise<Backend> {
    this.backendP ??= openBackend((this.opts.overrides?.backend ?? 'auto') as BackendChoice, this.opts.backendLoaders).then((b) => {
      this.backendName = b.name;
      return b;
    }, (err: unknown) => {
      this.backendP = undefined;
      throw err;
    });
    return this.backendP;
  }

  /** The backend in use, once opened. */
  get backendInUse(): Backend['name'] | undefined {
    return this.backendName;
  }

  setRecorder(r: PredictionRecorder): void {
    this.recorder = r;
  }

  /** Why a model with no session is not served, when that is more than "unknown" (a removed model: MODEL_REMOVED). */
  whyNotServed: ((name: string) => AppError | undefined) | undefined;

  /** The error for a request naming a model that is not served: whyNotServed's, or NOT_FOUND naming what is. */
  notServed(name: string): AppError {
    return this.whyNotServed?.(name) ?? new AppError('NOT_FOUND', `unknown model ${echoText(name)}: expected one of [${this.names().join(', ')}]`);
  }

  /** Loads and warms a version (on its samples, if any) without making it active. */
  async load(manifest: Manifest, model: string | Uint8Array, samples: readonly LoadedSample[] = []): Promise<LoadedVersion> {
    const backend = await this.backend();
    const { session, loadSeconds } = await loadSession(backend, manifest, model, this.opts.overrides, samples);
    return { name: manifest.name, version: manifest.version, manifest, loadSeconds, pins: 0, retired: false, session, backend, batch: batchPolicy(manifest, this.opts.overrides) };
  }

  /** New concurrency limits for every model, loaded and to come (remote configuration, docs/agent.md). */
  setConcurrency(perModel: number, queue: number): void {
    this.opts.perModel = perModel;
    this.opts.queue = queue;
    for (const slot of this.slots.values()) {
      slot.limiter.setLimits(perModel, queue);
      slot.batcher.setQueue(queue);
    }
  }

  /** Makes a loaded version the one new requests get; the old one is released once its pinned requests finish. */
  activate(v: LoadedVersion): void {
    const slot = this.slots.get(v.name);
    this.versions.add(v);
    if (!slot) {
      const limiter = new Limiter(this.opts.perModel, this.opts.queue, v.name);
      this.slots.set(v.name, { active: v, limiter, batcher: new Batcher(this, limiter, this.opts.queue) });
      return;
    }
    const old = slot.active;
    slot.active = v;
    if (old !== v) this.versions.retire(old);
  }

  /**
   * Runs a loaded (not yet active) version's samples and checks their outputs
   * (shared preflight, docs/agent.md); MODEL_PREFLIGHT_FAILED on a difference.
   */
  preflight(v: LoadedVersion, samples: readonly LoadedSample[]): Promise<PreflightResult | undefined> {
    return preflight(runnerFor(v.backend, v.session), v.manifest, samples);
  }

  /** Loads, warms and activates in one step. */
  async switchTo(manifest: Manifest, modelPath: string, samples: readonly LoadedSample[] = []): Promise<LoadedVersion> {
    const v = await this.load(manifest, modelPath, samples);
    this.activate(v);
    return v;
  }

  /** Discards a version that was loaded but never activated. */
  async discard(v: LoadedVersion): Promise<void> {
    await v.session.release();
  }

  names(): string[] {
    return [...this.slots.keys()].sort();
  }

  active(name: string): LoadedVersion | undefined {
    return this.slots.get(name)?.active;
  }

  /** The manifest of a live version (active or still draining). */
  manifestFor(name: string, version: string): Manifest | undefined {
    return this.versions.manifestFor(name, version);
  }

  /** The model's concurrency limiter (tests hold slots with it to make overload deterministic). */
  limiterFor(name: string): Limiter | undefined {
    return this.slots.get(name)?.limiter;
  }

  /** Requests waiting: for a run slot, or in a batch not yet run. */
  queueDepth(name: string): number {
    const slot = this.slots.get(name);
    return slot ? slot.limiter.depth - slot.batcher.waiting + slot.batcher.queued : 0;
  }

  /** Batched runs and the requests they carried, per model (for /metrics). */
  batchStats(name: string): BatchStats | undefined {
    return this.slots.get(name)?.batcher.stats;
  }

  /**
   * Picks the version a request will run on (the active one, or `version` if it
   * is the active one) and pins it; NOT_FOUND otherwise. Pair with infer().
   */
  pin(name: string, version?: string): LoadedVersion {
    const slot = this.slots.get(name);
    if (!slot) throw this.notServed(name);
    if (version !== undefined && slot.active.version !== version) {
      throw noSuchVersion(name, version, slot.active.version);
    }
    slot.active.pins++;
    return slot.active;
  }

  /** Drops a pin taken by pin() when the request never reaches infer(). */
  unpin(v: LoadedVersion): void {
    v.pins--;
    if (v.retired && v.pins === 0) this.versions.release(v);
  }

  recordError(v: LoadedVersion, code: string, latencyMs: number): void {
    this.recorder.recordError(v.name, v.version, code, latencyMs);
  }

  /** Set by infer() to the request it started if that waits for a run slot (withdrawable, queued.ts); read it at once. */
  queued: Queued | undefined = undefined;

  /**
   * Runs validated feeds on a pinned version (queued behind the model's concurrency limit); unpins it.
   * A promise chain rather than an async function: under the limit it goes
   * straight to session.run with no extra microtask hops (issue 3 benchmarks).
   */
  infer(v: LoadedVersion, feeds: RecordedTensor[], wanted?: readonly string[], t0 = performance.now()): Promise<InferResult> {
    this.queued = undefined;
    const slot = this.slots.get(v.name);
    if (!slot) return this.failed(v, new AppError('NOT_FOUND', `model "${v.name}" is no longer loaded`), undefined, t0);
    const limiter = slot.limiter;
    if (v.batch) {
      const joined = slot.batcher.submit(v, v.batch, feeds, wanted, t0);
      if (joined) return joined;
    }
    if (limiter.tryAcquire()) return this.runAcquired(v, limiter, feeds, wanted, t0);
    if (limiter.full) return this.failed(v, limiter.overloaded(), undefined, t0);
    // Only a request that has to wait gets a place it can withdraw from (queued.ts).
    let grant!: () => void;
    const granted = new Promise<void>((resolve) => (grant = resolve));
    limiter.enqueue(this.queued = new QueuedRun(grant, limiter, this, v));
    return granted.then(() => this.runAcquired(v, limiter, feeds, wanted, t0));
  }

  /** Starts a session run (no slot, pin or recording): INFERENCE_FAILED when onnxruntime throws at once. */
  runSession(v: LoadedVersion, feeds: readonly RecordedTensor[], wanted: readonly string[] | undefined): Promise<Record<string, OrtTensorLike>> {
    const input = ortFeeds(v.backend.tensor, feeds);
    try {
      return wanted ? v.session.run(input, wanted) : v.session.run(input);
    } catch (err) {
      throw this.runError(v, err);
    }
  }

  /** The manifest's outputs (those asked for) of a run, as OIP tensors. */
  outputsOf(v: LoadedVersion, result: Record<string, OrtTensorLike>, wanted: readonly string[] | undefined): RecordedTensor[] {
    return outputsOfRun(v.manifest.io.outputs, result, wanted);
  }

  /** A request's success: recorded, unpinned (the caller frees the slot). Throws what the recorder throws. `runStart`: when its run began. */
  succeeded(v: LoadedVersion, feeds: readonly RecordedTensor[], outputs: RecordedTensor[], t0: number, runStart: number): InferResult {
    this.recorder.record(v.name, v.version, feeds, outputs, performance.now() - t0, runStart - t0);
    this.unpin(v);
    return { version: v.version, outputs };
  }

  private runAcquired(v: LoadedVersion, limiter: Limiter, feeds: RecordedTensor[], wanted: readonly string[] | undefined, t0: number): Promise<InferResult> {
    const runStart = performance.now();
    let run: Promise<Record<string, OrtTensorLike>>;
    try {
      run = this.runSession(v, feeds, wanted);
    } catch (err) {
      return this.failed(v, err, limiter, t0);
    }
    return run.then((result) => {
      let outputs: RecordedTensor[];
      try {
        outputs = this.outputsOf(v, result, wanted);
        this.recorder.record(v.name, v.version, feeds, outputs, performance.now() - t0, runBegan(result, runStart) - t0);
      } catch (err) {
        return this.failed(v, err, limiter, t0);
      }
      limiter.release();
      this.unpin(v);
      return { version: v.version, outputs };
    }, (err: unknown) => this.failed(v, this.runError(v, err), limiter, t0));
  }

  runError(v: LoadedVersion, err: unknown): AppError {
    return new AppError('INFERENCE_FAILED', `model "${v.name}" version "${v.version}" failed to run on the ${v.backend.name} backend: ${(err as Error).message}`, { cause: err });
  }

  /** The failure path of infer(): records the error, frees the slot (if taken) and the pin, rejects. */
  failed(v: LoadedVersion, err: unknown, limiter: Limiter | undefined, t0: number): Promise<never> {
    this.recorder.recordError(v.name, v.version, toAppError(err).code, performance.now() - t0);
    limiter?.release();
    this.unpin(v);
    return Promise.reject(err as Error);
  }

  /** Stops serving a model name altogether (e.g. after its last version is removed). */
  unload(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    this.slots.delete(name);
    this.versions.retire(slot.active);
  }

  /**
   * Releases every session not pinned by a request under way, then closes the backend, each within its
   * deadline (RUNTIME_STOP_MS): a release or a close that does not end is passed to `warn` and the stop
   * goes on, so the caller's next steps (the summary window, the store) are done. Idempotent.
   */
  async stop(warn: (err: unknown) => void = () => undefined): Promise<void> {
    for (const name of [...this.slots.keys()]) this.unload(name);
    await settleWithin(this.versions.drain(), RUNTIME_STOP_MS.release, 'releasing the model sessions', warn);
    const opened = this.backendP;
    this.backendP = undefined;
    await settleWithin(opened?.then((b) => b.close?.(), () => undefined), RUNTIME_STOP_MS.close, 'closing the onnxruntime backend', warn);
  }
}
