// What REST (handler.ts) and gRPC (grpc/service.ts) share of an inference
// request, so both give the same answers, errors, summaries and metrics: the
// checks that refuse a request before its body is read, validation against the
// manifest (validate.ts), the parsed tensors' place in the request budget (budget.ts),
// Runtime.infer, and the per-version metric series.
// Callbacks and plain returns rather than extra promise hops: this is the hot
// path (docs/performance.md). A request that waits in its model's queue can be
// abandoned by its transport when the client goes (abandon()).
import { AppError, toAppError } from '@edgefleet/shared/core';
import { noSuchVersion, type InferResult, type LoadedVersion, type ModelRuntime } from '../runtime/runtime.js';
import type { ApiMetrics, MetricSeries } from './metrics.js';
import { validateInferRequest } from './validate.js';
import type { PredictionMemory } from '../feedback/memory.js';
import { taskPlan, type TaskPlan } from '../feedback/task.js';
import { tensorBytes, type RequestBudget } from './budget.js';
import type { Queued } from '../runtime/queued.js';
import type { WaitingRequests } from './waiting.js';

/** What the hot path needs of a version, built once: its metric series and (for REST) JSON text pieces. */
export interface Hot {
  series: MetricSeries;
  /** `{"model_name":...,"model_version":...` (REST). */
  prefix: string;
  /** Output name -> the start of its JSON text (REST). */
  heads: Map<string, string>;
  /** The manifest's task (predictions with an id are remembered for labels), or null. */
  task: TaskPlan | null;
}

export interface InferStarted {
  v: LoadedVersion;
  hot: Hot;
  id: string | undefined;
  /**
   * Resolves with the outputs; rejects with the runtime's error (already recorded in summaries, not yet in
   * metrics). The transport calls settled() first when it does, so the tensors leave the budget. Never
   * settles once the request was abandoned (abandon()).
   */
  result: Promise<InferResult>;
  /**
   * Set when the request waits for a run slot: the transport then watches its client (only then, to keep
   * the answer-at-once path free of listeners) and calls abandon() when it goes.
   */
  queued: Queued | undefined;
  /** Bytes of its tensors held in the request budget, until settled() (0 after). */
  bytes: number;
}

export interface InferCoreDeps {
  runtime: ModelRuntime;
  metrics: ApiMetrics;
  allowNonFinite: boolean;
  /** Request bytes held, shared by every transport: the parsed tensors are reserved in it until the request settles. */
  budget: RequestBudget;
  feedback?: PredictionMemory | undefined;
  /** Requests waiting for a run slot over every transport, shed when the stop's grace ends (waiting.ts). */
  waiting?: WaitingRequests | undefined;
}

export class InferCore {
  private readonly hot = new WeakMap<LoadedVersion, Hot>();

  constructor(private readonly deps: InferCoreDeps) {}

  get runtime(): ModelRuntime {
    return this.deps.runtime;
  }

  hotFor(v: LoadedVersion): Hot {
    let h = this.hot.get(v);
    if (!h) {
      h = { series: this.deps.metrics.series(v.name, v.version), prefix: `{"model_name":${JSON.stringify(v.name)},"model_version":${JSON.stringify(v.version)}`, heads: new Map(), task: taskPlan(v.manifest) };
      this.hot.set(v, h);
    }
    return h;
  }

  /** NOT_FOUND, or MODEL_REMOVED for a model the hub removed (the runtime says which). */
  unknownModel(name: string): AppError {
    return this.deps.runtime.notServed(name);
  }

  /**
   * Refuses, before a byte of the body is read, a request for an unknown model
   * or one whose queue is full (counted as runtime.infer() counts an overload,
   * so metrics and summaries see it the same).
   */
  admit(name: string, t0: number): void {
    const runtime = this.deps.runtime;
    const limiter = runtime.limiterFor(name);
    if (limiter === undefined) throw this.unknownModel(name);
    if (limiter.full) {
      const v = runtime.active(name);
      if (v) {
        const ms = performance.now() - t0;
        runtime.recordError(v, 'OVERLOADED', ms);
        this.hotFor(v).series.error('OVERLOADED', ms / 1000);
      }
      throw limiter.overloaded();
    }
  }

  /**
   * Counts a request for a served model that was refused before validation (its media type, encoding or
   * size, the request budget, a body that is not JSON) as start() counts an invalid one, so an app sending
   * bad requests shows in `requests_total{outcome}` and in the summaries whatever it got wrong. A request
   * for a version that is not the active one, or for a model not served, has no series to count in.
   */
  refused(name: string, version: string | undefined, err: unknown, t0: number): void {
    const v = this.deps.runtime.active(name);
    if (v === undefined || (version !== undefined && version !== v.version)) return;
    const code = toAppError(err).code;
    const ms = performance.now() - t0;
    this.deps.runtime.recordError(v, code, ms);
    this.hotFor(v).series.error(code, ms / 1000);
  }

  /**
   * Pins the version, lets the transport attach raw tensor bytes (`prepare`), validates the parsed request
   * against its manifest, reserves its tensors in the request budget (a refusal is recorded and thrown
   * here, synchronously) and starts the run. Every transport comes through here, so the reservation
   * covers REST (JSON and binary), the Unix socket and gRPC alike; it is released when the run settles,
   * or at once when the request is abandoned while it waits for a run slot (abandon()).
   */
  start(name: string, version: string | undefined, body: unknown, t0: number, prepare?: (body: unknown) => void): InferStarted {
    const { runtime, budget } = this.deps;
    const v = runtime.pin(name, version);
    const hot = this.hotFor(v);
    let request;
    let held = 0;
    try {
      prepare?.(body);
      request = validateInferRequest(body, v.manifest.io, { allowNonFinite: this.deps.allowNonFinite, nonFiniteSetting: 'allowNonFinite' });
      const n = tensorBytes(request.inputs);
      budget.holdTensors(n);
      held = n;
    } catch (err) {
      const e = toAppError(err);
      const ms = performance.now() - t0;
      runtime.recordError(v, e.code, ms);
      runtime.unpin(v);
      hot.series.error(e.code, ms / 1000);
      throw e;
    }
    let result: Promise<InferResult>;
    try {
      result = runtime.infer(v, request.inputs, request.outputs, t0);
    } catch (err) {
      budget.releaseTensors(held);
      throw err;
    }
    const queued = runtime.queued;
    if (queued !== undefined) runtime.queued = undefined; // the runtime keeps no reference to it
    const memory = this.deps.feedback;
    const id = request.id;
    const task = hot.task;
    // Only requests with an id (the app's key for its labels) are remembered: id-less traffic keeps its path.
    if (memory !== undefined && id !== undefined && task !== null) {
      result = result.then((r) => {
        memory.remember(id, v.name, v.version, task, r.outputs);
        return r;
      });
    }
    return { v, hot, id, result, queued, bytes: held };
  }

  /**
   * The client of a started request has gone (a closed connection, a cancelled call). One still waiting
   * for a run slot leaves its model's queue without running, its tensors leave the budget at once, and it
   * is counted (edgefleet_agent_requests_abandoned_total; not in the summaries: the model did nothing);
   * its result never settles. One already running is left to finish (onnxruntime runs cannot be cancelled).
   * True when it left its queue.
   */
  abandon(s: InferStarted): boolean {
    const q = s.queued;
    if (q === undefined) return false;
    s.queued = undefined;
    if (!q.withdraw()) return false;
    this.settled(s);
    s.hot.series.abandoned();
    return true;
  }

  /**
   * A request that waits for a run slot (s.queued set): if the stop's grace ends before it runs, it leaves
   * its queue unrun (counted as abandoned: the model did nothing) and `answer` replies with the stop's
   * NOT_READY (waiting.ts).
   */
  whileWaiting(s: InferStarted, answer: (err: AppError) => void): void {
    this.deps.waiting?.add(s, (err) => {
      if (!this.abandon(s)) return false;
      answer(err);
      return true;
    });
  }

  /**
   * The request's run settled (or it was abandoned): its tensors leave the budget. The transports call it
   * first in their answer's callbacks, rather than a promise reaction of its own on every request (the hot
   * path); a second call does nothing.
   */
  settled(s: InferStarted): void {
    this.deps.waiting?.delete(s);
    if (s.bytes === 0) return;
    this.deps.budget.releaseTensors(s.bytes);
    s.bytes = 0;
  }

  /** The active version for metadata and readiness, NOT_FOUND naming what is loaded otherwise. */
  version(name: string, version: string | undefined): LoadedVersion {
    const v = this.deps.runtime.active(name);
    if (!v) throw this.unknownModel(name);
    if (version !== undefined && v.version !== version) {
      throw noSuchVersion(name, version, v.version);
    }
    return v;
  }
}

/** OIP model metadata (REST body; gRPC ModelMetadataResponse has the same fields). */
export function modelMetadata(v: LoadedVersion) {
  const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name: v.name,
    versions: [v.version],
    platform: 'onnx_onnxv1',
    inputs: v.manifest.io.inputs.map(tensor),
    outputs: v.manifest.io.outputs.map(tensor),
  };
}
