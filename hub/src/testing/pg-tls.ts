// TLS for a test cluster (testing/postgres.ts, docs/operations.md "Running on PostgreSQL"): a private CA
// and a server certificate for 127.0.0.1 it signed, made with openssl at test time (.ci/run installs
// Debian's openssl package), and the settings and pg_hba.conf lines that make the server use them.
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PgTlsFiles {
  /** The CA that signed the server's certificate (PEM): what `sslrootcert=` names. */
  ca: string;
  cert: string;
  key: string;
}

/** Runs openssl in `dir`; an error naming the command and openssl's words when it fails or is missing. */
export function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`openssl is needed for a TLS test cluster (Debian's openssl package; .ci/run installs it): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/** A CA (ca.pem, ca.key) in `dir`, named `name`. */
export function makeCa(dir: string, name = 'test CA'): string {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name}`);
  return join(dir, 'ca.pem');
}

/**
 * A CA and a server certificate for IP 127.0.0.1 it signed, in `dir/tls` (created), owned by `owner`
 * when given: PostgreSQL refuses a key file another user owns or others may read.
 */
export function makeServerTls(dir: string, owner: { uid: number; gid: number } | null): PgTlsFiles {
  const tls = join(dir, 'tls');
  mkdirSync(tls, { mode: 0o700 });
  const ca = makeCa(tls);
  openssl(tls, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(tls, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(tls, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext');
  const files = { ca, cert: join(tls, 'server.pem'), key: join(tls, 'server.key') };
  if (owner) for (const f of [tls, files.cert, files.key]) chownSync(f, owner.uid, owner.gid);
  return files;
}

/** The server's settings for `files`. */
export function sslSettings(files: PgTlsFiles): string[] {
  return ['-c', 'ssl=on', '-c', `ssl_cert_file=${files.cert}`, '-c', `ssl_key_file=${files.key}`];
}

/**
 * pg_hba.conf for a TLS-only server: TCP connections from 127.0.0.1 only with TLS (`hostssl`), so a
 * plain one is refused with PostgreSQL's "no pg_hba.conf entry … no encryption"; the unix socket as initdb had it.
 */
export function hostsslOnly(method: string): string {
  return `local all all ${method}\nhostssl all all 127.0.0.1/32 ${method}\n`;
}
