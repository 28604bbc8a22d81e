// The dynamic batcher of one model (docs/decisions/0018-dynamic-batching.md, 0044): requests for
// a version gather in an open batch until the end of the event loop's turn and while they wait
// for a run slot (auto), or for up to the max queue delay (on); the batch runs once as one
// session run and each member gets its own rows of the outputs. If the batched run fails, every
// member runs alone on the slot the batch holds, so one request's bad values fail only that
// request. Each member is recorded, counted and unpinned on its own, exactly as a request run
// alone (summaries, metrics, policy stay per request).
// A batch runs on the version its members pinned: a swap never splits or moves one.
// A member of a batch still waiting for a run slot may be withdrawn (its client has gone, queued.ts):
// it leaves the batch, and a batch left empty leaves the limiter's queue.
import { AppError, toAppError } from '@edgefleet/shared/core';
import { runBegan } from './backend.js';
import { batchKey, concatFeeds, splitOutputs, type BatchPolicy } from './batching.js';
import { Waiter, type Limiter } from './limiter.js';
import type { Queued } from './queued.js';
import type { RecordedTensor } from './recorder.js';
import type { InferResult, LoadedVersion, ModelRuntime } from './runtime.js';

class Member implements Queued {
  constructor(
    private readonly batcher: Batcher, readonly batch: Batch, readonly feeds: readonly RecordedTensor[], readonly wanted: readonly string[] | undefined,
    readonly rows: number, readonly t0: number, readonly resolve: (r: InferResult) => void, readonly reject: (err: unknown) => void,
  ) {}

  withdraw(): boolean {
    return this.batcher.withdraw(this);
  }
}

interface Batch {
  v: LoadedVersion;
  key: string;
  rows: number;
  members: Member[];
  /** It holds a run slot and waits for the delay (mode on) to end. */
  hasSlot: boolean;
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  dispatched: boolean;
  /** Its place in the limiter's queue while it waits for a slot. */
  waiter: Waiter | undefined;
}

export interface BatchStats {
  /** Session runs of two or more requests. */
  runs: number;
  /** Requests those runs carried. */
  requests: number;
  /** Requests run alone again after their batch's run failed. */
  retried: number;
}

export class Batcher {
  /** Requests in batches waiting for a run slot. */
  queued = 0;
  /** Batches among the limiter's waiters. */
  waiting = 0;
  readonly stats: BatchStats = { runs: 0, requests: 0, retried: 0 };
  private readonly open = new Map<LoadedVersion, Batch>();

  constructor(private readonly rt: ModelRuntime, private readonly limiter: Limiter, private queue: number) {}

  /** A new queue bound (remote configuration), for requests arriving from now on. */
  setQueue(queue: number): void {
    this.queue = queue;
  }

  /** The request's result when it joins or opens a batch; undefined when it should run alone now. */
  submit(v: LoadedVersion, p: BatchPolicy, feeds: readonly RecordedTensor[], wanted: readonly string[] | undefined, t0: number): Promise<InferResult> | undefined {
    const k = batchKey(feeds, wanted, p.maxBatchSize);
    if (!k) return undefined;
    const open = this.open.get(v);
    const joins = open !== undefined && open.key === k.key && open.rows + k.rows <= p.maxBatchSize;
    // auto: requests share a batch that leaves at the end of this turn of the event loop, or when a
    // run slot frees, whichever is later, also when nothing runs: onnxruntime-node runs sessions on
    // this thread, so a burst's first request running alone only delays the rest of the burst read
    // in the same turn (docs/decisions/0044-batch-the-whole-turn.md).
    // Bounded as without batching: at most `concurrency.queue` requests wait for a run slot.
    if ((joins ? !open.hasSlot : !this.limiter.free) && this.queued >= this.queue) {
      return this.rt.failed(v, new AppError('OVERLOADED', `model "${v.name}" is overloaded: ${this.queued} requests waiting for a run (queue ${this.queue}); retry later`), undefined, t0);
    }
    if (joins) {
      const r = this.join(open, feeds, wanted, k.rows, t0);
      if (open.rows === p.maxBatchSize) {
        this.open.delete(v);
        if (open.hasSlot) this.dispatch(open);
      }
      return r;
    }
    const hasSlot = this.limiter.tryAcquire();
    if (!hasSlot && this.limiter.full) return this.rt.failed(v, this.limiter.overloaded(), undefined, t0);
    const b: Batch = { v, key: k.key, rows: 0, members: [], hasSlot, timer: undefined, dispatched: false, waiter: undefined };
    const r = this.join(b, feeds, wanted, k.rows, t0);
    this.open.set(v, b);
    if (!hasSlot) {
      this.waiting++;
      // Dispatched in a microtask once granted, as a resolved promise's reaction would be.
      const run = () => {
        this.waiting--;
        this.dispatch(b);
      };
      this.limiter.enqueue(b.waiter = new Waiter(() => queueMicrotask(run)));
    } else {
      // Timers resolve to about 1 ms in Node; 0 still gathers what arrives in this turn of the event loop.
      const us = p.mode === 'auto' ? 0 : p.maxQueueDelayUs;
      b.timer = us === 0 ? setImmediate(() => this.dispatch(b)) : setTimeout(() => this.dispatch(b), us / 1000);
    }
    return r;
  }

  private join(b: Batch, feeds: readonly RecordedTensor[], wanted: readonly string[] | undefined, rows: number, t0: number): Promise<InferResult> {
    if (!b.hasSlot) this.queued++;
    b.rows += rows;
    return new Promise<InferResult>((resolve, reject) => {
      const m = new Member(this, b, feeds, wanted, rows, t0, resolve, reject);
      b.members.push(m);
      if (!b.hasSlot) this.rt.queued = m; // it waits for a run slot: its caller may withdraw it
    });
  }

  /** Takes a member out of its batch while the batch waits for a run slot (Member.withdraw); false once it has one. */
  withdraw(m: Member): boolean {
    const b = m.batch;
    if (b.hasSlot || b.dispatched) return false;
    const i = b.members.indexOf(m); // at most maxBatchSize members
    if (i < 0) return false;
    b.members.splice(i, 1);
    b.rows -= m.rows;
    this.queued--;
    if (b.members.length === 0) {
      if (this.open.get(b.v) === b) this.open.delete(b.v);
      if (b.waiter !== undefined && this.limiter.withdraw(b.waiter)) {
        this.waiting--;
        b.dispatched = true; // never runs
      }
    }
    this.rt.unpin(b.v);
    return true;
  }

  /** Runs a batch on the slot it holds. */
  private dispatch(b: Batch): void {
    if (b.dispatched) return;
    b.dispatched = true;
    if (b.timer) {
      clearTimeout(b.timer as NodeJS.Timeout);
      clearImmediate(b.timer as NodeJS.Immediate);
    }
    if (this.open.get(b.v) === b) this.open.delete(b.v);
    const { v, members } = b;
    if (!b.hasSlot) this.queued -= members.length;
    if (members.length <= 1) return this.runEach(v, members); // none: every member was withdrawn after the slot came
    this.stats.runs++;
    this.stats.requests += members.length;
    const wanted = members[0]!.wanted;
    let run;
    const runStart = performance.now();
    try {
      run = this.rt.runSession(v, concatFeeds(members, b.rows), wanted);
    } catch {
      return this.retry(v, members);
    }
    run.then((result) => {
      let parts: RecordedTensor[][] | undefined;
      try {
        parts = splitOutputs(this.rt.outputsOf(v, result, wanted), members.map((m) => m.rows), b.rows);
      } catch {
        parts = undefined;
      }
      if (!parts) {
        // The model does not keep rows apart along its first dimension: stop batching it.
        v.batch = undefined;
        return this.retry(v, members);
      }
      const began = runBegan(result, runStart);
      for (let i = 0; i < members.length; i++) this.ok(v, members[i]!, parts[i]!, began);
      this.limiter.release();
    }, () => this.retry(v, members));
  }

  private retry(v: LoadedVersion, members: Member[]): void {
    this.stats.retried += members.length;
    this.runEach(v, members);
  }

  /** Each member alone (one after another: the batch holds one slot), then the slot is freed. */
  private runEach(v: LoadedVersion, members: Member[]): void {
    const next = (i: number): void => {
      const m = members[i];
      if (!m) return this.limiter.release();
      let run;
      const runStart = performance.now();
      try {
        run = this.rt.runSession(v, m.feeds, m.wanted);
      } catch (err) {
        this.err(v, m, err);
        return next(i + 1);
      }
      run.then((result) => {
        let outputs: RecordedTensor[] | undefined;
        try {
          outputs = this.rt.outputsOf(v, result, m.wanted);
        } catch (err) {
          this.err(v, m, err);
        }
        if (outputs) this.ok(v, m, outputs, runBegan(result, runStart));
        next(i + 1);
      }, (err: unknown) => {
        this.err(v, m, this.rt.runError(v, err));
        next(i + 1);
      });
    };
    next(0);
  }

  private ok(v: LoadedVersion, m: Member, outputs: RecordedTensor[], runStart: number): void {
    let r: InferResult;
    try {
      r = this.rt.succeeded(v, m.feeds, outputs, m.t0, runStart);
    } catch (err) {
      return this.err(v, m, err);
    }
    m.resolve(r);
  }

  private err(v: LoadedVersion, m: Member, err: unknown): void {
    this.rt.recordError(v, toAppError(err).code, performance.now() - m.t0);
    this.rt.unpin(v);
    m.reject(err);
  }
}
