// What the REST listener answers when node's HTTP parser refuses bytes while a request on the same
// connection is already being served (./server.ts 'clientError'): node's own way, and ours before,
// was to destroy the connection, so a client whose chunked body was malformed, or who sent more bytes
// than its Content-Length said (the rest read as a next request), got a reset and no word of why,
// and lost the answer to a request it had sent whole. Now (docs/agent.md "Local API", errors):
// - the refused bytes are in the body of the request being served: that request is answered 400
//   BAD_REQUEST in the parser's words, and the connection closed;
// - they come after requests sent whole: those are answered first, then the 400, then the close.
// A request timed out mid-body, or an answer already under way, is cut as before: nothing more can be said.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AppError } from '@edgefleet/shared/core';

/** Connections whose parser failed while a request was served: the parser, stuck, fails again on each later read. */
const handled = new WeakSet<Socket>();

type WithMessage = Socket & { _httpMessage?: ServerResponse | null };

/** node's answer in progress on `socket`, if a request on it reached the handler and is not answered yet. */
export function inFlight(socket: Socket): ServerResponse | undefined {
  return (socket as WithMessage)._httpMessage ?? undefined;
}

/**
 * Answers a parse failure on a connection with a request in flight (see the header): `message` in
 * the parser's words, `rawError` writes a 400 straight to the socket and closes it.
 */
export function refuseAfterInFlight(socket: Socket, res: ServerResponse, message: string, rawError: (message: string) => void): void {
  if (handled.has(socket)) return;
  handled.add(socket);
  socket.pause(); // the stuck parser would fail again on every byte the client still sends
  const req: IncomingMessage = res.req;
  if (!req.complete) {
    // The request's own body is malformed: its reader (the handler's) answers the error on `res`.
    if (res.headersSent || req.listenerCount('error') === 0) {
      socket.destroy();
      return;
    }
    req.emit('error', new AppError('BAD_REQUEST', message));
    return;
  }
  // Requests before the refused bytes came whole: their answers go first, in order, then the 400.
  const after = (): void => {
    const next = inFlight(socket);
    if (next && next !== res && !next.writableFinished) {
      res = next;
      next.once('finish', after);
      return;
    }
    if (!socket.destroyed && socket.writable) rawError(message);
  };
  if (res.writableFinished) after();
  else res.once('finish', after);
}
