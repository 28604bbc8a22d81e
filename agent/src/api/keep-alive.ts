// Keep-alive connections of the REST API while it stops (docs/agent.md "Stopping"). A connection is idle
// between an answer and its client's next request; closing it then cuts that request as it is sent
// (ECONNRESET or EPIPE, no answer), and the app cannot tell whether it ran. node's closeIdleConnections(),
// called every 50 ms of the grace, did that to every client calling in a loop (stop-keepalive.test.ts).
// So once the stop begins, every answer not yet started says `Connection: close` (its client then finds
// the listener gone: refused, never sent), and a connection is closed for being idle only once it has been
// idle for STOP_IDLE_MS, past the time a client in a loop takes to send its next request.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection must have been idle before the stop closes it ahead of the grace's end. */
export const STOP_IDLE_MS = 250;

interface Conn {
  /** Requests received and not yet answered (HTTP/1.1 may pipeline several). */
  open: number;
  idleSince: number;
}

export class KeepAliveConnections {
  private readonly conns = new Map<Socket, Conn>();
  private readonly answers = new Set<ServerResponse>();
  private stopping = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Watches `server`'s connections (those emitted as 'connection', the Unix socket's included). */
  attach(server: Server): void {
    server.on('connection', (s: Socket) => {
      this.conns.set(s, { open: 0, idleSince: this.now() });
      s.once('close', () => this.conns.delete(s));
    });
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.request(req, res));
  }

  /** A request reached the handler ('request', or 'checkContinue', which node emits instead). */
  request(req: IncomingMessage, res: ServerResponse): void {
    const c = this.conns.get(req.socket);
    if (c) c.open++;
    this.answers.add(res);
    if (this.stopping) res.setHeader('connection', 'close');
    res.once('close', () => {
      this.answers.delete(res);
      if (c && --c.open === 0) c.idleSince = this.now();
    });
  }

  /** The stop began: answers not yet started close their connection. */
  stop(): void {
    this.stopping = true;
    for (const res of this.answers) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /** Closes the connections idle for STOP_IDLE_MS; returns how many are left open. */
  closeIdle(): number {
    const now = this.now();
    for (const [s, c] of this.conns) {
      if (c.open === 0 && now - c.idleSince >= STOP_IDLE_MS) {
        s.destroy();
        this.conns.delete(s);
      }
    }
    return this.conns.size;
  }
}
