// The first bytes of a gRPC connection (docs/agent.md "Local API (OIP v2)", docs/decisions/0150-http1-on-the-grpc-port.md).
// grpc-js' HTTP/2 session answered an HTTP/1.1 request (curl, a REST client given api.grpc.port) with
// a binary SETTINGS and GOAWAY frame, which curl shows as "Received HTTP/0.9 when not allowed" and other
// clients as a parse error. So a connection's first bytes are read before it is handed to grpc-js: the
// HTTP/2 client preface (or the start of one), or anything else that is not an HTTP/1 request line,
// goes on with the bytes put back (node's HTTP/2 session reads what the socket holds already); an HTTP/1
// request is answered 400 BAD_REQUEST in HTTP/1.1, REST's JSON error body naming the listener and
// where REST is, and the connection closed. Once per connection, never per call: a channel's calls
// are untouched. A connection that sends nothing is closed after `waitMs`, as grpc-js' idle GOAWAY
// closed it before (./connections.test.ts).
import type { Socket } from 'node:net';
import { AppError, echoText } from '@edgefleet/shared/core';
import { rawErrorReply } from '../reply.js';
import { notGrpcMessage } from './not-grpc.js';

/** What every HTTP/2 client sends first, gRPC's over plain TCP (prior knowledge) included (RFC 9113 3.4). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** How long an answered HTTP/1 connection is kept, its further bytes read and dropped, for the client to read the answer and close. */
export const HTTP1_LINGER_MS = 1000;

/**
 * Waits for `s`'s first bytes (accepted paused: nothing read yet), puts them back and calls `then` with
 * them; destroys `s` if none come within `waitMs`. `s` goes on reading: its bytes are then the taker's.
 */
export function firstBytes(s: Socket, waitMs: number, then: (head: Buffer) => void): void {
  const timer = setTimeout(() => s.destroy(), waitMs);
  const ignore = () => undefined; // a reset before the first bytes: 'close' follows
  const done = () => {
    clearTimeout(timer);
    s.off('readable', readable);
    s.off('close', done);
    s.off('error', ignore);
  };
  const readable = () => {
    const head = s.read() as Buffer | null;
    if (head === null) return; // the end of the stream: 'close' follows
    done();
    s.unshift(head);
    then(head);
  };
  s.on('error', ignore);
  s.on('readable', readable);
  s.once('close', done);
}

/**
 * True when `head` starts an HTTP/1 request (`GET / HTTP/1.1`: a method token, upper case, then a
 * space, or a head cut short inside it), and not HTTP/2's preface, whose first line looks like one.
 */
export function isHttp1(head: Buffer): boolean {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.compare(HTTP2_PREFACE, 0, n, 0, n) === 0) return false;
  return /^[A-Z]{1,20}(?: |$)/.test(head.toString('latin1', 0, 21));
}

/** The BAD_REQUEST an HTTP/1 request on a gRPC listener gets: what came, what is served there, where REST is. */
export function http1Refusal(head: Buffer, where: string, rest: string | undefined): AppError {
  const end = head.indexOf('\r\n');
  const line = head.toString('latin1', 0, end < 0 ? Math.min(head.length, 200) : Math.min(end, 200));
  return new AppError('BAD_REQUEST', notGrpcMessage(where, `this connection sent an HTTP/1 request (${echoText(line)})`, rest));
}

/** Answers the HTTP/1 request on `s` with `err` as REST does (status, `{error, code}`, Connection: close), then lingers (endLingering). */
export function answerHttp1(s: Socket, err: AppError): void {
  endLingering(s, rawErrorReply(err.httpStatus, err.code, err.message));
}

/**
 * Writes `answer` and ends `s`, then drops what else the client sends until it closes, HTTP1_LINGER_MS at
 * most: closing with its bytes unread would reset the connection, and the client might lose the answer.
 * Also the REST port's GOAWAY to an HTTP/2 client (../http2-refusal.ts).
 */
export function endLingering(s: Socket, answer: string | Buffer): void {
  const linger = setTimeout(() => s.destroy(), HTTP1_LINGER_MS);
  s.once('close', () => clearTimeout(linger));
  s.on('data', () => undefined);
  s.on('error', () => undefined);
  s.end(answer);
}
