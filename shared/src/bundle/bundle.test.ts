import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes, sha256Hex } from '../canonical.js';
import { generateKeyPair, toSecretKeyFile } from '../crypto/keys.js';
import { signBytes } from '../crypto/sign.js';
import { createTrustBody } from '../crypto/trust.js';
import { AppError } from '../errors.js';
import { extractBundleFile, openBundleEntry, readBundle, verifyBundle } from './read.js';
import { packBundle, rewriteSignatures, signBundle } from './write.js';
import { exampleManifest, writeRawTar } from './testutil.js';
import { code } from '../assert-code.js';

const seed = (n: number) => new Uint8Array(32).fill(n);
const rel = [1, 2, 3].map((n) => generateKeyPair('release', `rel${n}`, seed(n)));
const root = generateKeyPair('root', 'root', seed(9));
const hub = generateKeyPair('hub', 'hub', seed(10));
const trust1 = createTrustBody({ version: 1, expires: '2030-01-01T00:00:00Z', root: [root], release: rel, hub: [hub] });
const trust2 = createTrustBody({ version: 1, expires: '2030-01-01T00:00:00Z', root: [root], release: rel, hub: [hub], thresholds: { release: 2 } });


async function withBundle(fn: (b: { dir: string; out: string; model: Buffer }) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bundle-'));
  try {
    const model = Buffer.alloc(70_000);
    for (let i = 0; i < model.length; i++) model[i] = (i * 31) & 0xff;
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'notes.md'), '# notes\n');
    const out = join(dir, 'vib-1.0.0.efb');
    await packBundle({ manifest: exampleManifest(), files: [{ path: 'model.onnx', source: join(dir, 'model.onnx') }, { path: 'docs/notes.md', source: join(dir, 'notes.md') }], out });
    await fn({ dir, out, model });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Overwrites bytes of a file at `pos`. */
function patch(path: string, pos: number, bytes: Buffer) {
  const b = readFileSync(path);
  bytes.copy(b, pos);
  writeFileSync(path, b);
}

test('round trip: pack → sign → verify, files filled in and extracted', () => withBundle(async ({ dir, out, model }) => {
  const info = await readBundle(out);
  assert.deepEqual(info.manifest.files, [
    { path: 'model.onnx', sha256: sha256Hex(model), size: model.length },
    { path: 'docs/notes.md', sha256: sha256Hex('# notes\n'), size: 8 },
  ]);
  assert.equal(info.manifest.policy.maxErrorRate, 0.05);
  assert.deepEqual(info.signatures.signatures, []);
  assert.equal(info.manifestSha256, sha256Hex(info.manifestBytes));
  await assert.rejects(verifyBundle(out, trust1), code('THRESHOLD_NOT_MET', new RegExp(`^bundle vib-1.0.0: release signatures: 0 of threshold 1 valid \\(unsigned: expected 1 signature by the release keys ${rel.map((k) => `${k.keyId.slice(0, 8)}…`).join(', ')}\\)$`)));

  assert.deepEqual(await signBundle(out, rel[0]!), { added: true, keyId: rel[0]!.keyId, signatures: 1 });
  assert.deepEqual(await signBundle(out, toSecretKeyFile(rel[0]!)), { added: false, keyId: rel[0]!.keyId, signatures: 1 });
  const v = await verifyBundle(out, trust1);
  assert.deepEqual(v.validKeyIds, [rel[0]!.keyId]);
  assert.equal(v.manifestSha256, info.manifestSha256); // signing never changes the signed bytes
  await assert.rejects(verifyBundle(out, trust2), code('THRESHOLD_NOT_MET', /1 of threshold 2 valid/));
  await signBundle(out, rel[1]!);
  assert.equal((await verifyBundle(out, trust2)).validKeyIds.length, 2);
  await assert.rejects(signBundle(out, hub), code('INVALID_INPUT', /is a hub key; expected a release key/));

  const dest = join(dir, 'extracted');
  assert.deepEqual(await extractBundleFile(out, 'model.onnx', dest), { sha256: sha256Hex(model), size: model.length });
  assert.deepEqual(readFileSync(dest), model);
  const { stream } = await openBundleEntry(out, 'docs/notes.md');
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), '# notes\n');
  await assert.rejects(extractBundleFile(out, 'nope', dest), code('NOT_FOUND', /expected one of model.onnx, docs\/notes.md/));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp') || f.includes('partial')), []);
}));

test('a flipped byte in the model is a HASH_MISMATCH naming the file; extraction refuses too', () => withBundle(async ({ dir, out, model }) => {
  await signBundle(out, rel[0]!);
  const info = await readBundle(out);
  const f = info.files.find((x) => x.path === 'model.onnx')!;
  patch(out, f.offset + 1234, Buffer.from([(model[1234]! ^ 1)]));
  await assert.rejects(verifyBundle(out, trust1), code('HASH_MISMATCH', new RegExp(`model.onnx has sha256 [0-9a-f]{64}; the manifest declares ${f.sha256}`)));
  await assert.rejects(extractBundleFile(out, 'model.onnx', join(dir, 'x')), code('HASH_MISMATCH'));
  assert.equal(existsSync(join(dir, 'x')), false);
  const { stream } = await openBundleEntry(out, 'model.onnx');
  await assert.rejects((async () => { for await (const _ of stream) { /* drain */ } })(), code('HASH_MISMATCH'));
}));

test('an edited manifest field: refused by the manifest hash binding, and by the signature when re-bound', () => withBundle(async ({ out }) => {
  await signBundle(out, rel[0]!);
  const info = await readBundle(out);
  const edited = Buffer.from(info.manifestBytes.toString().replace('"first version"', '"first versioN"'));
  assert.equal(edited.length, info.manifestBytes.length);
  patch(out, 512, edited);
  await assert.rejects(readBundle(out), code('HASH_MISMATCH', /signatures.json is for manifest sha256/));
  // An attacker who also rewrites signatures.json to bind the edited manifest still lacks a valid signature.
  const again = { ...info, manifestBytes: edited, manifestSha256: sha256Hex(edited) };
  await rewriteSignatures(out, again, info.signatures.signatures);
  await assert.rejects(verifyBundle(out, trust1), code('SIGNATURE_INVALID', new RegExp(`key ${rel[0]!.keyId.slice(0, 8)}… signature invalid`)));
}));

test('a manifest nested 200k levels deep (bound by its signatures file) is BUNDLE_INVALID, not a stack overflow', () => withBundle(async ({ dir, out }) => {
  const info = await readBundle(out);
  // Inside training.hyperparameters (free-form values): zod accepts it, canonical JSON would recurse 200k times.
  const deep = Buffer.from(info.manifestBytes.toString().replace('"training":{', `"training":{"hyperparameters":{"deep":${'['.repeat(200_000)}${']'.repeat(200_000)}},`));
  const sigs = canonicalBytes({ ...info.signatures, manifestSha256: sha256Hex(deep) });
  const p = join(dir, 'deep.efb');
  writeRawTar(p, [{ name: 'manifest.json', data: deep }, { name: 'signatures.json', data: sigs }, { name: 'model.onnx', data: readFileSync(join(dir, 'model.onnx')) }, { name: 'docs/notes.md', data: Buffer.from('# notes\n') }]);
  await assert.rejects(readBundle(p), code('BUNDLE_INVALID', /manifest.json nests deeper than 64 levels/));
  await assert.rejects(verifyBundle(p, trust1), code('BUNDLE_INVALID', /manifest.json nests deeper than 64 levels/));
}));

test('signatures by untrusted keys and duplicated signatures do not count', () => withBundle(async ({ out }) => {
  const outsider = generateKeyPair('release', 'outsider', seed(42));
  await signBundle(out, outsider);
  await assert.rejects(verifyBundle(out, trust1), code('THRESHOLD_NOT_MET', /1 signature by a key not among the release keys of trust version 1 ignored \(([0-9a-f]{8})…\); expected release keys: (?!\1)[0-9a-f]{8}…/));
  const info = await readBundle(out);
  const s = signBytes(rel[0]!, canonicalBytes(info.manifestRaw));
  await rewriteSignatures(out, info, [s, s, { ...s }]);
  await assert.rejects(verifyBundle(out, trust2), code('THRESHOLD_NOT_MET', /1 of threshold 2 valid \(1 key signed more than once, counted once/));
}));

test('hostile archives are refused: traversal, duplicate, unlisted, missing, oversize, non-regular', () => withBundle(async ({ dir, out }) => {
  const info = await readBundle(out);
  const model = readFileSync(join(dir, 'model.onnx'));
  const notes = Buffer.from('# notes\n');
  const sigs = canonicalBytes(info.signatures);
  const base = [
    { name: 'manifest.json', data: info.manifestBytes },
    { name: 'signatures.json', data: sigs },
    { name: 'model.onnx', data: model },
  ];
  const cases: [string, Parameters<typeof writeRawTar>[1], string, RegExp][] = [
    ['traversal', [...base, { name: '../docs/notes.md', data: notes }], 'PATH_TRAVERSAL', /"\.\.\/docs\/notes.md"/],
    ['absolute', [...base, { name: '/docs/notes.md', data: notes }], 'PATH_TRAVERSAL', /not a safe relative path/],
    ['duplicate', [...base, { name: 'docs/notes.md', data: notes }, { name: 'model.onnx', data: model }], 'BUNDLE_INVALID', /duplicate entry "model.onnx"/],
    ['unlisted', [...base, { name: 'docs/notes.md', data: notes }, { name: 'extra.bin', data: notes }], 'BUNDLE_INVALID', /"extra.bin" is not listed in the manifest/],
    ['missing', base, 'BUNDLE_INVALID', /docs\/notes.md is listed in the manifest but missing/],
    ['oversize', [...base, { name: 'docs/notes.md', data: Buffer.concat([notes, Buffer.from('more')]) }], 'SIZE_MISMATCH', /docs\/notes.md is 12 bytes in the archive; the manifest declares 8 \(larger than declared\)/],
    ['symlink', [...base, { name: 'docs/notes.md', data: Buffer.alloc(0), type: '2' }], 'BUNDLE_INVALID', /symbolic link/],
    ['no-manifest', base.slice(1), 'BUNDLE_INVALID', /no manifest.json/],
    ['no-signatures', [base[0]!, base[2]!, { name: 'docs/notes.md', data: notes }], 'BUNDLE_INVALID', /no signatures.json/],
    ['bad-json', [{ name: 'manifest.json', data: Buffer.from('{') }, ...base.slice(1)], 'BUNDLE_INVALID', /manifest.json is not JSON/],
  ];
  for (const [name, entries, c, re] of cases) {
    const p = join(dir, `${name}.efb`);
    writeRawTar(p, entries);
    await assert.rejects(readBundle(p), code(c, re), name);
  }
  await assert.rejects(readBundle(join(dir, 'none.efb')), code('NOT_FOUND', /cannot open bundle/));
}));

test('pack validates before writing anything and runs the check', () => withBundle(async ({ dir }) => {
  const out = join(dir, 'p.efb');
  const files = [{ path: 'model.onnx', source: join(dir, 'model.onnx') }];
  await assert.rejects(packBundle({ manifest: exampleManifest({ version: '1.0' }), files, out }), code('SCHEMA_INVALID', /invalid manifest: version: expected a semantic version/));
  await assert.rejects(packBundle({ manifest: exampleManifest({ entrypoint: 'other.onnx' }), files, out }), code('SCHEMA_INVALID', /entrypoint/));
  await assert.rejects(packBundle({ manifest: exampleManifest({ files: [{ path: 'model.onnx', size: 3 }] }), files, out }), code('SIZE_MISMATCH', /declares 3 bytes for model.onnx/));
  await assert.rejects(packBundle({ manifest: exampleManifest(), files: [...files, { path: 'gone', source: join(dir, 'gone') }], out }), code('NOT_FOUND', /cannot read gone/));
  await assert.rejects(packBundle({ manifest: exampleManifest(), files: [{ path: '../x', source: join(dir, 'model.onnx') }, ...files], out }), code('SCHEMA_INVALID', /files\[0\].path/));
  let seen = '';
  await assert.rejects(packBundle({ manifest: exampleManifest(), files, out, check: async (src, m) => { seen = `${src}|${m.files[0]!.size}`; throw new AppError('MODEL_IO_MISMATCH', 'io mismatch'); } }), code('MODEL_IO_MISMATCH'));
  assert.equal(seen, `${join(dir, 'model.onnx')}|70000`);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  const ref = { rows: 10, features: [{ kind: 'numeric', name: 'rms', edges: [0, 1, 2], counts: [4, 6], moments: { n: 10, mean: 1, m2: 2, min: 0, max: 2 } }] };
  const features = [{ name: 'rms', index: 0, kind: 'numeric' }];
  const r = await packBundle({ manifest: exampleManifest({ features, reference: ref }), files, out });
  assert.match(r.manifest.reference!.id, /^[0-9a-f]{64}$/);
  await assert.rejects(packBundle({ manifest: exampleManifest({ features, reference: { ...ref, id: 'a'.repeat(64) } }), files, out }), code('INVALID_INPUT', /reference.id is a{64}; expected [0-9a-f]{64}/));
}));
