import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { code } from '../assert-code.js';
import { generateKeyPair } from './keys.js';
import { createTrustBody } from './trust.js';
import { packBundle, signBundle } from '../bundle/write.js';
import { verifyBundle } from '../bundle/read.js';
import { exampleManifest } from '../bundle/testutil.js';
import {
  contentKeyId, decryptBytes, decryptFile, encryptedSize, encryptFile, generateBoxKeyPair, newContentKey, openSealedKey, sealContentKey, MIN_CHUNK_BYTES,
} from './sealed.js';
import { readContentKeyFile, writeContentKeyFile } from './sealed-files.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-sealed-'));
  try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function encryptTo(key: Uint8Array, src: string, chunk: number): Promise<{ bytes: Buffer; r: Awaited<ReturnType<typeof encryptFile>> }> {
  const parts: Buffer[] = [];
  const r = await encryptFile(key, src, async (c) => { parts.push(c); }, chunk);
  return { bytes: Buffer.concat(parts), r };
}

test('chunked AES-256-GCM round-trips at and around chunk boundaries; ciphertext sizes as computed', () => withDir(async (dir) => {
  const key = newContentKey();
  for (const n of [0, 1, MIN_CHUNK_BYTES - 1, MIN_CHUNK_BYTES, MIN_CHUNK_BYTES + 1, 3 * MIN_CHUNK_BYTES, 10_000]) {
    const plain = randomBytes(n);
    writeFileSync(join(dir, 'p'), plain);
    const { bytes, r } = await encryptTo(key, join(dir, 'p'), MIN_CHUNK_BYTES);
    assert.equal(bytes.length, encryptedSize(n, MIN_CHUNK_BYTES), `size for ${n}`);
    assert.equal(r.size, bytes.length);
    assert.equal(r.encryption.plainSize, n);
    assert.deepEqual(decryptBytes(key, bytes, r.encryption, 'f'), plain);
    writeFileSync(join(dir, 'c'), bytes);
    assert.deepEqual(await decryptFile(key, join(dir, 'c'), { sha256: r.sha256, size: r.size }, r.encryption, 'f'), plain);
  }
}));

test('altered, reordered or cut ciphertext, and a wrong key, are refused', () => withDir(async (dir) => {
  const key = newContentKey();
  const plain = randomBytes(3 * MIN_CHUNK_BYTES + 100);
  writeFileSync(join(dir, 'p'), plain);
  const { bytes, r } = await encryptTo(key, join(dir, 'p'), MIN_CHUNK_BYTES);
  const flipped = Buffer.from(bytes);
  flipped[10] = (flipped[10] as number) ^ 1;
  assert.throws(() => decryptBytes(key, flipped, r.encryption, 'm'), code('DECRYPT_FAILED'));
  assert.throws(() => decryptBytes(newContentKey(), bytes, r.encryption, 'm'), code('DECRYPT_FAILED'));
  const c = MIN_CHUNK_BYTES + 16;
  const swapped = Buffer.concat([bytes.subarray(c, 2 * c), bytes.subarray(0, c), bytes.subarray(2 * c)]);
  assert.throws(() => decryptBytes(key, swapped, r.encryption, 'm'), code('DECRYPT_FAILED'));
  // Cut after two whole chunks and claim the shorter plaintext: chunk 1 was not sealed as final.
  assert.throws(() => decryptBytes(key, bytes.subarray(0, 2 * c), { ...r.encryption, plainSize: 2 * MIN_CHUNK_BYTES }, 'm'), code('DECRYPT_FAILED'));
  // From a file: the hash is checked first, so altered bytes are HASH_MISMATCH before any decryption.
  writeFileSync(join(dir, 'c'), flipped);
  await assert.rejects(decryptFile(key, join(dir, 'c'), { sha256: r.sha256, size: r.size }, r.encryption, 'm'), (e: { code?: string }) => e.code === 'HASH_MISMATCH');
}));

test('a sealed content key opens only on the device it was sealed to, and only as the key the manifest names', () => {
  const key = newContentKey();
  const a = generateBoxKeyPair();
  const b = generateBoxKeyPair();
  const sealed = sealContentKey(key, a.publicKey);
  assert.equal(sealed.to, a.keyId);
  assert.deepEqual(openSealedKey(sealed, a, contentKeyId(key), 'k'), key);
  assert.throws(() => openSealedKey(sealed, b, contentKeyId(key), 'k'), code('CONTENT_KEY_MISSING'));
  assert.throws(() => openSealedKey(sealed, a, contentKeyId(newContentKey()), 'k'), code('CONTENT_KEY_MISSING'));
  // Pretending to be for b does not make it open on b.
  assert.throws(() => openSealedKey({ ...sealed, to: b.keyId }, b, contentKeyId(key), 'k'), code('DECRYPT_FAILED'));
  const box = Buffer.from(sealed.box, 'base64');
  box[0] = (box[0] as number) ^ 1;
  assert.throws(() => openSealedKey({ ...sealed, box: box.toString('base64') }, a, contentKeyId(key), 'k'), code('DECRYPT_FAILED'));
  assert.notEqual(sealContentKey(key, a.publicKey).epk, sealed.epk, 'a fresh ephemeral key each time');
});

test('the sealed key is nacl.box: tweetnacl opens ours, ours opens tweetnacl\'s; key pairs agree with nacl.box.keyPair', () => {
  const key = newContentKey();
  const dev = generateBoxKeyPair();
  assert.deepEqual(nacl.box.keyPair.fromSecretKey(dev.secretKey).publicKey, dev.publicKey);
  const s = sealContentKey(key, dev.publicKey);
  const b64 = (x: string) => new Uint8Array(Buffer.from(x, 'base64'));
  assert.deepEqual(nacl.box.open(b64(s.box), b64(s.nonce), b64(s.epk), dev.secretKey), key);
  const eph = nacl.box.keyPair();
  const nonce = nacl.randomBytes(24);
  const theirs = { ...s, epk: Buffer.from(eph.publicKey).toString('base64'), nonce: Buffer.from(nonce).toString('base64'), box: Buffer.from(nacl.box(key, nonce, dev.publicKey, eph.secretKey)).toString('base64') };
  assert.deepEqual(openSealedKey(theirs, dev, contentKeyId(key), 'k'), key);
  // A low-order ephemeral key (all zeros) is refused, not opened with an all-zero shared secret.
  assert.throws(() => openSealedKey({ ...s, epk: Buffer.alloc(32).toString('base64') }, dev, contentKeyId(key), 'k'), code('DECRYPT_FAILED'));
});

test('pack --encrypt: the bundle holds only ciphertext; signatures cover the ciphertext hashes; the key file is 0600', () => withDir(async (dir) => {
  const seed = (n: number) => new Uint8Array(32).fill(n);
  const rel = generateKeyPair('release', 'rel', seed(1));
  const trust = createTrustBody({ version: 1, expires: '2030-01-01T00:00:00Z', root: [generateKeyPair('root', 'root', seed(2))], release: [rel], hub: [generateKeyPair('hub', 'hub', seed(3))] });
  const model = randomBytes(70_000);
  writeFileSync(join(dir, 'model.onnx'), model);
  const key = newContentKey();
  writeContentKeyFile(join(dir, 'm.key'), key, { model: 'vib' });
  assert.equal(statSync(join(dir, 'm.key')).mode & 0o777, 0o600);
  assert.deepEqual(readContentKeyFile(join(dir, 'm.key')).key, key);
  const out = join(dir, 'vib.efb');
  const r = await packBundle({ manifest: exampleManifest(), files: [{ path: 'model.onnx', source: join(dir, 'model.onnx') }], out, encrypt: { key, chunkSize: 16_384 } });
  assert.deepEqual(r.manifest.encryption, { alg: 'aes-256-gcm-chunked', keyId: contentKeyId(key) });
  const f = r.manifest.files[0]!;
  assert.equal(f.encryption?.plainSize, model.length);
  assert.equal(f.size, encryptedSize(model.length, 16_384));
  const bundle = readFileSync(out);
  assert.equal(bundle.indexOf(model.subarray(0, 64)), -1, 'no plaintext in the bundle');
  await signBundle(out, rel);
  const v = await verifyBundle(out, trust);
  assert.equal(v.files[0]!.sha256, f.sha256);
  const ct = bundle.subarray(v.files[0]!.offset, v.files[0]!.offset + f.size);
  assert.deepEqual(decryptBytes(key, ct, f.encryption!, 'model'), model);
  assert.equal(readFileSync(out).length > 0, true);
}));
