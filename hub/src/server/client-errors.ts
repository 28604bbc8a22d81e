// What the HTTP server answers a request it cannot parse, before the app sees it: a request line and
// headers over Node's maxHeaderSize (a very long URL or header), bytes that are not HTTP/1.1, headers that
// did not arrive within headersTimeout. Node answered these with a bare status line; here each gets the
// API's {error: {code, message}} naming what was wrong and what was expected (docs/hub.md "REST API",
// docs/decisions/0179-hub-methods-and-media-types.md).
import { maxHeaderSize, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '@edgefleet/shared';

/** The status, its reason phrase and the error for a client error of Node's HTTP parser. */
export function clientErrorAnswer(err: NodeJS.ErrnoException & { reason?: unknown }, limit = maxHeaderSize): [number, string, AppError] {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return [431, 'Request Header Fields Too Large', new AppError('PAYLOAD_TOO_LARGE', `request line and headers are too large: expected at most ${limit} bytes in all (a shorter URL or query string, fewer or shorter headers)`)];
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [408, 'Request Timeout', new AppError('TIMEOUT', 'the request\'s headers did not arrive in time: expected a whole request line and headers within the server\'s headersTimeout')];
  }
  const why = typeof err.reason === 'string' ? err.reason : err.message;
  return [400, 'Bad Request', new AppError('BAD_REQUEST', `the request is not valid HTTP/1.1 (${String(err.code ?? 'parse error')}: ${why.slice(0, 200)}): expected a request line, headers and a body as RFC 9112 says`)];
}

/** Answers the client errors of `server` with the API's JSON error, then closes the connection. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already under way (keep-alive) cannot take another status line; a reset socket takes nothing.
    const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, error] = clientErrorAnswer(err);
    const body = JSON.stringify({ error: error.toJSON() });
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
}
