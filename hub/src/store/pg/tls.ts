// TLS to PostgreSQL as the hub takes it from the database URL (docs/operations.md "Running on
// PostgreSQL", docs/decisions/0075-postgresql-tls-verify-full-only.md): `pg` reads sslmode, sslrootcert,
// sslcert and sslkey from the URL. The hub accepts the sslmode values that mean the same to `pg` and to
// libpq (psql, pg_dump given the same URL): verify-full and disable. The files are checked before the
// worker starts, so a wrong path is named at start instead of failing inside the worker thread.
import { readFileSync } from 'node:fs';
import { UNTRUSTED_CERT_CODES, tlsHint } from '@edgefleet/shared/core';

/** The sslmode values the hub accepts. */
const SSLMODES = new Set(['verify-full', 'disable']);
/** The URL's parameters naming files `pg` reads at each connection, and what each must hold. */
const FILES = { sslrootcert: 'the CA certificate(s) that signed the server\'s certificate', sslcert: 'the hub\'s client certificate', sslkey: 'the hub\'s client key' } as const;

/** The URL's query parameters; none for a URL that does not parse (the connection names that). */
function params(url: string): URLSearchParams {
  try {
    return new URL(url).searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/**
 * Why the URL's TLS settings cannot be used, or undefined: an sslmode other than verify-full or disable
 * (`pg` would verify as verify-full what libpq would not, with a multi-line process warning), or a file
 * parameter naming a file that cannot be read or holds no PEM block.
 */
export function tlsProblem(url: string): string | undefined {
  const p = params(url);
  const mode = p.get('sslmode');
  if (mode !== null && !SSLMODES.has(mode)) {
    return `sslmode=${mode} is not accepted: the hub verifies the server's certificate and name whenever it uses TLS, which libpq (psql, pg_dump) does only for sslmode=verify-full; `
      + 'expected sslmode=verify-full (with sslrootcert=/path/to/ca.pem for a private CA) or sslmode=disable (docs/decisions/0075-postgresql-tls-verify-full-only.md)';
  }
  for (const [name, holds] of Object.entries(FILES)) {
    const path = p.get(name);
    if (path === null) continue;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return `${name}=${path} cannot be read (${(err as Error).message}): expected a PEM file with ${holds}, readable by the user the hub runs as`;
    }
    if (!text.includes('-----BEGIN ')) return `${name}=${path} holds no PEM block: expected a PEM file with ${holds}`;
  }
  return undefined;
}

/**
 * What to do about a failed first connection that TLS explains, or undefined: a certificate refused
 * (`code`: Node's TLS code, passed on by the worker), a server that takes only TLS from this host
 * (pg_hba.conf hostssl: "no pg_hba.conf entry … no encryption") reached without it, or a server without
 * TLS reached with it.
 */
export function tlsFailureHint(message: string, code: string | undefined, url: string): string | undefined {
  const p = params(url);
  const ca = p.get('sslrootcert');
  if (code !== undefined && UNTRUSTED_CERT_CODES.has(code)) {
    return ca !== null
      ? `the server's certificate is not signed by the CA in sslrootcert=${ca}: expected sslrootcert to name the CA certificate that signed the server's (its ssl_cert_file)`
      : 'the server\'s certificate is not signed by a CA this program trusts: expected sslrootcert=/path/to/ca.pem in the URL naming the CA that signed it';
  }
  if (code !== undefined) {
    const hint = tlsHint({ code });
    if (hint) return hint;
  }
  const tls = p.get('sslmode') !== 'disable' && (p.has('sslmode') || ca !== null || p.has('sslcert') || p.has('ssl'));
  if (!tls && /^no pg_hba\.conf entry for .*no encryption$/.test(message)) {
    return 'the server takes only TLS connections from this host (hostssl in its pg_hba.conf): expected sslmode=verify-full&sslrootcert=/path/to/ca.pem in the URL';
  }
  if (tls && /does not support SSL/i.test(message)) {
    return 'the URL asks for TLS and the server has none (ssl = off): expected a server with ssl = on, or sslmode=disable on a network you trust';
  }
  return undefined;
}
