// Why a hub or broker could not be reached, in words an operator can act on (docs/operations.md "TLS"):
// Node's fetch says only "fetch failed" and keeps the reason (connection refused, a certificate it does
// not trust) in its cause; a certificate refusal gets what to do about it.
import { AppError } from './errors.js';

/** Node's codes for a certificate this process does not trust. */
export const UNTRUSTED_CERT_CODES: ReadonlySet<string> = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE']);

/** What to do about a TLS refusal of the server's certificate; undefined for any other error. */
export function tlsHint(err: { code?: unknown }): string | undefined {
  if (typeof err.code !== 'string') return undefined;
  if (UNTRUSTED_CERT_CODES.has(err.code)) {
    return 'the server\'s certificate is not signed by a CA this program trusts: for a private CA set NODE_EXTRA_CA_CERTS=/path/to/ca.pem in its environment (docs/operations.md "TLS")';
  }
  if (err.code === 'CERT_HAS_EXPIRED' || err.code === 'CERT_NOT_YET_VALID') return 'the server\'s certificate is outside its validity dates (or this machine\'s clock is wrong)';
  if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the server\'s certificate does not name the host in the URL (docs/operations.md "TLS")';
  // OpenSSL's reading of a plain HTTP answer as a TLS record: the hub serves plain HTTP (docs/operations.md "TLS").
  if (err.code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'the server answered in plain HTTP, not TLS: expected an http:// URL for it, or the https:// address of its TLS proxy';
  return undefined;
}

/**
 * What to do about a port fetch refuses before connecting ("bad port": the Fetch standard's blocked ports,
 * 6000, 6665-6669 and others, which browsers refuse too): the hub may listen there, but no client reaches it.
 */
function blockedPortHint(origin: string, cause: Error | undefined): string | undefined {
  if (cause?.message !== 'bad port') return undefined;
  return `port ${new URL(origin).port} is one that fetch, as browsers, refuses to connect to (the Fetch standard's blocked ports): `
    + 'run the hub on another --http-port, e.g. 8700, or put a proxy on another port in front of it';
}

/** What to do about a connection refused or a host name that does not resolve: the address is likely not the hub's. */
function addressHint(cause: (Error & { code?: unknown }) | undefined): string | undefined {
  const what = cause?.code === 'ECONNREFUSED' ? 'nothing listens there'
    : cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN' ? 'the host name does not resolve' : undefined;
  return what && `${what}: expected a running hub's address, e.g. http://127.0.0.1:8700 (edgefleet-hub run logs it as "http")`;
}

/**
 * How long the CLIs (`edgefleet`, `edgefleet-agent enroll`) wait for a hub's answer to one request: a program
 * on that port that accepts connections and never answers held them forever. The hub answers well within
 * it (its slowest statements are cut at 30 s, docs/hub.md "Stopping"); uploads are not bounded by it.
 */
export const HUB_ANSWER_MS = 120_000;

/**
 * IO_ERROR "cannot reach the hub at ORIGIN: …" with fetch's cause and, for a certificate, a blocked port, a
 * connection refused or a name that does not resolve, the hint; for a request aborted by AbortSignal.timeout(`waitedMs`), that nothing answered in that time.
 */
export function hubUnreachable(origin: string, err: unknown, waitedMs = HUB_ANSWER_MS): AppError {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.name === 'TimeoutError') {
    return new AppError('IO_ERROR', `cannot reach the hub at ${origin}: no answer in ${waitedMs / 1000} s: expected the hub's address `
      + '(edgefleet-hub run logs it as "http"); a program there takes connections and does not answer, or the hub is stuck', { cause: err });
  }
  const cause = e.cause instanceof Error ? (e.cause as Error & { code?: unknown }) : undefined;
  let why = e.message;
  // OpenSSL's own words for a plain HTTP answer are a library's error string: the hint says it.
  const said = cause?.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ? 'no TLS handshake' : cause?.message.trim();
  if (said && !why.includes(said)) why += `: ${said}`;
  const hint = tlsHint(cause ?? (e as { code?: unknown })) ?? blockedPortHint(origin, cause) ?? addressHint(cause);
  return new AppError('IO_ERROR', `cannot reach the hub at ${origin}: ${why}${hint ? ` (${hint})` : ''}`, { cause: err });
}

/**
 * Why `text` (from `--hub`, or `EDGEFLEET_HUB` when `fromEnv`) cannot be a hub's address, or undefined:
 * without http:// or https:// it would reach fetch and fail as an unreachable hub (or as "not a URL").
 */
export function hubUrlProblem(text: string, fromEnv: boolean): string | undefined {
  if (/^https?:\/\/[^/]/i.test(text) && URL.canParse(text)) return undefined;
  return `${fromEnv ? 'EDGEFLEET_HUB=' : '--hub '}${text}: expected the hub's http:// or https:// URL, e.g. http://127.0.0.1:8700`;
}

/**
 * IO_ERROR for an answer that is not the hub's (no JSON, or an error without the hub's {error: {code,
 * message}}): another program on that port, or a proxy's page. `what` is the request, e.g. "GET /api/v1/devices";
 * `where` is where the address was given (the desktop app's form says its own field).
 */
export function notAHub(base: string, what: string, status: number, type: string | null, where = 'in --hub or EDGEFLEET_HUB'): AppError {
  return new AppError('IO_ERROR', `${base} answered ${what} with HTTP ${status}${type ? ` (${type.split(';')[0]})` : ''}, not an edgefleet hub's answer: `
    + `expected the hub's address ${where}, e.g. http://127.0.0.1:8700 (edgefleet-hub run logs it as "http")`);
}
