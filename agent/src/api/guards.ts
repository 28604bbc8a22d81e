// Checks on who may call the local API and how (docs/security.md): loopback
// clients, accepted Host names (DNS rebinding), the JSON content type, and
// percent-decoding of path segments as bad input rather than a 500.
import { AppError } from '@edgefleet/shared/core';

/**
 * A request body (a gRPC message) over its limit: REST's 413 and gRPC's RESOURCE_EXHAUSTED carry this one
 * text, naming the size when it is known, the limit and the setting it comes from.
 */
export function bodyTooLarge(limit: number, setting: string, bytes?: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `request body${bytes === undefined ? '' : ` of ${bytes} bytes`} is too large: expected at most ${limit} bytes (${setting})`);
}

export function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1' || (addr?.startsWith('127.') ?? false);
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

/** The binary tensor extension's body type (binary.ts); like JSON, a browser cannot send it without a preflight. */
export function isOctetStream(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/octet-stream';
}

export function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('BAD_REQUEST', `${what} ${JSON.stringify(segment)} in the path is not valid percent-encoding: expected UTF-8 bytes as %XX`);
  }
}
