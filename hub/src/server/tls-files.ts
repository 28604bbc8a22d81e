// The embedded broker's TLS certificate and private key (--tls-cert, --tls-key; docs/operations.md "TLS"):
// read and checked as a pair before the broker listens, so a wrong path, a file that is not PEM or a key
// of another certificate is refused as CONFIG_INVALID naming the option and the file, not as a bare
// ENOENT or an OpenSSL error. A certificate that has expired, is not valid yet or expires within 30 days
// is said at start (a warning naming the file and the date): devices refuse it with "certificate has
// expired", and nothing on the hub's side said why its mqtts:// devices all stayed offline.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { AppError } from '@edgefleet/shared';
import type { HubConfig } from '../config.js';

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AppError('CONFIG_INVALID', `${option} ${file}: cannot read it (${code}); expected a PEM file the hub's user can read`);
  }
}

const SOON_MS = 30 * 86_400_000;

/**
 * What an operator should hear about the dates of the certificate (the first of the chain) at `now`:
 * expired, not valid yet, or expiring within 30 days; null when none of these (or when the dates cannot be read).
 */
export function certificateDateWarning(certFile: string, cert: Buffer, now: Date): string | null {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch {
    return null;
  }
  const from = new Date(x.validFrom);
  const to = new Date(x.validTo);
  const fix = 'replace the files (docs/operations.md "TLS") and restart the hub';
  if (to.getTime() <= now.getTime()) {
    return `tlsCert (--tls-cert) ${certFile} expired at ${to.toISOString()}: every device refuses it ("certificate has expired") ` +
      `and none connects on the mqtts port; ${fix}`;
  }
  if (from.getTime() > now.getTime()) {
    return `tlsCert (--tls-cert) ${certFile} is not valid before ${from.toISOString()} (this machine's clock says ${now.toISOString()}): ` +
      `devices refuse it until then; check the clock, or ${fix}`;
  }
  if (to.getTime() - now.getTime() < SOON_MS) {
    const days = Math.floor((to.getTime() - now.getTime()) / 86_400_000);
    return `tlsCert (--tls-cert) ${certFile} expires at ${to.toISOString()} (in ${days} day(s)); devices will refuse it from then on: ${fix} before`;
  }
  return null;
}

/**
 * The PEM certificate (chain) and key of `tlsCert`/`tlsKey`, checked to be one usable pair; `warn` hears
 * about a certificate that has expired, is not valid yet or expires soon (it still starts: the plain
 * port and the API keep serving).
 */
export function readTlsFiles(certFile: string, keyFile: string, now?: Date, warn?: (message: string) => void): { cert: Buffer; key: Buffer } {
  const cert = readPem('tlsCert (--tls-cert)', certFile);
  const key = readPem('tlsKey (--tls-key)', keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new AppError('CONFIG_INVALID',
      `tlsCert (--tls-cert) ${certFile} and tlsKey (--tls-key) ${keyFile} are not a usable certificate and private key (${(err as Error).message}); ` +
      'expected PEM files: the certificate (then any intermediates) and the private key it was issued for');
  }
  const dates = now ? certificateDateWarning(certFile, cert, now) : null;
  if (dates) warn?.(dates);
  return { cert, key };
}

/** The embedded broker's TLS files when it has a TLS listener (not with an external broker), else null. */
export function embeddedTlsFiles(cfg: HubConfig): { cert: string; key: string } | null {
  return !cfg.externalBroker && cfg.mqttsPort !== undefined && cfg.tlsCert && cfg.tlsKey ? { cert: cfg.tlsCert, key: cfg.tlsKey } : null;
}
