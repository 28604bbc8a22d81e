// The REST handler's JSON replies (handler.ts): a body with its headers, an AppError as
// {error, code} with Retry-After / WWW-Authenticate / Allow where docs/agent.md says, the GET-only check (HEAD too), and /metrics.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { AppError } from '@edgefleet/shared/core';
import { GET_METHODS, methodNotAllowed } from './guards.js';
import type { ApiDeps } from './handler-deps.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

export function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS);
  res.end(text);
}

/**
 * An error answer written straight to a socket, not through node:http (the request never reached the
 * handler, or came to the gRPC port: ./grpc/first-bytes.ts): HTTP/1.1, `{error, code}`, Connection: close.
 */
export function rawErrorReply(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: message, code });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

export function sendError(res: ServerResponse, err: AppError): void {
  const headers: Record<string, string> = {};
  if (err.code === 'OVERLOADED' || err.code === 'NOT_READY') headers['retry-after'] = '1';
  if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  if (err.code === 'METHOD_NOT_ALLOWED') headers.allow = (err.details as { allow?: string } | undefined)?.allow ?? '';
  // A body refused unread is not drained: the connection closes after the reply.
  if (!res.req.complete) headers.connection = 'close';
  send(res, err.httpStatus, { error: err.message, code: err.code }, headers);
}

/**
 * GET, or HEAD: the same answer without its body (node:http drops it), as HTTP has every GET route take
 * (RFC 9110 9.3.2); health checkers such as GNU `wget --spider` send HEAD and got a 400 (docs/agent.md).
 */
export function isGet(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** A route that only reads: another method is 405 with `Allow: GET, HEAD`. */
export function wantGet(method: string, path: string): void {
  if (!isGet(method)) throw methodNotAllowed(method, path, GET_METHODS);
}

/** GET /metrics: the API's series, queue depths and model load times, then the agent's own (docs/agent.md "Local API"). */
export function sendMetrics(res: ServerResponse, deps: Pick<ApiDeps, 'runtime' | 'metrics' | 'extraMetrics'>): void {
  const { runtime } = deps;
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(deps.metrics.render({
    queueDepths: () => runtime.names().map((model) => ({ model, depth: runtime.queueDepth(model) })),
    loadTimes: () => runtime.names().flatMap((model) => {
      const v = runtime.active(model);
      return v ? [{ model, version: v.version, seconds: v.loadSeconds }] : [];
    }),
  }) + (deps.extraMetrics?.() ?? ''));
}
