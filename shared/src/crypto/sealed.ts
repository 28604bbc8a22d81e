// Sealed models (docs/decisions/0029-sealed-models.md): a bundle's files encrypted with a random
// 256-bit content key, and that key sealed to one device's X25519 public key. zod-free: the agent
// daemon loads this through @edgefleet/shared/core to decrypt a model into memory.
//
// Files: AES-256-GCM (node:crypto, OpenSSL) in chunks of `chunkSize` plaintext bytes, each chunk
// followed by its 16-byte tag. Chunk i's nonce is the file's random 8-byte prefix || u32be(i); its
// additional data is "edgefleet.enc/v1" || u32be(i) || final flag, so chunks cannot be reordered,
// dropped or cut at a chunk boundary (the STREAM construction, Hoang et al., CRYPTO 2015).
// Content keys and device keys (nacl.box sealing): crypto/sealed-keys.ts, re-exported here.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { checkContentKey } from './sealed-keys.js';

export {
  CONTENT_KEY_BYTES, SEALED_KEY_SCHEMA, DEVICE_KEY_SCHEMA, type SealedKey, type BoxKeyPair, contentKeyId, newContentKey,
  boxKeyId, generateBoxKeyPair, boxKeyPairFromSecret, decodeBoxPublicKey, sealContentKey, openSealedKey,
} from './sealed-keys.js';

export const ENCRYPTION_ALG = 'aes-256-gcm-chunked' as const;
export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const MIN_CHUNK_BYTES = 1 << 12;
export const MAX_CHUNK_BYTES = 1 << 24;
const TAG_BYTES = 16;
const AAD_PREFIX = Buffer.from('edgefleet.enc/v1', 'utf8');

/** How one bundle file is encrypted (manifest `files[].encryption`); size and sha256 are the ciphertext's. */
export interface FileEncryption { chunkSize: number; nonce: string; plainSize: number }

function checkChunk(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_BYTES || chunkSize > MAX_CHUNK_BYTES) {
    throw new AppError('INVALID_INPUT', `encryption chunk size ${chunkSize}: expected an integer from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`);
  }
}

export function chunkCount(plainSize: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(plainSize / chunkSize));
}

/** Bytes of ciphertext for `plainSize` bytes of plaintext. */
export function encryptedSize(plainSize: number, chunkSize: number): number {
  return plainSize + TAG_BYTES * chunkCount(plainSize, chunkSize);
}

function nonceFor(prefix: Buffer, i: number): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0, 0, 8);
  n.writeUInt32BE(i, 8);
  return n;
}

function aadFor(i: number, final: boolean): Buffer {
  const a = Buffer.alloc(AAD_PREFIX.length + 5);
  AAD_PREFIX.copy(a);
  a.writeUInt32BE(i, AAD_PREFIX.length);
  a[AAD_PREFIX.length + 4] = final ? 1 : 0;
  return a;
}

function sealChunk(key: Uint8Array, prefix: Buffer, i: number, final: boolean, plain: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonceFor(prefix, i));
  c.setAAD(aadFor(i, final));
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

function openChunk(key: Uint8Array, prefix: Buffer, i: number, final: boolean, sealed: Uint8Array, out: Buffer, at: number, what: string): void {
  const d = createDecipheriv('aes-256-gcm', key, nonceFor(prefix, i));
  d.setAAD(aadFor(i, final));
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const body = sealed.subarray(0, sealed.length - TAG_BYTES);
    const plain = d.update(body);
    const n = plain.copy(out, at);
    plain.fill(0);
    d.final();
    if (n !== body.length) throw new Error('short chunk');
  } catch (err) {
    out.fill(0, at, at + sealed.length - TAG_BYTES);
    throw new AppError('DECRYPT_FAILED', `${what}: chunk ${i} does not decrypt with this content key (wrong key or altered ciphertext)`, { cause: err });
  }
}

/**
 * Encrypts a file (a path, read chunk by chunk, never whole in memory; or bytes) chunk by chunk, handing each ciphertext piece to `write`.
 * Returns the encryption parameters and the ciphertext's sha256 and size (what the manifest lists).
 */
export async function encryptFile(
  key: Uint8Array, source: string | Uint8Array, write: (chunk: Buffer) => Promise<void>, chunkSize = DEFAULT_CHUNK_BYTES,
): Promise<{ encryption: FileEncryption; sha256: string; size: number }> {
  checkContentKey(key);
  checkChunk(chunkSize);
  const prefix = randomBytes(8);
  const hash = createHash('sha256');
  let size = 0;
  let plainSize = 0;
  let i = 0;
  let pending: Buffer = Buffer.alloc(0);
  const emit = async (plain: Buffer, final: boolean) => {
    const c = sealChunk(key, prefix, i++, final, plain);
    hash.update(c);
    size += c.length;
    await write(c);
  };
  const pieces: AsyncIterable<unknown> | Iterable<unknown> = typeof source === 'string' ? createReadStream(source, { highWaterMark: chunkSize }) : [Buffer.from(source.buffer, source.byteOffset, source.length)];
  for await (const piece of pieces) {
    const buf = piece as Buffer;
    plainSize += buf.length;
    pending = pending.length ? Buffer.concat([pending, buf]) : buf;
    // Keep at least one byte back so the last chunk is the one sealed as final.
    while (pending.length > chunkSize) {
      await emit(pending.subarray(0, chunkSize), false);
      pending = pending.subarray(chunkSize);
    }
  }
  await emit(pending, true);
  return { encryption: { chunkSize, nonce: prefix.toString('base64'), plainSize }, sha256: hash.digest('hex'), size };
}

function prefixOf(enc: FileEncryption, what: string): Buffer {
  const p = Buffer.from(enc.nonce, 'base64');
  if (p.length !== 8) throw new AppError('BUNDLE_INVALID', `${what}: encryption nonce has ${p.length} bytes; expected 8`);
  checkChunk(enc.chunkSize);
  return p;
}

/** Decrypts ciphertext held in memory (tests, small files). */
export function decryptBytes(key: Uint8Array, sealed: Uint8Array, enc: FileEncryption, what: string): Buffer {
  checkContentKey(key);
  const prefix = prefixOf(enc, what);
  const n = chunkCount(enc.plainSize, enc.chunkSize);
  if (sealed.length !== encryptedSize(enc.plainSize, enc.chunkSize)) {
    throw new AppError('SIZE_MISMATCH', `${what}: ${sealed.length} bytes of ciphertext; expected ${encryptedSize(enc.plainSize, enc.chunkSize)} for ${enc.plainSize} bytes of plaintext`);
  }
  const out = Buffer.alloc(enc.plainSize);
  let at = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const len = Math.min(enc.chunkSize, enc.plainSize - at);
    openChunk(key, prefix, i, i === n - 1, sealed.subarray(pos, pos + len + TAG_BYTES), out, at, what);
    at += len;
    pos += len + TAG_BYTES;
  }
  return out;
}

/** Hashes `want` bytes (a whole file: and checks there is no more) before any of them is decrypted. */
async function checkHash(fh: FileHandle, want: number, sha256: string, what: string, region: { offset: number } | undefined): Promise<void> {
  const offset = region?.offset ?? 0;
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(want + 1, 4 << 20)));
  let read = 0;
  // A whole file: one byte past the expected size is read to catch a longer file. A region (a file
  // inside a bundle): exactly its bytes.
  const limit = region ? want : want + 1;
  while (read < limit) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, limit - read), offset + read);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    read += bytesRead;
  }
  const got = hash.digest('hex');
  if (read !== want) throw new AppError('SIZE_MISMATCH', `${what}: ${read} bytes on disk; expected ${want}`);
  if (got !== sha256) throw new AppError('HASH_MISMATCH', `${what}: sha256 ${got} does not match the manifest's ${sha256}; not decrypted`);
}

/**
 * Reads an encrypted file and returns its plaintext in memory (never on disk). The file's sha256 and
 * size are checked against the (signed) manifest first, in one pass, before any chunk is decrypted:
 * altered ciphertext is refused by hash, not by the decryption failing part-way.
 */
export async function decryptFile(key: Uint8Array, path: string, expect: { sha256: string; size: number; verified?: boolean }, enc: FileEncryption, what: string, region?: { offset: number }): Promise<Buffer> {
  const offset = region?.offset ?? 0;
  checkContentKey(key);
  const prefix = prefixOf(enc, what);
  const want = encryptedSize(enc.plainSize, enc.chunkSize);
  if (expect.size !== want) throw new AppError('SIZE_MISMATCH', `${what}: the manifest lists ${expect.size} bytes; ${enc.plainSize} bytes encrypted in ${enc.chunkSize}-byte chunks are ${want}`);
  const fh = await open(path, 'r');
  try {
    // `verified`: the caller re-hashed this very file just before (the bit-rot check of a switch).
    if (!expect.verified) await checkHash(fh, want, expect.sha256, what, region);
    // Not zero-filled first (every byte is written below), and not from the shared small-buffer pool.
    const out = Buffer.allocUnsafeSlow(enc.plainSize);
    const chunk = Buffer.allocUnsafe(enc.chunkSize + TAG_BYTES);
    const n = chunkCount(enc.plainSize, enc.chunkSize);
    let at = 0;
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const len = Math.min(enc.chunkSize, enc.plainSize - at);
      const { bytesRead } = await fh.read(chunk, 0, len + TAG_BYTES, offset + pos);
      if (bytesRead !== len + TAG_BYTES) throw new AppError('SIZE_MISMATCH', `${what}: chunk ${i} is short on disk`);
      try {
        openChunk(key, prefix, i, i === n - 1, chunk.subarray(0, len + TAG_BYTES), out, at, what);
      } catch (err) {
        out.fill(0);
        throw err;
      }
      at += len;
      pos += len + TAG_BYTES;
    }
    chunk.fill(0);
    return out;
  } finally {
    await fh.close();
  }
}
