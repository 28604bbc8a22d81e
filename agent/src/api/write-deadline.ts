// The write deadline of the local API (api.writeTimeoutMs, docs/agent.md "Limits"): a connection (REST,
// the Unix socket) or an HTTP/2 session (gRPC) that holds answer bytes its client does not take, with no
// write progress for api.writeTimeoutMs, is closed and what it held is released. Without it a client that
// never reads (or keeps its HTTP/2 flow-control window at 0) kept its answers until it disconnected: the
// gRPC call slot is free once the status is queued, so api.grpc.maxCalls did not bound them. Only bytes
// waiting to be sent count: an idle keep-alive connection (its own timeouts) and a request still running
// (nothing to write yet) are never cut by it; a slow client that keeps taking bytes is never cut.
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

export type Transport = 'rest' | 'grpc';

/** What a watched connection shows the sweep. */
interface Watched {
  transport: Transport;
  /** Answer bytes waiting to be sent (0: nothing to send, the deadline does not run). */
  pending(): number;
  /** A number that changes whenever bytes leave for the kernel. */
  mark(): number;
  close(): void;
  /** When the bytes pending were last seen to move. */
  since?: number | undefined;
  last?: number;
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

  /** `log` gets one line at most every minute, with the closes since the last one. */
  constructor(readonly ms: number, private readonly log: (msg: string) => void = () => undefined, private readonly now: () => number = Date.now) {}

  /** A REST connection: its answer bytes are those node has not handed to the kernel. */
  socket(s: Socket): void {
    this.add({ transport: 'rest', pending: () => s.writableLength, mark: () => taken(s), close: () => cut(s) }, s);
  }

  /**
   * A gRPC HTTP/2 session on socket `s`: its answer bytes are those of its open streams not yet taken by
   * nghttp2 (a stream whose client's window is 0 keeps them) and the frames libuv queues on the socket.
   */
  session(session: ServerHttp2Session, s: Socket): void {
    const streams = new Set<ServerHttp2Stream>();
    session.on('stream', (st: ServerHttp2Stream) => {
      streams.add(st);
      st.once('close', () => streams.delete(st));
    });
    const pending = () => {
      let n = queued(s);
      for (const st of streams) n += st.writableLength;
      return n;
    };
    // ENHANCE_YOUR_CALM in the last GOAWAY (RFC 9113 §7). Not cut(s): a reset under node's HTTP/2 left
    // the socket's handle open for good; the session closes the socket itself.
    this.add({ transport: 'grpc', pending, mark: () => taken(s), close: () => session.destroy(undefined, constants.NGHTTP2_ENHANCE_YOUR_CALM) }, session);
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
    this.timer ??= setInterval(() => this.sweep(), Math.max(10, Math.min(1000, Math.floor(this.ms / 4)))).unref();
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
    for (const w of this.watched) {
      if (w.pending() === 0) {
        w.since = undefined;
        continue;
      }
      const mark = w.mark();
      if (w.since === undefined || mark !== w.last) {
        w.since = now;
        w.last = mark;
      } else if (now - w.since >= this.ms) {
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
