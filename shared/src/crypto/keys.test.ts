import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../canonical.js';
import { AppError } from '../errors.js';
import { generateKeyPair, keyIdOf, readPublicKeyFile, readSecretKeyFile, writeKeyFiles } from './keys.js';
import { signBytes, signCanonical, signEnvelope, verifyBytes } from './sign.js';
import { canonicalBytes } from '../canonical.js';

function withDir(fn: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-keys-'));
    try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

test('keyId is the sha256 of the raw public key; seeds are deterministic', () => {
  const a = generateKeyPair('release', 'rel', new Uint8Array(32).fill(1));
  const b = generateKeyPair('release', 'rel', new Uint8Array(32).fill(1));
  assert.equal(a.keyId, sha256Hex(a.publicKey));
  assert.equal(a.keyId, b.keyId);
  assert.notEqual(generateKeyPair('release').keyId, a.keyId);
  assert.match(generateKeyPair('hub').name, /^hub-[0-9a-f]{8}$/);
  assert.throws(() => keyIdOf(new Uint8Array(31)), /31 bytes; expected 32/);
});

test('key files round-trip; the secret file is mode 0600', withDir(async (dir) => {
  const pair = generateKeyPair('root');
  const { keyPath, pubPath } = writeKeyFiles(dir, 'root1', pair);
  assert.equal(keyPath, join(dir, 'root1.key'));
  assert.equal(statSync(keyPath).mode & 0o777, 0o600);
  const sk = await readSecretKeyFile(keyPath);
  assert.equal(sk.keyId, pair.keyId);
  assert.equal(sk.name, 'root1');
  assert.deepEqual(Buffer.from(sk.secretKey), Buffer.from(pair.secretKey));
  const pk = await readPublicKeyFile(pubPath);
  assert.deepEqual({ role: pk.role, name: pk.name, keyId: pk.keyId }, { role: 'root', name: 'root1', keyId: pair.keyId });
  assert.equal((JSON.parse(readFileSync(pubPath, 'utf8')) as { secret?: string }).secret, undefined);
}));

test('key file errors name the file and what was wrong', withDir(async (dir) => {
  const pair = generateKeyPair('release');
  const { keyPath, pubPath } = writeKeyFiles(dir, 'r', pair);
  await assert.rejects(readSecretKeyFile(pubPath), /is a public key file .*expected a secret key file/);
  await assert.rejects(readPublicKeyFile(keyPath), /is a secret key file .*expected a public key file/);
  // Found by the ML probe: trust.json given to "model sign --key" was "unsupported schema undefined" and five missing fields.
  writeFileSync(join(dir, 'trust.json'), JSON.stringify({ signed: { schema: 'edgefleet.trust/v1', version: 1 }, signatures: [] }));
  await assert.rejects(readSecretKeyFile(join(dir, 'trust.json')), (e: unknown) => e instanceof AppError && e.code === 'INVALID_INPUT'
    && e.message === `${join(dir, 'trust.json')} is a edgefleet.trust/v1 file, not a key; expected a secret key file (edgefleet.key/v1, usually NAME.key)`);
  writeFileSync(join(dir, 'c.key'), JSON.stringify({ schema: 'edgefleet.content-key/v1', keyId: 'x', key: 'y' }));
  await assert.rejects(readPublicKeyFile(join(dir, 'c.key')), /c\.key is a edgefleet\.content-key\/v1 file, not a key; expected a public key file \(edgefleet\.pubkey\/v1, usually NAME\.pub\)$/);
  writeFileSync(join(dir, 'v2.key'), JSON.stringify({ schema: 'edgefleet.key/v2' }));
  await assert.rejects(readSecretKeyFile(join(dir, 'v2.key')), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_VERSION');
  const pub = JSON.parse(readFileSync(pubPath, 'utf8')) as Record<string, string>;
  writeFileSync(join(dir, 'bad64.pub'), JSON.stringify({ ...pub, public: 'AAAA' }));
  await assert.rejects(readPublicKeyFile(join(dir, 'bad64.pub')), /public: expected 32 bytes of base64, got 3 bytes/);
  writeFileSync(join(dir, 'notb64.pub'), JSON.stringify({ ...pub, public: 'not base64!' }));
  await assert.rejects(readPublicKeyFile(join(dir, 'notb64.pub')), /public: expected base64/);
  const other = generateKeyPair('release');
  writeFileSync(join(dir, 'id.pub'), JSON.stringify({ ...pub, keyId: other.keyId }));
  await assert.rejects(readPublicKeyFile(join(dir, 'id.pub')), new RegExp(`keyId ${other.keyId} does not match the public key \\(expected ${pair.keyId}\\)`));
  const sec = JSON.parse(readFileSync(keyPath, 'utf8')) as Record<string, string>;
  writeFileSync(join(dir, 'mixed.key'), JSON.stringify({ ...sec, public: Buffer.from(other.publicKey).toString('base64'), keyId: other.keyId }));
  await assert.rejects(readSecretKeyFile(join(dir, 'mixed.key')), /public key does not belong to the secret key/);
  writeFileSync(join(dir, 'v2.key'), JSON.stringify({ ...sec, schema: 'edgefleet.key/v2' }));
  await assert.rejects(readSecretKeyFile(join(dir, 'v2.key')), (e: { code?: string; message: string }) => e.code === 'UNSUPPORTED_VERSION' && /expected "edgefleet.key\/v1"/.test(e.message));
  writeFileSync(join(dir, 'junk.key'), '{not json');
  await assert.rejects(readSecretKeyFile(join(dir, 'junk.key')), /is not JSON/);
  await assert.rejects(readSecretKeyFile(join(dir, 'missing.key')), (e: { code?: string; message: string }) => e.code === 'NOT_FOUND' && /^cannot read secret key file .*missing\.key: no such file$/.test(e.message));
  await assert.rejects(readPublicKeyFile(dir), (e: { code?: string; message: string }) => e.code === 'BAD_REQUEST' && e.message === `cannot read public key file ${dir}: it is a directory; expected a file`);
}));

test('sign and verify bytes, canonical JSON and envelopes', () => {
  const k = generateKeyPair('hub');
  const s = signBytes(k, Buffer.from('hello'));
  assert.equal(s.keyId, k.keyId);
  assert.equal(verifyBytes(k.publicKey, Buffer.from('hello'), s.sig), true);
  assert.equal(verifyBytes(k.publicKey, Buffer.from('hellO'), s.sig), false);
  assert.equal(verifyBytes(k.publicKey, Buffer.from('hello'), 'AAAA'), false);
  assert.equal(verifyBytes(generateKeyPair('hub').publicKey, Buffer.from('hello'), s.sig), false);
  const c = signCanonical(k.secretKey, { b: 1, a: 2 });
  assert.equal(verifyBytes(k.publicKey, canonicalBytes({ a: 2, b: 1 }), c.sig), true);
  const env = signEnvelope({ x: 1 }, [k, generateKeyPair('hub')]);
  assert.equal(env.signatures.length, 2);
  assert.equal(verifyBytes(k.publicKey, Buffer.from('{"x":1}'), env.signatures[0]!.sig), true);
  assert.throws(() => signBytes(new Uint8Array(10), Buffer.from('x')), /10 bytes; expected 64/);
});

test('signatures are the same bytes tweetnacl makes, and verify both ways (node:crypto is only faster)', async () => {
  const nacl = (await import('tweetnacl')).default;
  for (let i = 0; i < 20; i++) {
    const pair = generateKeyPair('hub', `k${i}`);
    const msg = Buffer.from(`message ${i} ${'x'.repeat(i * 7)}`);
    const ours = Buffer.from(signBytes(pair, msg).sig, 'base64');
    const theirs = Buffer.from(nacl.sign.detached(msg, pair.secretKey));
    assert.deepEqual(ours, theirs);
    assert.equal(verifyBytes(pair.publicKey, msg, theirs), true);
    assert.equal(nacl.sign.detached.verify(msg, ours, pair.publicKey), true);
    const bad = Buffer.from(ours);
    bad[i % 64] = (bad[i % 64] as number) ^ 1;
    assert.equal(verifyBytes(pair.publicKey, msg, bad), false);
  }
});
