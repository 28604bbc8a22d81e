// Captured rows sealed to the operators' capture key (docs/decisions/0035-data-capture.md): each
// chunk gets a fresh 256-bit content key, its rows are encrypted with it exactly as a sealed model's
// files are (AES-256-GCM, encryptFile), and the content key is sealed to the capture public key with
// an ephemeral X25519 key (sealContentKey, the nacl box of sealed models). Only the holder of the
// capture private key opens a chunk; the box and the hub hold ciphertext only. Zod-free (the daemon).
import nacl from 'tweetnacl';
import { AppError } from '../errors.js';
import {
  boxKeyPairFromSecret, decodeBoxPublicKey, decryptBytes, encryptFile, encryptedSize, generateBoxKeyPair, newContentKey, openSealedKey, sealContentKey,
  CONTENT_KEY_BYTES, MIN_CHUNK_BYTES, SEALED_KEY_SCHEMA, type BoxKeyPair, type FileEncryption, type SealedKey,
} from './sealed.js';

export const CAPTURE_KEY_SCHEMA = 'edgefleet.capture-key/v1' as const;
/** Schema tags of the capture messages (shared/src/wire/capture.ts), here so the daemon needs no zod. */
export const CAPTURE_CHUNK_SCHEMA = 'edgefleet.capture-chunk/v1' as const;
export const CAPTURE_ACK_SCHEMA = 'edgefleet.capture-ack/v1' as const;
/** Characters of the reason a capture's last chunk may carry (why the device's part ended). */
export const CAPTURE_REASON_CHARS = 500;

/** Rows sealed to a capture key: what the box stores, uploads and the hub offers. */
export interface SealedRows {
  key: SealedKey;
  enc: FileEncryption;
  /** The ciphertext, base64. */
  data: string;
}

/** The operators' key file (`edgefleet capture keygen`): keep it off the hub. */
export interface CaptureKeyFile {
  schema: typeof CAPTURE_KEY_SCHEMA;
  keyId: string;
  public: string;
  secret: string;
}

export function newCaptureKeyFile(): CaptureKeyFile {
  const k = generateBoxKeyPair();
  return { schema: CAPTURE_KEY_SCHEMA, keyId: k.keyId, public: Buffer.from(k.publicKey).toString('base64'), secret: Buffer.from(k.secretKey).toString('base64') };
}

/** The key pair in a key file's JSON text; `what` names the file in errors. */
export function parseCaptureKeyFile(text: string, what: string): BoxKeyPair {
  let v: Partial<CaptureKeyFile>;
  try {
    v = JSON.parse(text) as Partial<CaptureKeyFile>;
  } catch {
    throw new AppError('INVALID_INPUT', `${what}: not JSON; expected a capture key file (edgefleet capture keygen)`);
  }
  if (v?.schema !== CAPTURE_KEY_SCHEMA || typeof v.secret !== 'string') {
    throw new AppError('INVALID_INPUT', `${what}: expected a capture key file with schema "${CAPTURE_KEY_SCHEMA}" and its secret (edgefleet capture keygen)`);
  }
  const secret = Buffer.from(v.secret, 'base64');
  return boxKeyPairFromSecret(new Uint8Array(secret));
}

/** The plaintext chunk size used: whole rows fit one GCM chunk up to 16 MiB; small chunks stay one GCM chunk too. */
function gcmChunk(n: number): number {
  return Math.max(MIN_CHUNK_BYTES, Math.min(1 << 24, n || 1));
}

/**
 * Bytes of the fixed-size fields of sealed rows, as sealRows makes them: the ephemeral X25519 public
 * key, the nacl.box nonce and box (the content key plus its Poly1305 tag; crypto/sealed-keys.ts), and
 * the 8-byte nonce prefix of the AES-256-GCM chunks (crypto/sealed.ts). Nothing of another size opens
 * (openRows), so the wire schema caps these fields at their base64 length (wire/capture.ts).
 */
export const SEALED_ROWS_FIELD_BYTES = {
  epk: nacl.box.publicKeyLength,
  nonce: nacl.box.nonceLength,
  box: CONTENT_KEY_BYTES + nacl.secretbox.overheadLength,
  encNonce: 8,
} as const;

/** Characters of padded base64 for `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/**
 * The size of `plainBytes` of rows sealed by sealRows, as stored and counted (bytes of the sealed
 * object's JSON: the ciphertext in base64, about 4/3 of the plaintext, plus about 0.4 KiB of key,
 * nonces and ids). The hub's capture.maxChunkBytes must allow it for the agents' capture.chunkBytes
 * (docs/hub.md "Data capture").
 */
export function sealedRowsBytes(plainBytes: number): number {
  const chunk = gcmChunk(plainBytes);
  const hex = '0'.repeat(64);
  const b64 = (n: number) => 'A'.repeat(base64Length(n));
  const f = SEALED_ROWS_FIELD_BYTES;
  const shape: SealedRows = {
    key: { schema: SEALED_KEY_SCHEMA, keyId: hex, to: hex, epk: b64(f.epk), nonce: b64(f.nonce), box: b64(f.box) },
    enc: { chunkSize: chunk, nonce: b64(f.encNonce), plainSize: plainBytes },
    data: '',
  };
  return JSON.stringify(shape).length + base64Length(encryptedSize(plainBytes, chunk));
}

/**
 * Bytes a capture chunk message (wire/capture.ts CaptureChunk) adds around its sealed rows, at most: the
 * schema tag, the longest device id, ids and counts of 16 digits, the longest end, and a reason of
 * CAPTURE_REASON_CHARS characters each escaped to at most 6 bytes of JSON.
 */
export const CAPTURE_ENVELOPE_BYTES = JSON.stringify({
  schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'x'.repeat(128), captureId: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER,
  rows: Number.MAX_SAFE_INTEGER, end: 'budget_full', reason: '', sealed: 0,
}).length + 6 * CAPTURE_REASON_CHARS;

/** The largest MQTT payload of a chunk holding `plainBytes` of rows: what a hub's maxPayloadBytes must take. */
export function captureMessageBytes(plainBytes: number): number {
  return sealedRowsBytes(plainBytes) + CAPTURE_ENVELOPE_BYTES;
}

/**
 * The most bytes of rows, up to `most`, whose chunk message fits in `maxMessageBytes` (0 when none does):
 * the chunk size a hub with that maxPayloadBytes asks of its boxes (docs/hub.md "Data capture").
 */
export function chunkBytesWithin(maxMessageBytes: number, most: number): number {
  if (captureMessageBytes(most) <= maxMessageBytes) return most;
  let lo = 0;
  let hi = most; // captureMessageBytes(hi) > maxMessageBytes, and it does not fall as the rows grow
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (captureMessageBytes(mid) <= maxMessageBytes) lo = mid;
    else hi = mid;
  }
  return lo === 0 && captureMessageBytes(0) > maxMessageBytes ? 0 : lo;
}

/** Seals `plain` (JSON lines) to the base64 capture public key. */
export async function sealRows(plain: Uint8Array, publicKeyB64: string): Promise<SealedRows> {
  const pub = decodeBoxPublicKey(publicKeyB64, 'capture public key');
  const key = newContentKey();
  try {
    const parts: Buffer[] = [];
    const { encryption } = await encryptFile(key, plain, async (c) => { parts.push(c); }, gcmChunk(plain.length));
    return { key: sealContentKey(key, pub), enc: encryption, data: Buffer.concat(parts).toString('base64') };
  } finally {
    key.fill(0);
  }
}

/** Opens sealed rows with the capture key pair; DECRYPT_FAILED for a wrong key or altered bytes. */
export function openRows(sealed: SealedRows, key: BoxKeyPair, what: string): Buffer {
  if (sealed.key.to !== key.keyId) {
    throw new AppError('DECRYPT_FAILED', `${what}: sealed to capture key ${String(sealed.key.to).slice(0, 12)}…, not this key file's ${key.keyId.slice(0, 12)}…`);
  }
  const content = openSealedKey(sealed.key, key, sealed.key.keyId, what);
  try {
    return decryptBytes(content, Buffer.from(sealed.data, 'base64'), sealed.enc, what);
  } finally {
    content.fill(0);
  }
}
