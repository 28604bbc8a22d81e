// The local API over OIP v2 gRPC (docs/agent.md "Local API (OIP v2)"): a
// grpc-js server fed by our own net.Servers through a connection injector, so
// the TCP port and the Unix socket have the REST API's connection limit (../connection-cap.ts: past it,
// a connection's calls are answered UNAVAILABLE naming it, ./refused.ts) and the socket its permissions
// (../unix-socket.ts). Loaded with a dynamic import only
// when api.grpc.enabled: grpc-js and the proto loader stay off the daemon's
// default path (idle RSS, docs/performance.md).
import { fileURLToPath } from 'node:url';
import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Server, ServerCredentials, type ConnectionInjector, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { InferCore } from '../core.js';
import type { RequestBudget } from '../budget.js';
import type { BurstGc } from '../burst-gc.js';
import { UnixListener, viaUnixSocket } from '../unix-socket.js';
import { listenTcp, notUtf8 } from '../guards.js';
import { WriteDeadline } from '../write-deadline.js';
import { SHED_FLUSH_MS, type WaitingRequests } from '../waiting.js';
import type { AppError } from '@edgefleet/shared/core';
import { AnswerWatch } from './answers.js';
import { decodedTooLarge, topLevelBytes } from './decoded-size.js';
import { callGate, grpcService } from './service.js';
import { REFUSED_CONNECTION_MS, refusingServer, type RefusingServer } from './refused.js';
import { ConnectionCaps } from '../connection-cap.js';
import { answerHttp1, firstBytes, http1Refusal, isHttp1 } from './first-bytes.js';
import { answerNotGrpc, notGrpcRefusal } from './not-grpc.js';

export const PROTO_PATH = fileURLToPath(new URL('../../../proto/grpc_predict_v2.proto', import.meta.url));

/**
 * How the server decodes the proto into JS objects: the protocol's snake_case names, and int64 fields
 * left as protobufjs Longs, so that typed int64/uint64 contents keep every digit; ./tensors.ts turns
 * shapes into numbers and contents into numbers or BigInts (docs/decisions/0068-grpc-exact-int64.md).
 */
export const SERVER_PROTO_OPTIONS = { keepCase: true, enums: String, defaults: false, arrays: true, oneofs: true } as const;

/** How clients (tests, benchmarks) decode it: as the server, with int64 fields as numbers. */
export const PROTO_OPTIONS = { ...SERVER_PROTO_OPTIONS, longs: Number } as const;

export function inferenceService(options: typeof SERVER_PROTO_OPTIONS = PROTO_OPTIONS): ServiceDefinition {
  const def = loadSync(PROTO_PATH, options);
  return def['inference.GRPCInferenceService'] as ServiceDefinition;
}

/**
 * The service with ModelInfer's decoder noting each message's size on the wire (grpc-js hands the
 * handler the decoded message only, and the burst collection counts the bytes a client sent, as REST's),
 * and every method's encoder noting each answer's (the write deadline counts what waits, ./answers.ts).
 */
function sizedService(sizes: WeakMap<object, number>, answers: WeakMap<object, number>, refusals: WeakMap<object, AppError>, maxBodyBytes: number): ServiceDefinition {
  const def = inferenceService(SERVER_PROTO_OPTIONS);
  const sized: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(def)) {
    const encode = method.responseSerialize;
    sized[name] = {
      ...method,
      responseSerialize: (value: object) => {
        const bytes = encode(value);
        answers.set(value, bytes.length + 5); // and the message's length prefix
        return bytes;
      },
    };
  }
  const infer = sized['ModelInfer']!;
  const decode = infer.requestDeserialize;
  sized['ModelInfer'] = {
    ...infer,
    requestDeserialize: (bytes: Buffer) => {
      // A message that would take too much heap decoded is not decoded: the handler answers its refusal.
      const refusal = decodedTooLarge(bytes, maxBodyBytes);
      if (refusal) {
        const refused = {};
        refusals.set(refused, refusal);
        return refused;
      }
      const message = decode(bytes) as { id?: string };
      sizes.set(message, bytes.length);
      // protobufjs decodes a string that is not UTF-8 with U+FFFD in place: the id, echoed back and kept for
      // feedback, is refused instead, as REST's (names must match a model's, so they are refused anyway).
      const id = message.id?.includes('\ufffd') ? topLevelBytes(bytes, 3) : undefined;
      if (id && !isUtf8(id)) refusals.set(message, notUtf8(id, 'request id', 'UTF-8 text, as protobuf strings are'));
      return message;
    },
  };
  return sized;
}

export interface GrpcApiOptions {
  host: string;
  port: number;
  socket?: string | undefined;
  socketGroup?: string | undefined;
  maxConnections: number;
  maxConcurrentStreams: number;
  maxCalls: number;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Connections with no call for this long get a GOAWAY (clients reconnect on their next call). */
  idleTimeoutMs: number;
  /** A connection holding an answer its client has not taken whole for this long is closed (./answers.ts). */
  writeTimeoutMs: number;
  stopGraceMs: number;
  token?: string | undefined;
  /** Where REST is ("http://127.0.0.1:8701 (api.port)"), named to an HTTP/1 client of this port (./first-bytes.ts). */
  rest?: () => string | undefined;
}

export interface GrpcApiDeps {
  core: InferCore;
  /** The request budget shared with REST (its limit is api.maxInflightBodyBytes). */
  inflight: RequestBudget;
  /** The collection after a burst of large bodies, shared with REST (../burst-gc.ts). */
  burstGc?: BurstGc;
  isReady(): boolean;
  onError?(err: unknown): void;
  /** Shared with REST for one count and log of closes (../build.ts); its own from the options otherwise. */
  deadline?: WriteDeadline;
  /** Requests waiting for a run slot, answered NOT_READY when the stop's grace ends (../waiting.ts). */
  waiting?: WaitingRequests;
  /** Each listener's cap, on /metrics beside REST's (../build.ts); its own otherwise. */
  caps?: ConnectionCaps;
}

export class GrpcApi {
  private server: Server | undefined;
  private injector: ConnectionInjector | undefined;
  private tcp: NetServer | undefined;
  private unix: UnixListener | undefined;
  private stopping: Promise<void> | undefined;
  /** Connections handed to grpc-js (TCP and the socket), until they close: what stop() waits for. */
  private readonly conns = new Set<Socket>();
  /** The servers answering connections over api.maxConnections, one per listener (./refused.ts). */
  private readonly refusers: RefusingServer[] = [];
  /** Connections whose first bytes have not come yet (./first-bytes.ts): in no grpc-js session, so stop() closes them. */
  private readonly sniffing = new Set<Socket>();
  /** Set by stop(): called when the last connection has closed. */
  private onIdle: (() => void) | undefined;

  constructor(private readonly deps: GrpcApiDeps, private readonly opts: GrpcApiOptions) {}

  async start(): Promise<void> {
    const o = this.opts;
    const sizes = new WeakMap<object, number>();
    const answerSizes = new WeakMap<object, number>();
    const watch = new AnswerWatch(this.deps.deadline ?? new WriteDeadline(o.writeTimeoutMs), answerSizes);
    const gate = callGate({ maxBodyBytes: o.maxBodyBytes, maxCalls: o.maxCalls, inflight: this.deps.inflight, requestTimeoutMs: o.requestTimeoutMs, token: o.token, answers: watch });
    const server = new Server({
      // Refused from the message's length prefix, before it is buffered.
      'grpc.max_receive_message_length': o.maxBodyBytes,
      'grpc.max_send_message_length': -1,
      'grpc.max_concurrent_streams': o.maxConcurrentStreams,
      'grpc.max_connection_idle_ms': o.idleTimeoutMs,
      interceptors: [gate.interceptor],
    });
    const tcpWhere = () => `api.grpc.port ${(this.tcp?.address() as AddressInfo | null)?.port ?? o.port}`;
    const unixWhere = () => `api.grpc.socket ${o.socket}`;
    // An HTTP/2 request that is not a gRPC call is told what this port speaks and where REST is (./not-grpc.ts),
    // on a connection over api.maxConnections too (its refusing server, below): a JSON 415, not grpc-js's empty one.
    const notGrpc = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => notGrpcRefusal(headers, stream.session?.socket && viaUnixSocket(stream.session.socket as Socket) ? unixWhere() : tcpWhere(), this.opts.rest?.());
    answerNotGrpc(server, notGrpc);
    const burstGc = this.deps.burstGc;
    const refusals = new WeakMap<object, AppError>();
    server.addService(sizedService(sizes, answerSizes, refusals, o.maxBodyBytes), grpcService({
      ...this.deps, refusal: (message) => refusals.get(message), ...(burstGc ? { released: (message: object) => burstGc.released(sizes.get(message) ?? 0) } : {}),
    }));
    this.server = server;
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    this.injector = injector;
    // api.maxConnections per listener: past it a connection is refused at once, each call answered (./refused.ts).
    const caps = this.deps.caps ?? new ConnectionCaps();
    const cap = (listener: string, where: () => string) => {
      const c = caps.add({ listener, max: o.maxConnections, where, waitMs: 0, waiting: 0, fewer: '(one channel for all calls)' });
      const refused = refusingServer(inferenceService(SERVER_PROTO_OPTIONS), () => c.refusal());
      answerNotGrpc(refused.server, notGrpc);
      this.refusers.push(refused);
      return { c, hand: (s: Socket, refusedConn: boolean) => inject(s, refusedConn ? refused.injector : injector, where) };
    };
    const inject = (s: Socket, into: ConnectionInjector, where: () => string) => {
      this.conns.add(s);
      this.sniffing.add(s);
      s.once('close', () => {
        this.conns.delete(s);
        this.sniffing.delete(s);
        if (this.conns.size === 0) this.onIdle?.();
      });
      // An HTTP/1 client (curl, a REST one given this port) is answered in HTTP/1.1, not with HTTP/2 frames (./first-bytes.ts).
      firstBytes(s, into === injector ? o.idleTimeoutMs : REFUSED_CONNECTION_MS, (head) => {
        this.sniffing.delete(s);
        if (isHttp1(head)) return answerHttp1(s, http1Refusal(head, where(), this.opts.rest?.()));
        // node's http2 closes a session (idle GOAWAY, stop) by ending the socket and then waits for the
        // client to close its side: a client that never reads nor closes would keep its api.maxConnections
        // slot for good. Once our side is finished, nothing more is sent or wanted: close it.
        s.once('finish', () => s.destroy());
        watch.connection(s);
        // Not resume(): the socket reads already, and flowing it would hand the bytes put back to no one
        // before the HTTP/2 session takes them (node reads a socket's buffered bytes on the next tick).
        into.injectConnection(s);
      });
    };
    const tcpCap = cap('api.grpc.port', tcpWhere);
    const tcp = createServer({ pauseOnConnect: true }, (s) => tcpCap.c.accept(s, tcpCap.hand));
    tcpCap.c.watch(tcp);
    await listenTcp(tcp, o.port, o.host, { port: 'api.grpc.port', host: 'api.host' }, tcpCap.c.hardCap);
    this.tcp = tcp;
    if (o.socket !== undefined) {
      const unixCap = cap('api.grpc.socket', unixWhere);
      const unix = new UnixListener({ path: o.socket, group: o.socketGroup, cap: unixCap.c, what: 'api.grpc.socket' }, (s) => unixCap.c.accept(s, unixCap.hand));
      try {
        await unix.start();
      } catch (err) {
        // As the REST server does (../server.ts): a start that fails leaves no listener behind.
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        this.tcp = undefined;
        this.server = undefined;
        throw err;
      }
      this.unix = unix;
    }
  }

  /** host:port of the TCP listener, as grpc-js clients take it. */
  get address(): string {
    const a = this.tcp?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('grpc api is not listening');
    return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /**
   * Stops accepting, lets calls in progress finish for the grace period, then closes every connection.
   * It waits for the connections themselves: grpc-js' tryShutdown calls back at once for sessions the
   * drain has already begun closing, which let the agent exit with every call in progress dropped
   * (../stop-grace.test.ts).
   */
  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      this.unix?.stop();
      this.tcp?.close();
      // No call on them yet: closed as the GOAWAY below closes an idle session.
      for (const s of this.sniffing) s.destroy();
      // A GOAWAY to every session: no new call; one closes once its calls have answered (drain's own
      // cut, later, is never reached: forceShutdown below comes first). When the grace ends, calls still
      // waiting for a run slot are answered NOT_READY, and get SHED_FLUSH_MS to go out from then: timers
      // chained, as a loop held by a run fires every timer due at once (a cut in the same turn as the
      // answers sent CANCELLED instead).
      const grace = this.opts.stopGraceMs;
      this.injector?.drain(grace + SHED_FLUSH_MS + 1000);
      for (const r of this.refusers) r.injector.drain(REFUSED_CONNECTION_MS);
      const done = () => {
        clearTimeout(force);
        this.onIdle = undefined;
        server.forceShutdown();
        for (const r of this.refusers) r.server.forceShutdown();
        resolve();
      };
      let force = setTimeout(() => {
        const shed = this.deps.waiting?.shed() ?? 0;
        if (shed === 0) done();
        else force = setTimeout(done, SHED_FLUSH_MS);
      }, grace);
      if (this.conns.size === 0) done();
      else this.onIdle = done;
    });
    return this.stopping;
  }
}
