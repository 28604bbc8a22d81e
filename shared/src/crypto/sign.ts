// Ed25519 signing and verification over bytes and over canonical JSON, and
// `{signed, signatures}` envelopes (docs/decisions/0004-signed-envelopes.md).
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { canonicalBytes } from '../canonical.js';
import { AppError } from '../errors.js';
import type { Signature } from '../wire/common.js';
import { keyIdOf, type KeyPair } from './keys.js';

/** A key pair or a bare 64-byte tweetnacl secret key (its public half is in its last 32 bytes). */
export type SigningKey = KeyPair | Uint8Array;

function secretOf(key: SigningKey): { secretKey: Uint8Array; keyId: string } {
  const secretKey = key instanceof Uint8Array ? key : key.secretKey;
  if (secretKey.length !== nacl.sign.secretKeyLength) {
    throw new AppError('INVALID_INPUT', `secret key has ${secretKey.length} bytes; expected ${nacl.sign.secretKeyLength}`);
  }
  return { secretKey, keyId: keyIdOf(secretKey.subarray(32)) };
}

// Ed25519 is deterministic (RFC 8032): OpenSSL (node:crypto) and tweetnacl produce the same signature
// bytes for the same key and message, and OpenSSL's is ~100x faster (a hub signs a desired document per
// device). Keys stay in tweetnacl's format; they are wrapped as KeyObjects here, once per key.
// See docs/decisions/0007-ed25519-through-node-crypto.md.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function privateKeyObject(secretKey: Uint8Array, keyId: string): KeyObject {
  let k = privateKeys.get(keyId);
  if (!k) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    if (privateKeys.size > 64) privateKeys.clear();
    privateKeys.set(keyId, k);
  }
  return k;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex');
  let k = publicKeys.get(id);
  if (!k) {
    k = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size > 256) publicKeys.clear();
    publicKeys.set(id, k);
  }
  return k;
}

/** Signs `bytes`; the signature names the signer's keyId. */
export function signBytes(key: SigningKey, bytes: Uint8Array): Signature {
  const { secretKey, keyId } = secretOf(key);
  const sig = nodeSign(null, bytes, privateKeyObject(secretKey, keyId));
  return { keyId, alg: 'ed25519', sig: sig.toString('base64') };
}

/** True when `sig` (base64 or raw) is a valid Ed25519 signature of `bytes` by `publicKey`; never throws on malformed input. */
export function verifyBytes(publicKey: Uint8Array, bytes: Uint8Array, sig: string | Uint8Array): boolean {
  const raw = typeof sig === 'string' ? Buffer.from(sig, 'base64') : sig;
  if (raw.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) return false;
  try {
    return nodeVerify(null, bytes, publicKeyObject(publicKey), raw);
  } catch {
    return false;
  }
}

/** Signs the canonical JSON bytes of `value`. */
export function signCanonical(key: SigningKey, value: unknown): Signature {
  return signBytes(key, canonicalBytes(value));
}

/** `{signed: body, signatures}` with one signature per key over canonicalJson(body). */
export function signEnvelope<T>(body: T, keys: SigningKey[]): { signed: T; signatures: Signature[] } {
  const bytes = canonicalBytes(body);
  return { signed: body, signatures: keys.map((k) => signBytes(k, bytes)) };
}

/** Adds signatures to an envelope; a key that already signed is not added twice. */
export function addSignatures<T>(env: { signed: T; signatures: Signature[] }, keys: SigningKey[]): { signed: T; signatures: Signature[] } {
  const bytes = canonicalBytes(env.signed);
  const signatures = [...env.signatures];
  for (const k of keys) {
    const s = signBytes(k, bytes);
    if (!signatures.some((x) => x.keyId === s.keyId)) signatures.push(s);
  }
  return { signed: env.signed, signatures };
}
