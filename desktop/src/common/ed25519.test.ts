import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { sha512, verifyEd25519 } from './ed25519.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

test('SHA-512 matches node:crypto at every padding boundary', () => {
  for (const n of [0, 1, 111, 112, 113, 127, 128, 129, 239, 240, 1000]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
    assert.equal(Buffer.from(sha512(bytes)).toString('hex'), createHash('sha512').update(bytes).digest('hex'), `length ${n}`);
  }
});

test('RFC 8032 7.1 test vectors verify, and a changed message, signature or key does not', () => {
  const vectors = [
    ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ] as const;
  for (const [pub, msg, sig] of vectors) {
    assert.equal(verifyEd25519(hex(msg), hex(sig), hex(pub)), true);
    assert.equal(verifyEd25519(hex(`${msg}00`), hex(sig), hex(pub)), false);
    const bad = hex(sig);
    bad[40] = bad[40]! ^ 1;
    assert.equal(verifyEd25519(hex(msg), bad, hex(pub)), false);
    assert.equal(verifyEd25519(hex(msg), hex(sig), hex(vectors[0][0] === pub ? vectors[1][0] : vectors[0][0])), false);
  }
});

test('what tweetnacl and node:crypto sign verifies, tampered it does not, as tweetnacl judges (fixed seed)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(63), (msg, at) => {
    const sig = new Uint8Array(sign(null, msg, privateKey));
    assert.equal(verifyEd25519(msg, sig, pub), true);
    const keys = nacl.sign.keyPair();
    const naclSig = nacl.sign.detached(msg, keys.secretKey);
    assert.equal(verifyEd25519(msg, naclSig, keys.publicKey), true);
    const bad = sig.slice();
    bad[at] = bad[at]! ^ 0x10;
    assert.equal(verifyEd25519(msg, bad, pub), nacl.sign.detached.verify(msg, bad, pub));
    assert.equal(verifyEd25519(msg, bad, pub), false);
  }), { seed: 8032, numRuns: 40 });
});

test('wrong lengths, an S not below L and a key that is no point are refused', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  const msg = new TextEncoder().encode('manifest');
  const sig = new Uint8Array(sign(null, msg, privateKey));
  assert.equal(verifyEd25519(msg, sig.subarray(0, 63), pub), false);
  assert.equal(verifyEd25519(msg, sig, pub.subarray(0, 31)), false);
  // S + L signs the same equation; RFC 8032 5.1.7 refuses it (malleability).
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  const malleated = sig.slice();
  for (let i = 32; i < 64; i++, s >>= 8n) malleated[i] = Number(s & 255n);
  assert.equal(verifyEd25519(msg, malleated, pub), false);
  // y = 2 is on no point of the curve; y = p is not canonical.
  assert.equal(verifyEd25519(msg, sig, Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 2 : 0))), false);
  assert.equal(verifyEd25519(msg, sig, Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff))), false);
});
