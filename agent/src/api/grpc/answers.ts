// Which of our connections a gRPC call is on, and its answer from when it is written until its client
// took it whole, for the write deadline (../write-deadline.ts, docs/agent.md "Limits"), through grpc-js'
// public API only: an interceptor, the call's ConnectionInfo and sendMessage's callback, which grpc-js
// calls once the stream wrote the message out (docs/decisions/0072-grpc-write-deadline-public-api.md).
// A call that matches no connection is served, unwatched, and said once in the log: a grpc-js that
// changes what ConnectionInfo holds does not turn the deadline off without a word.
import type { Socket } from 'node:net';
import { ServerInterceptingCall, type Responder, type ServerInterceptingCallInterface } from '@grpc/grpc-js';
import type { WriteDeadline } from '../write-deadline.js';
import { viaUnixSocket } from '../unix-socket.js';

type Wrote = (bytes: () => number) => () => void;

/** One call's answers as the write deadline watches them (AnswerWatch.forCall). */
export interface CallAnswers {
  written(message: unknown): () => void;
  ended(): void;
}

/** A Unix socket connection has no remote address nor port: it is keyed by a port of ours (none is 0). */
const key = (c: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string => `${c.remoteAddress ?? 'unix'}|${c.remotePort ?? 0}`;

/** A call whose every answer is noted as written, then as taken when grpc-js' write of it completes (its callback). */
export class WatchedCall extends ServerInterceptingCall {
  constructor(next: ServerInterceptingCallInterface, responder: Responder, private readonly written: (message: unknown) => () => void) {
    super(next, responder);
  }

  override sendMessage(message: unknown, callback: () => void): void {
    let taken: (() => void) | undefined;
    let done = false;
    super.sendMessage(message, () => {
      done = true;
      taken?.();
      callback();
    });
    // From here, once grpc-js encoded the message and wrote it to its stream (encoding a large answer
    // takes a while, which is not the client's).
    if (!done) taken = this.written(message);
  }
}

export class AnswerWatch {
  private readonly connections = new Map<string, Wrote>();
  private unixPorts = 0;
  private warned = false;

  /** `sizes`: each answer message's bytes on the wire, noted by the service's serializer. */
  constructor(private readonly deadline: WriteDeadline, private readonly sizes: WeakMap<object, number>) {}

  /** Watches `s`, a connection about to be handed to grpc-js. */
  connection(s: Socket): void {
    // grpc-js copies the socket's remotePort into the call's ConnectionInfo: on a Unix socket, where it is
    // undefined, it carries our number (remoteAddress stays undefined: the token check reads that).
    if (viaUnixSocket(s)) Object.defineProperty(s, 'remotePort', { value: ++this.unixPorts });
    if (s.remotePort === undefined) return; // closed already: no call will come
    const k = key(s);
    this.connections.set(k, this.deadline.grpc(s));
    s.once('close', () => this.connections.delete(k));
  }

  /**
   * The answers of `call`: `written(message)` notes one written and returns what to call once its client
   * took it; `ended()` (the call cancelled, or its connection gone) lets go of what waits. Null when the
   * call is on none of our connections: it is served unwatched, said once in the log. The call gate
   * (./service.ts) wraps its call in a WatchedCall with these, so a call crosses one interceptor, not two.
   */
  forCall(call: ServerInterceptingCallInterface): CallAnswers | null {
    const wrote = this.connections.get(key(call.getConnectionInfo()));
    if (!wrote) {
      this.unmatched();
      return null;
    }
    const waiting = new Set<() => void>();
    return {
      written: (message) => {
        const taken = wrote(() => (typeof message === 'object' && message !== null ? this.sizes.get(message) ?? 0 : 0));
        waiting.add(taken);
        return () => {
          waiting.delete(taken);
          taken();
        };
      },
      ended: () => {
        for (const taken of waiting) taken();
        waiting.clear();
      },
    };
  }

  private unmatched(): void {
    if (this.warned) return;
    this.warned = true;
    this.deadline.log(`a gRPC call matched none of the agent's connections (grpc-js ConnectionInfo changed?): api.writeTimeoutMs does not watch its answers (docs/decisions/0072-grpc-write-deadline-public-api.md)`);
  }
}
