// Ed25519 signature verification for the console's own signature checks (docs/console.md "Signatures";
// desktop/src/renderer/verify.ts): RFC 8032 section 5.1.7, with SHA-512 from FIPS 180-4, in BigInt
// arithmetic. Verification only, over public keys and public bytes, so arithmetic that is not
// constant-time leaks nothing. It replaced tweetnacl in the renderer bundle: 32.6 KiB of boxes, secret
// boxes, key generation and signing the console never used (docs/console.md "Building").
// The group equation is checked without the cofactor, [S]B = R + [k]A, as tweetnacl (the hub's and the
// agent's check, shared/src/crypto/threshold.ts) does; an S not below L and a point not encoded in its
// canonical form are refused (RFC 8032 5.1.3 and 5.1.7).

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mask64 = (x: bigint): bigint => BigInt.asUintN(64, x);

/** b^e mod m. */
function pow(b: bigint, e: bigint, m = P): bigint {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
const mod = (a: bigint): bigint => ((a % P) + P) % P;
const inv = (a: bigint): bigint => pow(mod(a), P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** A point in extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, x*y = T/Z (RFC 8032 5.1.4). */
type Point = readonly [bigint, bigint, bigint, bigint];

function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const a = (y1 - x1) * (y2 - x2);
  const b = (y1 + x1) * (y2 + x2);
  const c = 2n * D * t1 * t2;
  const d = 2n * z1 * z2;
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(s: bigint, p: Point): Point {
  let q: Point = [0n, 1n, 1n, 0n];
  for (; s > 0n; s >>= 1n, p = add(p, p)) if (s & 1n) q = add(q, p);
  return q;
}

const same = ([x1, y1, z1]: Point, [x2, y2, z2]: Point): boolean => mod(x1 * z2 - x2 * z1) === 0n && mod(y1 * z2 - y2 * z1) === 0n;

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** A point from its 32 bytes (RFC 8032 5.1.3), or null when they encode none. */
function decode(bytes: Uint8Array): Point | null {
  const n = littleEndian(bytes);
  const y = n & ((1n << 255n) - 1n);
  const sign = n >> 255n;
  if (y >= P) return null;
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return null;
  if (x === 0n && sign === 1n) return null;
  if ((x & 1n) !== sign) x = P - x;
  return [x, y, 1n, mod(x * y)];
}

const BASE = decode(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0x58 : 0x66)))!;

// SHA-512's round constants (FIPS 180-4 4.2.3), then its initial hash value (5.3.5).
const K = ('428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc 3956c25bf348b538 59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118 ' +
  'd807aa98a3030242 12835b0145706fbe 243185be4ee4b28c 550c7dc3d5ffb4e2 72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 c19bf174cf692694 ' +
  'e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65 2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5 ' +
  '983e5152ee66dfab a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4 c6e00bf33da88fc2 d5a79147930aa725 06ca6351e003826f 142929670a0e6e70 ' +
  '27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed 53380d139d95b3df 650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b ' +
  'a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30 d192e819d6ef5218 d69906245565a910 f40e35855771202a 106aa07032bbd1b8 ' +
  '19a4c116b8d2d0c8 1e376c085141ab53 2748774cdf8eeb99 34b0bcb5e19b48a8 391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 682e6ff3d6b2b8a3 ' +
  '748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec 90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b ' +
  'ca273eceea26619c d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178 06f067aa72176fba 0a637dc5a2c898a6 113f9804bef90dae 1b710b35131c471b ' +
  '28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc 431d67c49c100d4c 4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817 ' +
  '6a09e667f3bcc908 bb67ae8584caa73b 3c6ef372fe94f82b a54ff53a5f1d36f1 510e527fade682d1 9b05688c2b3e6c1f 1f83d9abfb41bd6b 5be0cd19137e2179')
  .split(' ').map((h) => BigInt(`0x${h}`));

const rotr = (x: bigint, n: bigint): bigint => mask64((x >> n) | (x << (64n - n)));

/** SHA-512 of bytes (FIPS 180-4 6.4). */
export function sha512(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil((bytes.length + 17) / 128) * 128);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  new DataView(padded.buffer).setBigUint64(padded.length - 8, BigInt(bytes.length) * 8n);
  const view = new DataView(padded.buffer);
  const h = K.slice(80);
  const w: bigint[] = new Array<bigint>(80);
  for (let off = 0; off < padded.length; off += 128) {
    for (let t = 0; t < 80; t++) {
      if (t < 16) { w[t] = view.getBigUint64(off + t * 8); continue; }
      const a = w[t - 15]!, b = w[t - 2]!;
      w[t] = mask64((rotr(b, 19n) ^ rotr(b, 61n) ^ (b >> 6n)) + w[t - 7]! + (rotr(a, 1n) ^ rotr(a, 8n) ^ (a >> 7n)) + w[t - 16]!);
    }
    let [a, b, c, d, e, f, g, hh] = h as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    for (let t = 0; t < 80; t++) {
      const t1 = hh + (rotr(e, 14n) ^ rotr(e, 18n) ^ rotr(e, 41n)) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!;
      const t2 = (rotr(a, 28n) ^ rotr(a, 34n) ^ rotr(a, 39n)) + ((a & b) ^ (a & c) ^ (b & c));
      [hh, g, f, e, d, c, b, a] = [g, f, e, mask64(d + t1), c, b, a, mask64(t1 + t2)];
    }
    [a, b, c, d, e, f, g, hh].forEach((v, i) => { h[i] = mask64(h[i]! + v); });
  }
  const out = new Uint8Array(64);
  h.forEach((v, i) => new DataView(out.buffer).setBigUint64(i * 8, v));
  return out;
}

/** True when sig (64 bytes) is publicKey's (32 bytes) Ed25519 signature of message (RFC 8032 5.1.7). */
export function verifyEd25519(message: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  const a = decode(publicKey);
  const r = decode(sig.subarray(0, 32));
  const s = littleEndian(sig.subarray(32));
  if (!a || !r || s >= L) return false;
  const hashed = new Uint8Array(64 + message.length);
  hashed.set(sig.subarray(0, 32));
  hashed.set(publicKey, 32);
  hashed.set(message, 64);
  const k = littleEndian(sha512(hashed)) % L;
  return same(multiply(s, BASE), add(r, multiply(k, a)));
}
