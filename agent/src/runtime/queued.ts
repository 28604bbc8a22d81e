// A request waiting for a run slot that its caller may take back before it runs: the API does so
// when the client has gone (a closed connection, a cancelled gRPC call; docs/agent.md "Limits").
// A run already started is left to finish: onnxruntime runs cannot be cancelled.
import { Waiter, type Limiter } from './limiter.js';

export interface Queued {
  /**
   * Takes the request out of its model's queue: true when it left it (it will never run, its version pin is
   * dropped, it is not recorded in the summaries, and the promise infer() returned for it never settles:
   * there is no one to answer); false once it holds a run slot (it runs, or ran, and settles as usual).
   */
  withdraw(): boolean;
}

/** What a withdrawn request gives back to the runtime (its version pin). */
export interface Unpinner<V> {
  unpin(v: V): void;
}

/** A request run alone, waiting in the limiter's queue (runtime.ts infer()). */
export class QueuedRun<V> extends Waiter implements Queued {
  constructor(grant: () => void, private readonly limiter: Limiter, private readonly rt: Unpinner<V>, private readonly v: V) {
    super(grant);
  }

  withdraw(): boolean {
    if (!this.limiter.withdraw(this)) return false;
    this.rt.unpin(this.v);
    return true;
  }
}
