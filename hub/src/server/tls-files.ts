// The embedded broker's TLS certificate and private key (--tls-cert, --tls-key; docs/operations.md "TLS"):
// read and checked as a pair before the broker listens, so a wrong path, a file that is not PEM or a key
// of another certificate is refused as CONFIG_INVALID naming the option and the file, not as a bare
// ENOENT or an OpenSSL error.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { AppError } from '@edgefleet/shared';

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AppError('CONFIG_INVALID', `${option} ${file}: cannot read it (${code}); expected a PEM file the hub's user can read`);
  }
}

/** The PEM certificate (chain) and key of `tlsCert`/`tlsKey`, checked to be one usable pair. */
export function readTlsFiles(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const cert = readPem('tlsCert (--tls-cert)', certFile);
  const key = readPem('tlsKey (--tls-key)', keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new AppError('CONFIG_INVALID',
      `tlsCert (--tls-cert) ${certFile} and tlsKey (--tls-key) ${keyFile} are not a usable certificate and private key (${(err as Error).message}); ` +
      'expected PEM files: the certificate (then any intermediates) and the private key it was issued for');
  }
  return { cert, key };
}
