// Secrets at rest. Device secrets are 256-bit random values the hub issues, so they are
// stored as a salted HMAC-SHA256 (`hs256$salt$mac`) and compared in constant time: a
// microsecond per CONNECT instead of a 16 MiB scrypt (docs/decisions/0008-device-secret-verification.md).
// Hashes written by earlier hubs (`scrypt$N$r$p$salt$hash`) still verify, off the event
// loop, and the caller rewrites them as hs256 on the first success. API and enrollment
// tokens (32 random bytes) are kept as sha256, looked up by hash.
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const HS256 = 'hs256';
const SALT_BYTES = 16;

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function mac(secret: string, salt: Buffer): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** `hs256$salt$mac` (base64url): HMAC-SHA256 keyed by a random salt; microseconds, safe on the event loop. */
export function hashSecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `${HS256}$${salt.toString('base64url')}$${mac(secret, salt).toString('base64url')}`;
}

/**
 * - `ok`: the secret matches a current (hs256) hash;
 * - `ok_rehash`: it matches a hash in an older scheme (scrypt): store hashSecret(secret) in its place;
 * - `bad`: it does not match, or the stored string is in no scheme this hub knows.
 */
export type SecretCheck = 'ok' | 'ok_rehash' | 'bad';

/** hs256 synchronously (the common case costs no thread-pool hop); scrypt on the libuv thread pool. */
export function verifySecret(secret: string, stored: string): SecretCheck | Promise<SecretCheck> {
  const parts = stored.split('$');
  if (parts[0] === HS256 && parts.length === 3) {
    const expected = Buffer.from(parts[2] as string, 'base64url');
    const actual = mac(secret, Buffer.from(parts[1] as string, 'base64url'));
    return actual.length === expected.length && timingSafeEqual(actual, expected) ? 'ok' : 'bad';
  }
  if (parts[0] === 'scrypt' && parts.length === 6) return verifyScrypt(secret, parts as [string, string, string, string, string, string]);
  return 'bad';
}

/** The format hubs before decision 0008 wrote; async so a reconnect storm of old hashes never blocks the loop. */
async function verifyScrypt(secret: string, [, n, r, p, salt, hash]: [string, string, string, string, string, string]): Promise<SecretCheck> {
  const expected = Buffer.from(hash, 'base64url');
  const actual = await new Promise<Buffer>((resolve, reject) => {
    scrypt(secret, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) }, (err, key) => (err ? reject(err) : resolve(key)));
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? 'ok_rehash' : 'bad';
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}
