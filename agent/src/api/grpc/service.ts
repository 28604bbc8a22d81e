// The handlers of inference.GRPCInferenceService (agent/proto/grpc_predict_v2.proto)
// over the same InferCore as REST (../core.ts): same runtime, validation,
// error codes and messages, summaries and metrics. The call gate, an
// interceptor, refuses a call before its message is read when too many are in
// progress or the shared request budget is full (REST bodies, parsed tensors) or its body carries a
// Content-Encoding (ServerLive and ServerReady have bounds of their own: ./health-calls.ts), checks the bearer token for clients off the box, bounds the time to receive the
// message, and has compressed messages read by ./encoding.ts.
import { maxHeaderSize } from 'node:http';
import { AppError, echoText, toAppError } from '@edgefleet/shared/core';
import {
  Metadata, ServerInterceptingCall, ServerListenerBuilder, ResponderBuilder, status as S,
  type StatusObject, type sendUnaryData, type ServerInterceptor, type ServerUnaryCall, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { SERVER_METADATA } from '../handler.js';
import { InferCore, modelMetadata } from '../core.js';
import { repositoryIndex } from '../repository.js';
import { bearerCheck, bodyTooLarge, isLoopback } from '../guards.js';
import type { RequestBudget } from '../budget.js';
import { grpcError } from './status.js';
import { contentEncodingRefusal, guardMessages } from './encoding.js';
import { grpcOutputs, prepareGrpcInputs, type GrpcInferRequest } from './tensors.js';
import { WatchedCall, type AnswerWatch } from './answers.js';
import { HEALTH_MAX_CALLS, HEALTH_MAX_MESSAGE_BYTES, HEALTH_METHODS, healthBound, healthOverloaded, healthTooLarge, limitHealthMessage } from './health-calls.js';

export interface GrpcServiceDeps {
  core: InferCore;
  isReady(): boolean;
  onError?(err: unknown): void;
  /** A ModelInfer message was decoded and let go (its tensors taken, or refused): the burst collection counts it. */
  released?(message: object): void;
  /** The refusal of a ModelInfer message left undecoded (./decoded-size.ts), or with an id not UTF-8 (./server.ts), if it was. */
  refusal?(message: object): AppError | undefined;
}

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

/** A handler whose thrown errors become the mapped status with the REST message. */
function unary<Req>(fn: (req: Req) => unknown, onError?: (err: unknown) => void): Unary<Req> {
  return (call, cb) => {
    try {
      cb(null, fn(call.request));
    } catch (err) {
      report(err, onError);
      cb(grpcError(err));
    }
  };
}

function report(err: unknown, onError?: (err: unknown) => void): void {
  const e = toAppError(err);
  if (e.httpStatus >= 500 && e.code !== 'OVERLOADED' && e.code !== 'NOT_READY') onError?.(err);
}

export function grpcService(deps: GrpcServiceDeps): UntypedServiceImplementation {
  const { core, onError } = deps;
  const modelInfer: Unary<GrpcInferRequest> = (call, cb) => {
    const t0 = performance.now();
    const r = call.request;
    const refusal = deps.refusal?.(r);
    if (refusal) {
      cb(grpcError(refusal));
      return;
    }
    const name = r.model_name ?? '';
    let started;
    try {
      core.admit(name, t0);
      started = core.start(name, r.model_version ? r.model_version : undefined, r, t0, prepareGrpcInputs);
    } catch (err) {
      report(err, onError);
      cb(grpcError(err));
      return;
    } finally {
      // Like a REST body once parsed: from here the call holds the message's tensors only (../burst-gc.ts).
      deps.released?.(r);
    }
    const s = started;
    const { v, hot, id } = s;
    // Waiting for a run slot: a cancelled call (client gone, deadline passed) takes it out of the queue (../core.ts).
    if (s.queued !== undefined) {
      if (call.cancelled) core.abandon(s);
      else {
        call.once('cancelled', () => core.abandon(s));
        core.whileWaiting(s, (err) => cb(grpcError(err))); // shed at the end of the stop's grace (../waiting.ts)
      }
    }
    const raw = (r.raw_input_contents?.length ?? 0) > 0;
    s.result.then((res) => {
      core.settled(s);
      cb(null, { model_name: v.name, model_version: v.version, id: id ?? '', ...grpcOutputs(res.outputs, raw) });
      hot.series.ok((performance.now() - t0) / 1000);
    }, (err: unknown) => {
      core.settled(s);
      hot.series.error(toAppError(err).code, (performance.now() - t0) / 1000);
      report(err, onError);
      cb(grpcError(err));
    });
  };
  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: deps.isReady() })),
    ServerMetadata: unary(() => SERVER_METADATA),
    ModelReady: unary((q: { name?: string; version?: string }) => {
      core.version(q.name ?? '', q.version ? q.version : undefined);
      return { ready: true };
    }, onError),
    ModelMetadata: unary((q: { name?: string; version?: string }) => modelMetadata(core.version(q.name ?? '', q.version ? q.version : undefined)), onError),
    ModelInfer: modelInfer,
    RepositoryIndex: unary((q: { repository_name?: string }) => {
      if (q.repository_name) throw new AppError('NOT_FOUND', `unknown model repository ${echoText(q.repository_name)}: expected an empty repository_name (the agent serves one repository)`);
      return { models: repositoryIndex(core.runtime) };
    }, onError),
  };
}

export interface CallGateOptions {
  /** gRPC calls in progress at once over all connections; past it, UNAVAILABLE before the message is read. */
  maxCalls: number;
  /** Shared with REST: request bytes held (bodies being read, parsed tensors) and their limit. */
  inflight: RequestBudget;
  /** Time for a client to send its whole message and end its stream once the call has started. */
  requestTimeoutMs: number;
  token?: string | undefined;
  /** api.maxBodyBytes, grpc-js's grpc.max_receive_message_length: named when a message is over it. */
  maxBodyBytes: number;
  /** The write deadline's watch of answers (api.writeTimeoutMs): each call's answers are noted through it. */
  answers?: AnswerWatch;
}

/** grpc-js's own status for a message over grpc.max_receive_message_length (its stream decoder, 1.14). */
const GRPC_JS_TOO_LARGE = /^Received message larger than max \((\d+) vs \d+\)$/;
/** grpc-js's own status for a message its protobuf decoder refuses (1.14), INTERNAL as if the server failed. */
const GRPC_JS_UNDECODABLE = /^Error deserializing request/;

/**
 * The refusal of ours for a status grpc-js sends by itself, or undefined to let it through: a message
 * over api.maxBodyBytes is REST's 413, and bytes that are not the method's protobuf message are the
 * client's error, as a REST body that is not JSON is (BAD_REQUEST), not the server's (INTERNAL).
 */
function ownStatus(status: Pick<StatusObject, 'code' | 'details'>, path: string, maxBodyBytes: number): AppError | undefined {
  const large = status.code === S.RESOURCE_EXHAUSTED ? GRPC_JS_TOO_LARGE.exec(status.details) : null;
  if (large) return HEALTH_METHODS.has(path) ? healthTooLarge(path, Number(large[1])) : bodyTooLarge(maxBodyBytes, 'api.maxBodyBytes', Number(large[1]));
  if (status.code !== S.INTERNAL || !GRPC_JS_UNDECODABLE.test(status.details)) return undefined;
  const type = `inference.${path.slice(path.lastIndexOf('/') + 1)}Request`;
  return new AppError('BAD_REQUEST', `gRPC message is not a valid ${type}: expected the protobuf encoding of ${type} (agent/proto/grpc_predict_v2.proto)`);
}

/**
 * A call's metadata over REST's bound on a request's headers (node's maxHeaderSize, 16 KiB), counted as HTTP/2
 * counts a header list (RFC 9113 6.5.2: name, value and 32 each): refused as REST's 431 is, where before up to about
 * 100 KB was taken. Past that node resets the stream itself before any of ours runs ("Received RST_STREAM with
 * code 9" on grpc-js), as it does past 128 header fields ("Bandwidth exhausted or memory limit exceeded").
 */
function metadataTooLarge(metadata: Metadata): AppError | undefined {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata.toHttp2Headers())) {
    for (const v of Array.isArray(value) ? value : [value]) bytes += name.length + Buffer.byteLength(String(v)) + 32;
  }
  if (bytes <= maxHeaderSize) return undefined;
  return new AppError('PAYLOAD_TOO_LARGE', `request metadata of ${bytes} bytes is too large: expected at most ${maxHeaderSize} bytes (as REST's request line and headers; send large values in the message)`);
}

/** Why a call other than ServerLive and ServerReady is refused before its message is read, or undefined. */
function gateRefusal(calls: number, o: CallGateOptions): AppError | undefined {
  if (calls >= o.maxCalls) return new AppError('OVERLOADED', `the agent has ${calls} gRPC calls in progress (limit ${o.maxCalls}, api.grpc.maxCalls); retry later`);
  if (o.inflight.bytes >= o.inflight.limit) return o.inflight.overloaded();
  return undefined;
}

/** The interceptor that holds every gRPC call to the REST API's bounds (docs/security.md). */
export function callGate(o: CallGateOptions): { interceptor: ServerInterceptor; inProgress(): number } {
  let calls = 0;
  const bearer = bearerCheck(o.token);
  /** ServerLive and ServerReady in progress: apart from `calls`, so a busy box still answers its probes (./health-calls.ts). */
  let healthCalls = 0;
  const interceptor: ServerInterceptor = (method, call) => {
    const health = HEALTH_METHODS.has(method.path);
    if (health) limitHealthMessage(call);
    // Compressed messages read by ./encoding.ts: refused with a clear status when they cannot be read;
    // a health call's inflated to its own bound (before, to api.maxBodyBytes: 16 MiB, not 1 KiB).
    if (health) guardMessages(call, HEALTH_MAX_MESSAGE_BYTES, healthBound(method.path));
    else guardMessages(call, o.maxBodyBytes);
    // The write deadline's watch of this call's answers, in this one interceptor (./answers.ts).
    const answers = o.answers?.forCall(call) ?? null;
    let counted = false;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (counted && health) healthCalls--;
      else if (counted) calls--;
      counted = false;
    };
    const refuse = (err: AppError) => {
      done();
      const e = grpcError(err);
      call.sendStatus({ code: e.code!, details: e.details!, metadata: e.metadata ?? new Metadata() });
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const remote = call.getConnectionInfo().remoteAddress;
        // Unix socket connections have no remote address: file permissions decided already.
        if (bearer !== undefined && remote !== undefined && !isLoopback(remote) && !bearer(metadata.get('authorization')[0])) {
          refuse(new AppError('UNAUTHENTICATED', 'missing or wrong bearer token: expected "authorization: Bearer <token>" metadata from a non-loopback client'));
          return;
        }
        const large = metadataTooLarge(metadata);
        if (large) {
          refuse(large);
          return;
        }
        const encoded = contentEncodingRefusal(metadata);
        if (encoded) {
          refuse(encoded);
          return;
        }
        const refusal = health ? (healthCalls >= HEALTH_MAX_CALLS ? healthOverloaded(healthCalls) : undefined) : gateRefusal(calls, o);
        if (refusal) {
          refuse(refusal);
          return;
        }
        if (health) healthCalls++;
        else calls++;
        counted = true;
        timer = setTimeout(() => {
          timer = undefined;
          refuse(new AppError('TIMEOUT', `request not received within ${o.requestTimeoutMs} ms`));
        }, o.requestTimeoutMs);
        next(metadata);
      })
      // The request is received at the end of its stream, not with its message: grpc-js runs a unary
      // handler only then, so a client that sent its message and never ended the stream held its call
      // (and the decoded message) for good.
      .withOnReceiveHalfClose((next) => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        next();
      })
      .withOnCancel(() => {
        done();
        answers?.ended();
      })
      .build();
    // grpc-js refuses a message over grpc.max_receive_message_length from its length prefix, before it
    // is buffered, and one its decoder refuses, with statuses of its own: the base call sends them through
    // its own sendStatus, not through the interceptors' responders, so they are rewritten there into our
    // text and the error-code trailer (ownStatus; docs/agent.md "Local API"; grpc.test.ts and
    // encoding.test.ts hold them to grpc-js's wording). A grpc-js without this method (internals change)
    // keeps its own text: never a broken call.
    const base = call as { sendStatus?: (status: Pick<StatusObject, 'code' | 'details'> & { metadata?: Metadata | null }) => void };
    if (typeof base.sendStatus === 'function') {
      const sendStatus = base.sendStatus.bind(call);
      base.sendStatus = (status) => {
        const own = ownStatus(status, method.path, o.maxBodyBytes);
        if (!own) {
          sendStatus(status);
          return;
        }
        const e = grpcError(own);
        sendStatus({ code: e.code!, details: e.details!, metadata: e.metadata ?? null });
      };
    }
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((status, next) => {
        done();
        next(status);
      })
      .build();
    return answers ? new WatchedCall(call, responder, answers.written) : new ServerInterceptingCall(call, responder);
  };
  return { interceptor, inProgress: () => calls };
}
