// Content keys and device keys of sealed models (docs/decisions/0029-sealed-models.md): a content key's
// id, and that key sealed to one device's X25519 public key (re-exported by crypto/sealed.ts).
// Content keys: nacl.box (X25519 + XSalsa20-Poly1305) from a fresh ephemeral key pair to the device
// key, as libsodium's sealed box does; the nonce travels with the box. The X25519 step runs in
// node:crypto (OpenSSL): tweetnacl's JavaScript scalar multiplication costs ~150 ms the first time in
// a process (before the JIT warms up), which a cold start would pay; the rest of nacl.box (HSalsa20,
// then secretbox on 32 bytes) is tweetnacl's, so a box made here opens with nacl.box.open and back.
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { AppError } from '../errors.js';

export const CONTENT_KEY_BYTES = 32;
const KEY_ID_PREFIX = Buffer.from('edgefleet.content-key/v1\0', 'utf8');
export const SEALED_KEY_SCHEMA = 'edgefleet.sealed-key/v1' as const;
export const DEVICE_KEY_SCHEMA = 'edgefleet.device-key/v1' as const;

/** A content key sealed to one device key (desired documents, `edgefleet model seal`). */
export interface SealedKey {
  schema: typeof SEALED_KEY_SCHEMA;
  /** contentKeyId of the key inside. */
  keyId: string;
  /** boxKeyId of the device public key it is sealed to. */
  to: string;
  /** Ephemeral X25519 public key, nonce and box, base64. */
  epk: string;
  nonce: string;
  box: string;
}

/** An X25519 key pair (nacl.box); keyId is the hex sha256 of the public key. */
export interface BoxKeyPair { keyId: string; publicKey: Uint8Array; secretKey: Uint8Array }

/** A one-way name for a content key: sha256 over a fixed prefix and the key (the key is 256 random bits). */
export function contentKeyId(key: Uint8Array): string {
  checkContentKey(key);
  return createHash('sha256').update(KEY_ID_PREFIX).update(key).digest('hex');
}

export function newContentKey(): Uint8Array {
  return new Uint8Array(randomBytes(CONTENT_KEY_BYTES));
}

/** Throws INVALID_INPUT unless `key` has CONTENT_KEY_BYTES bytes (used by crypto/sealed.ts). */
export function checkContentKey(key: Uint8Array): void {
  if (key.length !== CONTENT_KEY_BYTES) throw new AppError('INVALID_INPUT', `content key has ${key.length} bytes; expected ${CONTENT_KEY_BYTES}`);
}

// DER prefixes of a raw X25519 key (RFC 8410): PKCS#8 private, SPKI public.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const SIGMA = new Uint8Array(Buffer.from('expand 32-byte k', 'latin1'));
const ZERO16 = new Uint8Array(16);
/** tweetnacl exports its core functions as `lowlevel` (not in its type declarations). */
const hsalsa20 = (nacl as unknown as { lowlevel: { crypto_core_hsalsa20(out: Uint8Array, inp: Uint8Array, k: Uint8Array, c: Uint8Array): number } }).lowlevel.crypto_core_hsalsa20;

// Importing a private key costs OpenSSL ~1.5 ms (its decoders); a box's device key is used at every
// load of a sealed version, so its KeyObject is kept with the key pair.
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  let k = keyObjects.get(secretKey);
  if (!k) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secretKey]), format: 'der', type: 'pkcs8' });
    keyObjects.set(secretKey, k);
  }
  return k;
}

function publicOf(priv: KeyObject): Uint8Array {
  return new Uint8Array((createPublicKey(priv).export({ format: 'der', type: 'spki' }) as Buffer).subarray(SPKI_X25519.length));
}

/** nacl.box.before(publicKey, secretKey): HSalsa20 of the X25519 shared secret; null for a low-order public key. */
function boxBefore(publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: privateKeyObject(secretKey), publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519, publicKey]), format: 'der', type: 'spki' }) });
  } catch {
    return null; // OpenSSL refuses an all-zero shared secret
  }
  const k = new Uint8Array(32);
  hsalsa20(k, ZERO16, new Uint8Array(shared), SIGMA);
  shared.fill(0);
  return k;
}

export function boxKeyId(publicKey: Uint8Array): string {
  if (publicKey.length !== nacl.box.publicKeyLength) throw new AppError('INVALID_INPUT', `device public key has ${publicKey.length} bytes; expected ${nacl.box.publicKeyLength}`);
  return createHash('sha256').update(publicKey).digest('hex');
}

export function generateBoxKeyPair(): BoxKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const secretKey = new Uint8Array((privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(PKCS8_X25519.length));
  keyObjects.set(secretKey, privateKey);
  const publicKey = publicOf(privateKey);
  return { keyId: boxKeyId(publicKey), publicKey, secretKey };
}

export function boxKeyPairFromSecret(secretKey: Uint8Array): BoxKeyPair {
  if (secretKey.length !== nacl.box.secretKeyLength) throw new AppError('INVALID_INPUT', `device secret key has ${secretKey.length} bytes; expected ${nacl.box.secretKeyLength}`);
  const publicKey = publicOf(privateKeyObject(secretKey));
  return { keyId: boxKeyId(publicKey), publicKey, secretKey };
}

/** A base64 device public key checked for length; `what` names it in the error. */
export function decodeBoxPublicKey(b64: string, what: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== nacl.box.publicKeyLength || buf.toString('base64') !== b64) {
    throw new AppError('INVALID_INPUT', `${what}: expected ${nacl.box.publicKeyLength} bytes of canonical base64 (an X25519 public key), got ${buf.length} bytes`);
  }
  return new Uint8Array(buf);
}

/** Seals `contentKey` to `recipient` with a fresh ephemeral key pair (only the recipient can open it). */
export function sealContentKey(contentKey: Uint8Array, recipient: Uint8Array): SealedKey {
  checkContentKey(contentKey);
  const to = boxKeyId(recipient);
  const eph = generateBoxKeyPair();
  const nonce = new Uint8Array(randomBytes(nacl.box.nonceLength));
  const k = boxBefore(recipient, eph.secretKey);
  eph.secretKey.fill(0);
  if (!k) throw new AppError('INVALID_INPUT', `device public key ${to.slice(0, 12)}… is not usable (a low-order point)`);
  const box = nacl.secretbox(contentKey, nonce, k);
  k.fill(0);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return { schema: SEALED_KEY_SCHEMA, keyId: contentKeyId(contentKey), to, epk: b64(eph.publicKey), nonce: b64(nonce), box: b64(box) };
}

/**
 * Opens a sealed key with this device's key pair; the key inside must be `expectKeyId` (the signed
 * manifest's). CONTENT_KEY_MISSING when it is sealed to another device or for another key.
 */
export function openSealedKey(sealed: SealedKey, device: BoxKeyPair, expectKeyId: string, what: string): Uint8Array {
  if (sealed.schema !== SEALED_KEY_SCHEMA) throw new AppError('UNSUPPORTED_VERSION', `${what}: sealed key schema ${JSON.stringify(sealed.schema)}; expected "${SEALED_KEY_SCHEMA}"`);
  if (sealed.to !== device.keyId) {
    throw new AppError('CONTENT_KEY_MISSING', `${what}: the content key is sealed to device key ${String(sealed.to).slice(0, 12)}…, not this box's ${device.keyId.slice(0, 12)}…`);
  }
  if (sealed.keyId !== expectKeyId) {
    throw new AppError('CONTENT_KEY_MISSING', `${what}: the sealed key is content key ${String(sealed.keyId).slice(0, 12)}…; the bundle needs ${expectKeyId.slice(0, 12)}…`);
  }
  const epk = Buffer.from(sealed.epk, 'base64');
  const nonce = Buffer.from(sealed.nonce, 'base64');
  const box = Buffer.from(sealed.box, 'base64');
  const k = epk.length === nacl.box.publicKeyLength && nonce.length === nacl.box.nonceLength ? boxBefore(epk, device.secretKey) : null;
  const key = k ? nacl.secretbox.open(box, nonce, k) : null;
  k?.fill(0);
  if (!key || key.length !== CONTENT_KEY_BYTES || contentKeyId(key) !== expectKeyId) {
    throw new AppError('DECRYPT_FAILED', `${what}: the sealed content key does not open with this box's device key (altered, or sealed to another key)`);
  }
  return key;
}
