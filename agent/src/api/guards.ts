// Checks on who may call the local API and how (docs/security.md): loopback
// clients, accepted Host names (DNS rebinding), the JSON content type, and
// percent-decoding of path segments as bad input rather than a 500.
import { isUtf8 } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server as NetServer } from 'node:net';
import { AppError, echoText, jsonParseProblem, listenError } from '@edgefleet/shared/core';

/**
 * A request body (a gRPC message) over its limit: REST's 413 and gRPC's RESOURCE_EXHAUSTED carry this one
 * text, naming the size when it is known, the limit and the setting it comes from.
 */
export function bodyTooLarge(limit: number, setting: string, bytes?: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `request body${bytes === undefined ? '' : ` of ${bytes} bytes`} is too large: expected at most ${limit} bytes (${setting})`);
}

/**
 * Listens on host:port; a refusal the config can cure (a port in use, an address not the box's, a port
 * that needs privileges) is CONFIG_INVALID naming the setting, its value and what was expected.
 * `backlog`: connections the kernel holds until they are accepted (node's default 511; the kernel caps
 * it at net.core.somaxconn), for a burst that comes while the event loop is busy (./connection-cap.ts).
 */
export function listenTcp(server: NetServer, port: number, host: string, settings: { port: string; host: string }, backlog?: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(listenError(err, port, host, settings, 'agent'));
    server.once('error', fail);
    server.listen({ port, host, ...(backlog === undefined ? {} : { backlog }) }, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/**
 * The bearer token check of api.token (REST's `Authorization` header, gRPC's `authorization` metadata), or
 * undefined with no token set. Both sides are hashed (sha256) and the digests compared with
 * timingSafeEqual: a plain `===` returns at the first byte that differs, so the time of an answer told a
 * client off the box how much of its guess was right, and a length check first would tell the length.
 */
export function bearerCheck(token: string | undefined): ((header: unknown) => boolean) | undefined {
  if (token === undefined) return undefined;
  const expected = createHash('sha256').update(`Bearer ${token}`).digest();
  return (header) => typeof header === 'string' && timingSafeEqual(createHash('sha256').update(header).digest(), expected);
}

export function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1' || (addr?.startsWith('127.') ?? false);
}

/**
 * The DNS-rebinding check's refusal (./handler.ts): a Host not accepted is 403 FORBIDDEN; none at all (HTTP/1.0,
 * a hand-written client; node's own refusal of it was a bare 400 with no body) is 400 BAD_REQUEST saying so.
 */
export function hostRefused(host: string | undefined, hosts: ReadonlySet<string>): AppError {
  const expected = `expected 127.0.0.1, localhost, [::1]${hosts.size > 3 ? ` or one of ${[...hosts].slice(3).join(', ')}` : ''} (api.allowedHosts), with any port`;
  if (host === undefined) return new AppError('BAD_REQUEST', `request has no Host header: ${expected}`);
  return new AppError('FORBIDDEN', `Host ${JSON.stringify(host)} is not accepted: ${expected}`);
}

/** The host name of a Host header, lower case, without the port ("[::1]" keeps its brackets). */
export function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return (end < 0 ? host : host.slice(0, end + 1)).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

export function allowedHostNames(extra: readonly string[]): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  for (const h of extra) {
    const n = h.toLowerCase();
    if (n === '0.0.0.0' || n === '::' || n === '[::]' || n === '') continue; // wildcards are not names
    names.add(n.includes(':') && !n.startsWith('[') ? `[${n}]` : n);
  }
  return names;
}

export function isJson(contentType: string | undefined): boolean {
  if (contentType === 'application/json') return true; // what clients send; no allocation
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

/**
 * Bodies are read as sent: a Content-Encoding other than identity (gzip, br, ...) is refused with 415
 * before a byte is read, naming the encoding, instead of failing later as "not JSON".
 */
export function refuseContentEncoding(encoding: string | string[] | undefined): void {
  if (encoding === undefined) return;
  const text = Array.isArray(encoding) ? encoding.join(', ') : encoding;
  if (text.trim() === '' || text.trim().toLowerCase() === 'identity') return;
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(text)} is not accepted: expected the body sent unencoded (no Content-Encoding, or "identity")`);
}

/** "a", "a and b", "a, b and c" (or "a, b or c"). */
function listText(names: readonly string[], last = 'and'): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} ${last} ${names[names.length - 1]}`;
}

/** The methods of a route that only reads: GET, and HEAD for the same answer without its body (reply.ts isGet). */
export const GET_METHODS = ['GET', 'HEAD'] as const;

/** The methods of a route that only takes a body (infer, feedback). */
export const POST_ONLY = ['POST'] as const;

/**
 * 405 METHOD_NOT_ALLOWED for a known route asked with another method, naming both (RFC 9110 15.5.6);
 * `details.allow` becomes the answer's `Allow` header (reply.ts sendError). Before, a 400 BAD_REQUEST.
 */
export function methodNotAllowed(method: string, path: string, allow: readonly string[]): AppError {
  return new AppError('METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${path}: expected ${listText(allow, 'or')}`, { details: { allow: allow.join(', ') } });
}

/**
 * 404 NOT_FOUND for a path that is no route, naming what was `expected`. A path ending in "/" (a client that
 * joins a base URL and a path with one too many) is told that routes end without one: the 404 named only the
 * expected shape, and `/v2/models/m/infer/` looked like the path it documents.
 */
export function noRoute(method: string, path: string, expected: string): AppError {
  const slash = path.length > 1 && path.endsWith('/') ? ' (routes end without "/")' : '';
  return new AppError('NOT_FOUND', `no route ${method} ${path}${slash}: expected ${expected}`);
}

/**
 * BAD_REQUEST naming the fields of a request object that are not in `allowed`: a misspelt field is
 * refused, not ignored. `where` says which object ("items[2]: "); names are shown as JSON, bounded.
 */
export function refuseUnknownFields(o: object, allowed: readonly string[], where = ''): void {
  let unknown: string[] | undefined;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) (unknown ??= []).push(k);
  if (!unknown) return;
  const shown = unknown.slice(0, 5).map(echoText);
  if (unknown.length > 5) shown.push(`${unknown.length - 5} more`);
  throw new AppError('BAD_REQUEST', `${where}unknown field${unknown.length > 1 ? 's' : ''} ${shown.join(', ')}: expected only ${listText(allowed)}`);
}

/** The binary tensor extension's body type (binary.ts); like JSON, a browser cannot send it without a preflight. */
export function isOctetStream(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/octet-stream';
}

/**
 * An infer request's Content-Type: JSON, or with Inference-Header-Content-Length (`binary`) JSON or
 * octet-stream. Binary tensor data sent without that header is refused naming the header, not only the type.
 */
export function refuseMediaType(ct: string | undefined, binary: boolean): void {
  if (binary ? isJson(ct) || isOctetStream(ct) : isJson(ct)) return;
  if (!binary && isOctetStream(ct)) throw mediaTypeRefusal(ct, '"application/json"', ' without Inference-Header-Content-Length (binary tensor data needs that header)');
  throw mediaTypeRefusal(ct, '"application/json", or "application/octet-stream" with Inference-Header-Content-Length (binary tensor data)');
}

/**
 * 415 UNSUPPORTED_MEDIA_TYPE for a POST body of type `ct`, naming what is `expected`. A body sent as a form,
 * what `curl -d '{...}'` sends (application/x-www-form-urlencoded), or with no type (`curl -X POST` without
 * `-d`, a client that sets none) is told the header to add; only the form is blamed on curl -d (a request with
 * no type was told "Content-Type \"\"" and that curl -d sends a form, which it had not).
 */
export function mediaTypeRefusal(ct: string | undefined, expected: string, why = ''): AppError {
  const add = `add -H 'content-type: application/json'`;
  if (ct === undefined || ct.trim() === '') return new AppError('UNSUPPORTED_MEDIA_TYPE', `a POST with no Content-Type is not accepted${why}: expected ${expected} (${add})`);
  const form = /^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(ct.trim());
  const hint = form ? ` (curl -d sends application/x-www-form-urlencoded: ${add})` : '';
  return new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(ct)} is not accepted${why}: expected ${expected}${hint}`);
}

/**
 * The text of a JSON body's first `end` bytes (`what` names it in the error: "request body"). JSON is UTF-8
 * (RFC 8259): bytes that are not (latin1 "caf\xe9", UTF-16) are a BAD_REQUEST naming the first bad byte, not
 * decoded with U+FFFD in their place, which handed the model (BYTES), the `id` echoed back and the feedback
 * and lock texts something the app never sent (docs/agent.md "Local API").
 */
export function jsonText(body: Buffer, end: number, what: string): string {
  const bytes = body.subarray(0, end);
  if (isUtf8(bytes)) return bytes.toString('utf8');
  throw notUtf8(bytes, what, 'JSON text in UTF-8');
}

/** BAD_REQUEST for `bytes` (`what`, not valid UTF-8) naming the first bad byte; REST's JSON and gRPC's strings. */
export function notUtf8(bytes: Buffer, what: string, expected: string): AppError {
  const at = firstBadByte(bytes);
  return new AppError('BAD_REQUEST', `${what} is not valid UTF-8 (byte ${at} is 0x${bytes[at]!.toString(16).toUpperCase().padStart(2, '0')}): expected ${expected} (convert latin1 or UTF-16 text before sending)`);
}

/** The offset of the first byte of `bytes` (not valid UTF-8) that decoding replaces with U+FFFD; linear. */
function firstBadByte(bytes: Buffer): number {
  const text = bytes.toString('utf8');
  let at = 0;
  let from = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) {
    at += Buffer.byteLength(text.slice(from, i));
    from = i + 1;
    if (bytes[at] !== 0xef || bytes[at + 1] !== 0xbf || bytes[at + 2] !== 0xbd) return at;
    at += 3; // a U+FFFD the app sent
  }
  return bytes.length - 1;
}

/** The error for a request body (or, with binary data, its JSON header) that does not parse as JSON. */
export function notJson(body: Buffer, err: unknown, binary: boolean): AppError {
  // An empty body (curl -X POST without -d) is named as such, not as JSON's "Unexpected end of JSON input".
  const why = body.length === 0 ? 'it is empty' : jsonParseProblem(body, err);
  return new AppError('BAD_REQUEST', `request ${binary ? 'header' : 'body'} is not JSON (${why}): expected {"inputs": [{name, shape, datatype, data}]}`);
}

export function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('BAD_REQUEST', `${what} ${JSON.stringify(segment)} in the path is not valid percent-encoding: expected UTF-8 bytes as %XX`);
  }
}

/** JSON bodies at least this large have their objects and arrays counted before they are parsed. */
export const CONTAINER_CHECK_MIN = 1 << 20;

/**
 * PAYLOAD_TOO_LARGE for a JSON body of more objects and arrays than one per 16 bytes of api.maxBodyBytes:
 * JSON.parse makes each (50 bytes and more of heap for 2 or 3 bytes of `{},`), so a body of them parsed
 * into ~50 times its size before validation could refuse it. Counted on the bytes, `{` and `[` inside
 * strings too: an upper bound, by memchr, stopping past the limit (docs/agent.md "Limits").
 */
export function refuseManyContainers(body: Buffer, jsonBytes: number, maxBodyBytes: number): void {
  const limit = Math.floor(maxBodyBytes / 16);
  const json = body.subarray(0, jsonBytes);
  let n = 0;
  // memchr-fast on a body of numbers; stops once past the limit.
  for (const c of [0x5b, 0x7b]) {
    for (let i = json.indexOf(c); i >= 0 && n <= limit; i = json.indexOf(c, i + 1)) n++;
  }
  if (n > limit) {
    throw new AppError('PAYLOAD_TOO_LARGE', `request body of ${jsonBytes} bytes holds more than ${limit} JSON objects and arrays: expected at most ${limit} (one per 16 bytes of api.maxBodyBytes: each takes more than 50 bytes once parsed); send data flat (row-major) or as binary data`);
  }
}
