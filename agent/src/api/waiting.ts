// The requests waiting for a run slot, over every transport (REST, the Unix socket, gRPC), and how
// each is answered if the stop sheds it: when api.stopGraceMs ends (server.ts, grpc/server.ts), a
// request that has not begun its run never will; it leaves its model's queue unrun and is answered
// NOT_READY (503, gRPC UNAVAILABLE) saying so, before the connections are closed, instead of a cut
// connection, or CANCELLED as if its client had cancelled it (docs/agent.md "Stopping").
import { AppError } from '@edgefleet/shared/core';

/** How long shed answers get to be written before the connections are closed. */
export const SHED_FLUSH_MS = 100;

export class WaitingRequests {
  /** Each waiting request (by its InferStarted) and its shed: true when it left its queue unrun and was answered. */
  private readonly sheds = new Map<object, (err: AppError) => boolean>();

  constructor(private readonly stopGraceMs: number) {}

  add(key: object, shed: (err: AppError) => boolean): void {
    this.sheds.set(key, shed);
  }

  /** The request settled or left its queue: no longer shed (the hot path: no work while nothing waits). */
  delete(key: object): void {
    if (this.sheds.size !== 0) this.sheds.delete(key);
  }

  /** Answers every request still waiting for a run slot NOT_READY; one already running is left to finish. */
  shed(): number {
    const err = new AppError('NOT_READY', `the agent is stopping and its grace (api.stopGraceMs, ${this.stopGraceMs} ms) ended while this request waited for a run slot: it did not run; send it again once the agent is back`);
    let n = 0;
    for (const [key, shed] of [...this.sheds]) {
      this.sheds.delete(key);
      if (shed(err)) n++;
    }
    return n;
  }
}
