// An HTTP/2 request that is not a gRPC call on a gRPC listener (`curl --http2-prior-knowledge
// http://127.0.0.1:8702/v2`, a REST client speaking HTTP/2): grpc-js answered an empty 415, which names
// nothing. It gets REST's JSON error instead, saying what the listener speaks and where REST is, as an
// HTTP/1 request does (./first-bytes.ts). Hooked where grpc-js checks a call's content-type, once per
// call and only for the calls it refuses: a gRPC call takes the same one test as before
// (docs/decisions/0157-not-grpc-on-the-grpc-port.md).
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { AppError, echoText } from '@edgefleet/shared/core';

/** What a gRPC listener (`where`) is told about what came instead: what it speaks, what is expected, where REST is. */
export function notGrpcMessage(where: string, came: string, rest: string | undefined): string {
  return `${where} speaks gRPC (HTTP/2 without TLS), and ${came}: expected a gRPC client of inference.GRPCInferenceService (agent/proto/grpc_predict_v2.proto)${rest === undefined ? '' : `; REST (OIP v2 over HTTP/1.1) is at ${rest}`}`;
}

/** The 415 an HTTP/2 request without a gRPC content-type gets: its method, path and content-type. */
export function notGrpcRefusal(headers: IncomingHttpHeaders, where: string, rest: string | undefined): AppError {
  const type = headers['content-type'];
  const came = `this HTTP/2 request is not a gRPC call (${echoText(`${String(headers[':method'])} ${String(headers[':path'])}`)} with ${type === undefined ? 'no content-type' : `content-type ${echoText(type)}`}; expected application/grpc)`;
  return new AppError('UNSUPPORTED_MEDIA_TYPE', notGrpcMessage(where, came, rest));
}

type ContentTypeCheck = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

/**
 * Makes `server` answer a request whose content-type is not gRPC's with `refusal(stream, headers)` as JSON
 * (`{error, code}`, its HTTP status), where grpc-js answered an empty 415. grpc-js 1.14 makes that check in its
 * `_verifyContentType`; a grpc-js without it keeps its own answer (./not-grpc.test.ts says so).
 */
export function answerNotGrpc(server: Server, refusal: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => AppError): boolean {
  const s = server as unknown as { _verifyContentType?: ContentTypeCheck };
  if (typeof s._verifyContentType !== 'function') return false;
  s._verifyContentType = (stream, headers) => {
    const type = headers['content-type'];
    if (typeof type === 'string' && type.startsWith('application/grpc')) return true;
    const err = refusal(stream, headers);
    const body = JSON.stringify({ error: err.message, code: err.code });
    const head = headers[':method'] === 'HEAD';
    stream.respond({ ':status': err.httpStatus, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, { endStream: head });
    if (!head) stream.end(body);
    return false;
  };
  return true;
}
