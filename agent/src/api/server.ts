// Binds the API handler to a host and port with every per-client resource
// bounded (docs/security.md): open connections, time to send headers, time to
// send the whole request, keep-alive idle time, time an answer may wait unread (./write-deadline.ts). stop() stops accepting, lets
// in-flight requests finish for a grace period, then closes every connection,
// so a client that drip-feeds a body cannot hold the process.
import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { echoText } from '@edgefleet/shared/core';
import { UnixListener, viaUnixSocket } from './unix-socket.js';
import { ConnectionCaps, type ConnectionCap, WAITING_CONNECTIONS } from './connection-cap.js';
import { rawErrorReply, send, sendError } from './reply.js';
import { listenTcp } from './guards.js';
import { WriteDeadline } from './write-deadline.js';
import { SHED_FLUSH_MS, type WaitingRequests } from './waiting.js';
import { KeepAliveConnections } from './keep-alive.js';
import { endLingering } from './grpc/first-bytes.js';
import { http2Refusal, http2RefusalText } from './http2-refusal.js';
import { inFlight, refuseAfterInFlight } from './malformed.js';

const netClose = NetServer.prototype.close;

export interface ApiServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** A connection whose answer bytes make no progress for this long is closed (./write-deadline.ts). */
  writeTimeoutMs: number;
  /** On stop, time for in-flight requests before every connection is closed. */
  stopGraceMs: number;
  /** Also listen on this Unix socket (mode 0660), same handler and limits. */
  socket?: string | undefined;
  /** Group owning the socket (name or gid). */
  socketGroup?: string | undefined;
}

/**
 * An error reply written straight to the socket (the request never reached the handler), then the
 * connection is closed on our side: end() alone leaves it half open until the client closes its side,
 * so a client that never reads (or never closes) would keep its api.maxConnections slot for good.
 */
function rawError(socket: Socket, status: number, code: string, message: string): void {
  socket.end(rawErrorReply(status, code, message), () => socket.destroy());
}

/** What node's parser refused, in its words (`reason`) with its code (docs/agent.md "Local API"). */
function malformed(err: NodeJS.ErrnoException & { reason?: string }): string {
  return `malformed HTTP request (${err.reason ?? err.message}, ${err.code ?? 'no code'}): expected HTTP/1.1`;
}

export class ApiServer {
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;
  private unix: UnixListener | undefined;
  /** Connections accepted on the Unix socket: handed to `server`, but not in its count that close() waits for. */
  private readonly unixConns = new Set<Socket>();
  /** Which connections are idle, and since when: the stop closes those idle a while (./keep-alive.ts). */
  private readonly keepAlive = new KeepAliveConnections();
  private tcpCap: ConnectionCap | undefined;
  private unixCap: ConnectionCap | undefined;
  /** Connections the caps refused: each request on one is answered 503 OVERLOADED. */
  private readonly refused = new WeakSet<Socket>();
  /** Connections sent HTTP/2's GOAWAY: their further bytes, which node's parser refuses again, are dropped. */
  private readonly http2 = new WeakSet<Socket>();
  /** Where gRPC is served (host:port, and its socket), told to an HTTP/2 client; undefined when it is off (./build.ts). */
  grpcWhere: (() => string | undefined) | undefined;

  /** `deadline`: shared with gRPC for one count and log of closes (./build.ts); its own from `opts` otherwise. */
  constructor(
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly opts: ApiServerOptions,
    private readonly deadline = new WriteDeadline(opts.writeTimeoutMs),
    /** Requests still waiting for a run slot when the grace ends are answered NOT_READY first (./waiting.ts). */
    private readonly waiting?: WaitingRequests,
    /** Each listener's cap, on /metrics beside gRPC's (./build.ts); its own otherwise. */
    private readonly caps = new ConnectionCaps(),
  ) {}

  async start(): Promise<void> {
    const o = this.opts;
    const requestTimeout = o.requestTimeoutMs;
    const server = createServer({
      keepAliveTimeout: o.keepAliveTimeoutMs,
      // node's own refusal of an HTTP/1.1 request without Host was a bare 400, no body nor code: the
      // handler's Host check names what is expected instead (./guards.ts hostRefused).
      requireHostHeader: false,
      // node requires headersTimeout <= requestTimeout.
      headersTimeout: Math.min(o.headersTimeoutMs, requestTimeout),
      requestTimeout,
      // How often node checks the two timeouts above (its default, 30 s, would let them overrun).
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(Math.min(o.headersTimeoutMs, requestTimeout) / 4))),
    }, (req, res) => this.serve(req, res));
    // api.maxConnections per listener: one over it waits for a slot, unread, or is answered 503 (./connection-cap.ts).
    const cap = (listener: string, where: () => string) => this.caps.add({ listener, max: o.maxConnections, where, waitMs: o.headersTimeoutMs, waiting: WAITING_CONNECTIONS, fewer: '(keep-alive)' });
    const tcpCap = cap('api.port', () => `api.port ${(server.address() as AddressInfo | null)?.port ?? o.port}`);
    this.unixCap = o.socket === undefined ? undefined : cap('api.socket', () => `api.socket ${o.socket}`);
    this.tcpCap = tcpCap;
    tcpCap.watch(server);
    // Accepted paused (nothing read until the cap hands it on): http.createServer passes no such option to
    // net.Server, whose accept reads this field (as the Unix socket's listener is made with it).
    (server as unknown as NetServer & { pauseOnConnect: boolean }).pauseOnConnect = true;
    // Every connection, the Unix socket's too (emitted below): an answer its client does not take is bounded in time.
    server.on('connection', (s: Socket) => this.deadline.socket(s));
    this.keepAlive.attach(server);
    // A client that sends `Expect: 100-continue` (curl does for large bodies) is told to send its body
    // only once the handler has not refused the request from its headers (413, 415, 404, 503 are
    // answered before the body is read, docs/agent.md "Limits"), instead of node's 100 before every one.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      this.keepAlive.request(req, res);
      this.serve(req, res);
      if (!res.headersSent && !res.writableEnded) res.writeContinue();
    });
    // Another expectation: node's own 417 had no body; it is refused unread, saying which is taken.
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      send(res, 417, { error: `Expect ${echoText(String(req.headers.expect))} is not supported: expected no Expect header, or "100-continue"`, code: 'BAD_REQUEST' }, { connection: 'close' });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (this.http2.has(socket)) return; // answered below: lingering for the client to read it (./http2-refusal.ts)
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const served = inFlight(socket);
      if (served) {
        // Bytes node's parser refuses while a request is served: that request, or those sent whole before
        // them, answered first, then a 400 (./malformed.ts). A body timed out mid-request: cut, no answer.
        if (err.code?.startsWith('HPE_') && err.code !== 'HPE_PAUSED_H2_UPGRADE') refuseAfterInFlight(socket, served, malformed(err), (m) => rawError(socket, 400, 'BAD_REQUEST', m));
        else socket.destroy();
        return;
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') rawError(socket, 408, 'TIMEOUT', `request not received within ${requestTimeout} ms (headers within ${o.headersTimeoutMs} ms)`);
      else if (err.code === 'HPE_HEADER_OVERFLOW') rawError(socket, 431, 'PAYLOAD_TOO_LARGE', `request headers are too large: expected at most ${maxHeaderSize} bytes of request line and headers (send large values in the body)`);
      else if (err.code === 'HPE_PAUSED_H2_UPGRADE') this.refuseHttp2(socket);
      else rawError(socket, 400, 'BAD_REQUEST', malformed(err));
    });
    // Every 'connection' listener above (node's HTTP parser first) runs once the cap hands the connection on.
    const listeners = server.listeners('connection') as Array<(s: Socket) => void>;
    server.removeAllListeners('connection');
    const hand = (s: Socket, refused: boolean) => {
      if (refused) this.refused.add(s);
      for (const l of listeners) l.call(server, s);
      s.resume();
    };
    server.on('connection', (s: Socket) => (viaUnixSocket(s) ? this.unixCap! : tcpCap).accept(s, hand));
    this.server = server;
    await listenTcp(server, o.port, o.host, { port: 'api.port', host: 'api.host' }, tcpCap.hardCap);
    if (o.socket !== undefined) {
      // Connections accepted on the socket go to the same http.Server: same handler, timeouts and stop.
      const unixCap = this.unixCap!;
      const unix = new UnixListener({ path: o.socket, group: o.socketGroup, cap: unixCap, what: 'api.socket' }, (s) => {
        this.unixConns.add(s);
        s.once('close', () => this.unixConns.delete(s));
        server.emit('connection', s);
      });
      try {
        await unix.start();
      } catch (err) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        this.server = undefined;
        throw err;
      }
      this.unix = unix;
    }
  }

  /**
   * An HTTP/2 client with prior knowledge (node's parser stopped at its preface) is answered in HTTP/2, a
   * GOAWAY with HTTP_1_1_REQUIRED naming this listener and where gRPC is (./http2-refusal.ts).
   */
  private refuseHttp2(socket: Socket): void {
    this.http2.add(socket);
    const where = viaUnixSocket(socket) ? `api.socket ${this.opts.socket}` : `api.port ${(this.server?.address() as AddressInfo | null)?.port ?? this.opts.port}`;
    endLingering(socket, http2Refusal(http2RefusalText(where, this.grpcWhere?.())));
  }

  /** The handler, or 503 OVERLOADED for a connection that came over api.maxConnections. */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (!this.refused.has(req.socket)) {
      this.handler(req, res);
      return;
    }
    res.setHeader('connection', 'close');
    sendError(res, (viaUnixSocket(req.socket) ? this.unixCap! : this.tcpCap!).refusal());
  }

  /** Connections over api.maxConnections waiting for a slot now, on both listeners (./connection-cap.ts). */
  get waitingConnections(): number {
    return (this.tcpCap?.waitingCount ?? 0) + (this.unixCap?.waitingCount ?? 0);
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('api server is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.unix?.stop();
    this.stopping ??= new Promise<void>((resolve) => {
      // No slot will be given to a connection still waiting for one: answered 503 now, not left unread.
      this.tcpCap?.refuseWaiting();
      this.unixCap?.refuseWaiting();
      // The Unix socket's connections are not in the TCP server's count: they are waited for here.
      let closed = false;
      const finish = () => {
        if (!closed || this.unixConns.size > 0) return;
        clearInterval(idle);
        clearTimeout(force);
        // node's own close, now that nothing is left for it to close: it stops its timeouts' check.
        server.close();
        resolve();
      };
      // Answers from now on close their connection; one idle a while is closed (./keep-alive.ts).
      this.keepAlive.stop();
      const idle = setInterval(() => {
        this.keepAlive.closeIdle();
        finish();
      }, 50);
      // After the grace period, requests that never got to run are answered NOT_READY, and then slow or
      // stuck clients are cut off: stop has a deadline.
      const closeAll = () => {
        server.closeAllConnections();
        for (const s of this.unixConns) s.destroy();
        this.unixConns.clear();
        finish();
      };
      let force = setTimeout(() => {
        const shed = this.waiting?.shed() ?? 0;
        if (shed === 0) closeAll();
        else force = setTimeout(closeAll, SHED_FLUSH_MS);
      }, this.opts.stopGraceMs);
      // The listener only: http's close() also closes every idle connection at once, cutting the next
      // request of each client calling in a loop (./keep-alive.ts). Calls back once the TCP connections are gone.
      netClose.call(server, () => {
        closed = true;
        finish();
      });
      this.keepAlive.closeIdle();
    });
    return this.stopping;
  }
}
