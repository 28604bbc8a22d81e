import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { canonicalBytes, canonicalJson, sha256File, sha256Hex } from './canonical.js';

const SEED = 20261128;

test('sorts keys by UTF-16 code units, no whitespace, nested', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 2 }] }), '{"a":[true,null,{"c":2,"d":"x"}],"b":1}');
  // RFC 8785 3.2.3 example: sorted by UTF-16 code units, not code points.
  const keys = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  assert.deepEqual(Object.keys(JSON.parse(canonicalJson(keys)) as object), ['1', '\r', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  assert.equal(canonicalJson({ a: 1 }), canonicalJson({ a: 1 }));
});

test('numbers use the ES serialisation (RFC 8785 appendix B samples)', () => {
  const cases: [number, string][] = [
    [0, '0'], [-0, '0'], [1e21, '1e+21'], [1e-7, '1e-7'], [123456789012345680000, '123456789012345680000'],
    [0.000001, '0.000001'], [-1.5, '-1.5'], [9007199254740992, '9007199254740992'], [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [0.1 + 0.2, '0.30000000000000004'],
  ];
  for (const [n, s] of cases) assert.equal(canonicalJson(n), s, String(n));
});

test('refuses values JSON cannot carry, naming where they are', () => {
  assert.throws(() => canonicalJson({ a: [1, NaN] }), /NaN is not representable at \$\.a\[1\]/);
  assert.throws(() => canonicalJson({ x: Infinity }), /Infinity is not representable at \$\.x/);
  assert.throws(() => canonicalJson([undefined]), /undefined is not representable at \$\[0\]/);
  assert.throws(() => canonicalJson({ n: 1n }), /BigInt is not representable at \$\.n/);
  assert.throws(() => canonicalJson(new Map()), /class Map/);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => canonicalJson(cyc), /circular reference at \$\.self/);
  assert.throws(() => canonicalJson(() => 1), /function/);
});

test('omits undefined object properties and honours toJSON', () => {
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.equal(canonicalJson({ t: new Date(0) }), '{"t":"1970-01-01T00:00:00.000Z"}');
  assert.equal(canonicalJson('é\u2028"'), '"é\u2028\\""');
  assert.deepEqual(canonicalBytes({ k: 'é' }), Buffer.from('{"k":"é"}', 'utf8'));
});

// JSON values without -0 (JSON has no negative zero, so it cannot round-trip).
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

test('property: parse(canonical(x)) deep-equals x', () => {
  fc.assert(fc.property(json, (v) => { assert.deepStrictEqual(JSON.parse(canonicalJson(v)), v); }), { seed: SEED, numRuns: 300 });
});

function shuffleKeys(v: unknown, rnd: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, rnd));
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries) Object.defineProperty(out, k, { value: shuffleKeys(x, rnd), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

test('property: key order does not change the canonical text; canonical is idempotent', () => {
  fc.assert(fc.property(json, fc.integer(), (v, s) => {
    let state = s >>> 0;
    const rnd = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const c = canonicalJson(v);
    assert.equal(canonicalJson(shuffleKeys(v, rnd)), c);
    assert.equal(canonicalJson(JSON.parse(c)), c);
  }), { seed: SEED, numRuns: 300 });
});

test('sha256Hex and streaming sha256File agree', async () => {
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const dir = mkdtempSync(join(tmpdir(), 'ef-canon-'));
  try {
    const data = Buffer.alloc(3 * (1 << 20) + 17, 7);
    writeFileSync(join(dir, 'f'), data);
    assert.deepEqual(await sha256File(join(dir, 'f')), { sha256: sha256Hex(data), size: data.length });
    writeFileSync(join(dir, 'e'), '');
    assert.deepEqual(await sha256File(join(dir, 'e')), { sha256: sha256Hex(''), size: 0 });
    await assert.rejects(sha256File(join(dir, 'missing')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
