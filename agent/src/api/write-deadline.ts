// The write deadline of the local API (api.writeTimeoutMs, docs/agent.md "Limits"): a connection (REST,
// the Unix socket) that holds answer bytes its client does not take, with no write progress for
// api.writeTimeoutMs, or a gRPC connection holding an answer its client has not taken whole that long, is
// closed and what it held is released. Without it a client that never reads (or keeps its HTTP/2
// flow-control window at 0) kept its answers until it disconnected: the gRPC call slot is free once the
// status is queued, so api.grpc.maxCalls did not bound them. Only bytes waiting to be sent count: an idle
// keep-alive connection (its own timeouts) and a request still running (nothing to write yet) are never
// cut by it; a slow REST client that keeps taking bytes is never cut.
import type { Socket } from 'node:net';

export type Transport = 'rest' | 'grpc';

/** What a watched connection shows the sweep. */
interface Watched {
  transport: Transport;
  /** Answer bytes waiting to be sent (0: nothing to send, the deadline does not run). */
  pending(): number;
  /** When what waits last moved (undefined: nothing waits); `now` is the sweep's time. */
  stuckSince(now: number): number | undefined;
  close(): void;
}

/** libuv's queue of bytes written to the socket and not yet taken by the kernel (live, node's StreamBase). */
function queued(s: Socket): number {
  return (s as unknown as { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize ?? 0;
}

/** Bytes the kernel took: every byte written (queued ones included, node's bytesWritten) but libuv's queue. */
const taken = (s: Socket): number => s.bytesWritten - queued(s);

const LOG_EVERY_MS = 60_000;

/**
 * Closes with a reset when it can (TCP): the kernel drops the bytes it still held for the client at once,
 * where a FIN would wait behind them; a Unix socket has no reset and is just destroyed.
 */
function cut(s: Socket): void {
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export class WriteDeadline {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private readonly closed: Record<Transport, number> = { rest: 0, grpc: 0 };
  private unlogged = 0;
  private loggedAt = -Infinity;
  /** How often the sweep runs: a quarter of the deadline, at most 1 s. */
  private readonly every: number;
  private lastSweep: number | undefined;
  /** The last sweep came late and closed nothing (sweep()). */
  private spared = false;

  /** `log` gets one line at most every minute, with the closes since the last one. */
  constructor(readonly ms: number, readonly log: (msg: string) => void = () => undefined, private readonly now: () => number = Date.now) {
    this.every = Math.max(10, Math.min(1000, Math.floor(ms / 4)));
  }

  /** A REST connection: its answer bytes are those node has not handed to the kernel; they move when the kernel takes some. */
  socket(s: Socket): void {
    let since: number | undefined;
    let last = 0;
    const stuckSince = (now: number) => {
      if (s.writableLength === 0) return (since = undefined);
      const mark = taken(s);
      if (since === undefined || mark !== last) {
        since = now;
        last = mark;
      }
      return since;
    };
    this.add({ transport: 'rest', pending: () => s.writableLength, stuckSince, close: () => cut(s) }, s);
  }

  /**
   * A gRPC connection on socket `s`. HTTP/2 carries many answers on it, and PING acks and the answers of
   * other calls move its bytes while one answer waits untaken, so its progress is per answer: each must be
   * taken whole within the deadline of being written. Returns `wrote(bytes)`, called when an answer is
   * written, which returns the function to call once its client took it (or its call ended).
   */
  grpc(s: Socket): (bytes: () => number) => () => void {
    const waiting = new Set<{ since: number; bytes: () => number }>();
    const pending = () => {
      let n = 0;
      for (const a of waiting) n += a.bytes();
      return n;
    };
    const stuckSince = () => {
      let oldest: number | undefined;
      for (const a of waiting) oldest = Math.min(oldest ?? a.since, a.since);
      return oldest;
    };
    // Not cut(s): a reset under node's HTTP/2 left the socket's handle open for good; once the socket
    // closes, node destroys its session and streams, which releases their answers.
    this.add({ transport: 'grpc', pending, stuckSince, close: () => s.destroy() }, s);
    return (bytes) => {
      const answer = { since: this.now(), bytes };
      waiting.add(answer);
      return () => waiting.delete(answer);
    };
  }

  /** Answer bytes waiting for their clients now, over every watched connection. */
  pendingBytes(): number {
    let n = 0;
    for (const w of this.watched) n += w.pending();
    return n;
  }

  /** What waits now and the connections closed by the deadline since start (Prometheus text format 0.0.4). */
  metrics(): string {
    return [
      '# HELP edgefleet_agent_answer_bytes_pending Local API answer bytes written and not yet taken by their clients (REST and gRPC).',
      '# TYPE edgefleet_agent_answer_bytes_pending gauge',
      `edgefleet_agent_answer_bytes_pending ${this.pendingBytes()}`,
      '# HELP edgefleet_agent_write_timeouts_total Local API connections closed because answer bytes waited api.writeTimeoutMs without progress.',
      '# TYPE edgefleet_agent_write_timeouts_total counter',
      `edgefleet_agent_write_timeouts_total{transport="rest"} ${this.closed.rest}`,
      `edgefleet_agent_write_timeouts_total{transport="grpc"} ${this.closed.grpc}`,
      '',
    ].join('\n');
  }

  private add(w: Watched, closes: { once(event: 'close', fn: () => void): unknown }): void {
    this.watched.add(w);
    closes.once('close', () => this.drop(w));
    // One sweep for every connection, a quarter of the deadline apart (at most 1 s): a stalled one is
    // closed between 1 and 1.25 deadlines after its bytes last moved.
    if (this.timer) return;
    this.lastSweep = undefined;
    this.timer = setInterval(() => this.sweep(), this.every).unref();
  }

  private drop(w: Watched): void {
    this.watched.delete(w);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    const now = this.now();
    // A sweep that comes late (the event loop was held: a long collection, a loaded machine) runs before the I/O
    // that waited with it, so a client reading steadily looked stuck and was cut. A late one closes nothing; the
    // next, once that I/O has run, judges. Not twice in a row: a loop held for good still closes stalled ones.
    const late = this.lastSweep !== undefined && now - this.lastSweep > 2 * this.every;
    this.lastSweep = now;
    this.spared = late && !this.spared;
    for (const w of this.watched) {
      const since = w.stuckSince(now);
      if (!this.spared && since !== undefined && now - since >= this.ms) {
        this.drop(w);
        w.close();
        this.stalled(w.transport);
      }
    }
  }

  private stalled(transport: Transport): void {
    this.closed[transport]++;
    this.unlogged++;
    const now = this.now();
    if (now - this.loggedAt < LOG_EVERY_MS) return;
    this.loggedAt = now;
    this.log(`closed ${this.unlogged} local API connection(s) whose client took no answer bytes for ${this.ms} ms (api.writeTimeoutMs; ${this.closed.rest} REST, ${this.closed.grpc} gRPC since start)`);
    this.unlogged = 0;
  }
}
