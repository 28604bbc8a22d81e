// Ed25519 key pairs (tweetnacl) and their key files (docs/architecture.md section 4):
// `N.key` holds the secret (mode 0600, written atomically), `N.pub` the public
// half. keyId = hex sha256 of the raw 32-byte public key.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { z } from 'zod';
import { sha256Hex } from '../canonical.js';
import { AppError, fileReadError } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';
import { secretJsonProblem } from '../text.js';

export { writeFileAtomic };
import { Base64, KeyId, parseWire, schemaTag } from '../wire/common.js';
import { Role } from '../wire/trust.js';

export const SECRET_KEY_SCHEMA = 'edgefleet.key/v1' as const;
export const PUBLIC_KEY_SCHEMA = 'edgefleet.pubkey/v1' as const;
const KeyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a key name of letters, digits, ".", "_" or "-" (at most 64)');

export const SecretKeyFile = z.object({
  schema: schemaTag(SECRET_KEY_SCHEMA), role: Role, name: KeyName, keyId: KeyId, public: Base64, secret: Base64,
});
export type SecretKeyFile = z.infer<typeof SecretKeyFile>;
export const PublicKeyFile = z.object({
  schema: schemaTag(PUBLIC_KEY_SCHEMA), role: Role, name: KeyName, keyId: KeyId, public: Base64,
});
export type PublicKeyFile = z.infer<typeof PublicKeyFile>;

/** A public key as trust documents and verifiers need it. */
export interface PubKey { keyId: string; publicKey: Uint8Array; role?: Role; name?: string }
/** A key pair: secretKey is tweetnacl's 64-byte form (seed + public key). */
export interface KeyPair extends PubKey { role: Role; name: string; secretKey: Uint8Array }

export function keyIdOf(publicKey: Uint8Array): string {
  if (publicKey.length !== nacl.sign.publicKeyLength) {
    throw new AppError('INVALID_INPUT', `public key has ${publicKey.length} bytes; expected ${nacl.sign.publicKeyLength}`);
  }
  return sha256Hex(publicKey);
}

/** A fresh key pair for `role`; `seed` (32 bytes) makes it deterministic for tests and examples. */
export function generateKeyPair(role: Role, name?: string, seed?: Uint8Array): KeyPair {
  const kp = seed ? nacl.sign.keyPair.fromSeed(seed) : nacl.sign.keyPair();
  const keyId = keyIdOf(kp.publicKey);
  const n = name ?? `${role}-${keyId.slice(0, 8)}`;
  KeyName.parse(n);
  return { role, name: n, keyId, publicKey: kp.publicKey, secretKey: kp.secretKey };
}

/** The key pair held in a secret key (64 bytes, as tweetnacl gives it). */
export function keyPairFromSecret(secretKey: Uint8Array, role: Role, name: string): KeyPair {
  if (secretKey.length !== nacl.sign.secretKeyLength) {
    throw new AppError('INVALID_INPUT', `secret key has ${secretKey.length} bytes; expected ${nacl.sign.secretKeyLength}`);
  }
  const publicKey = nacl.sign.keyPair.fromSecretKey(secretKey).publicKey;
  return { role, name, keyId: keyIdOf(publicKey), publicKey, secretKey };
}

export function toSecretKeyFile(pair: KeyPair): SecretKeyFile {
  return {
    schema: SECRET_KEY_SCHEMA, role: pair.role, name: pair.name, keyId: pair.keyId,
    public: Buffer.from(pair.publicKey).toString('base64'), secret: Buffer.from(pair.secretKey).toString('base64'),
  };
}

export function toPublicKeyFile(pair: PubKey & { role: Role; name: string }): PublicKeyFile {
  return { schema: PUBLIC_KEY_SCHEMA, role: pair.role, name: pair.name, keyId: pair.keyId, public: Buffer.from(pair.publicKey).toString('base64') };
}

/** Writes DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub. */
export function writeKeyFiles(dir: string, name: string, pair: KeyPair): { keyPath: string; pubPath: string } {
  KeyName.parse(name);
  const keyPath = join(dir, `${name}.key`);
  const pubPath = join(dir, `${name}.pub`);
  const named = { ...pair, name };
  writeFileAtomic(keyPath, `${JSON.stringify(toSecretKeyFile(named), null, 2)}\n`, 0o600);
  writeFileAtomic(pubPath, `${JSON.stringify(toPublicKeyFile(named), null, 2)}\n`);
  return { keyPath, pubPath };
}

function decodeKey(b64: string, bytes: number, what: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== bytes || buf.toString('base64') !== b64) {
    throw new AppError('INVALID_INPUT', `${what}: expected ${bytes} bytes of base64, got ${buf.length} bytes${buf.toString('base64') !== b64 ? ' (not canonical base64)' : ''}`);
  }
  return new Uint8Array(buf);
}

function kindMismatch(value: unknown, path: string, expected: 'secret' | 'public'): void {
  const tag = (value as { schema?: unknown } | null)?.schema;
  if (expected === 'secret' && tag === PUBLIC_KEY_SCHEMA) {
    throw new AppError('INVALID_INPUT', `${path} is a public key file (${PUBLIC_KEY_SCHEMA}); expected a secret key file (${SECRET_KEY_SCHEMA}, usually NAME.key)`);
  }
  if (expected === 'public' && tag === SECRET_KEY_SCHEMA) {
    throw new AppError('INVALID_INPUT', `${path} is a secret key file (${SECRET_KEY_SCHEMA}); expected a public key file (${PUBLIC_KEY_SCHEMA}, usually NAME.pub)`);
  }
  // Another edgefleet file (a trust document, whose tag is under "signed", a content key, ...) given as a key
  // was refused as "unsupported schema undefined" and every missing field. A key file of another
  // version stays UNSUPPORTED_VERSION (the schema check).
  const other = typeof tag === 'string' ? tag : (value as { signed?: { schema?: unknown } } | null)?.signed?.schema;
  if (typeof other === 'string' && other.startsWith('edgefleet.') && !/^edgefleet\.(key|pubkey)\//.test(other)) {
    const want = expected === 'secret' ? `a secret key file (${SECRET_KEY_SCHEMA}, usually NAME.key)` : `a public key file (${PUBLIC_KEY_SCHEMA}, usually NAME.pub)`;
    throw new AppError('INVALID_INPUT', `${path} is a ${other} file, not a key; expected ${want}`);
  }
}

/** Checks a parsed secret key file: base64 lengths, public half and keyId consistent. */
export function keyPairFromFile(f: SecretKeyFile, what = 'secret key file'): KeyPair {
  const secretKey = decodeKey(f.secret, nacl.sign.secretKeyLength, `${what}: secret`);
  const publicKey = decodeKey(f.public, nacl.sign.publicKeyLength, `${what}: public`);
  const derived = nacl.sign.keyPair.fromSecretKey(secretKey).publicKey;
  if (!Buffer.from(derived).equals(Buffer.from(publicKey))) {
    throw new AppError('INVALID_INPUT', `${what}: the public key does not belong to the secret key`);
  }
  const keyId = keyIdOf(publicKey);
  if (keyId !== f.keyId) throw new AppError('INVALID_INPUT', `${what}: keyId ${f.keyId} does not match the public key (expected ${keyId})`);
  return { role: f.role, name: f.name, keyId, publicKey, secretKey };
}

/** Checks a parsed public key file: base64 length and keyId. */
export function pubKeyFromFile(f: PublicKeyFile, what = 'public key file'): PubKey & { role: Role; name: string } {
  const publicKey = decodeKey(f.public, nacl.sign.publicKeyLength, `${what}: public`);
  const keyId = keyIdOf(publicKey);
  if (keyId !== f.keyId) throw new AppError('INVALID_INPUT', `${what}: keyId ${f.keyId} does not match the public key (expected ${keyId})`);
  return { role: f.role, name: f.name, keyId, publicKey };
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileReadError(err, what, path);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('INVALID_INPUT', `${what} ${path} is not JSON (${secretJsonProblem(text, err)})`);
  }
}

export async function readSecretKeyFile(path: string): Promise<KeyPair> {
  const value = await readJsonFile(path, 'secret key file');
  kindMismatch(value, path, 'secret');
  const f = parseWire(SecretKeyFile, value, `secret key file ${path}`);
  return keyPairFromFile(f, `secret key file ${path}`);
}

export async function readPublicKeyFile(path: string): Promise<PubKey & { role: Role; name: string }> {
  const value = await readJsonFile(path, 'public key file');
  kindMismatch(value, path, 'public');
  const f = parseWire(PublicKeyFile, value, `public key file ${path}`);
  return pubKeyFromFile(f, `public key file ${path}`);
}
