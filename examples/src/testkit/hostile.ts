// Hostile bundles for tests of bad input (docs/security.md): copies of a real bundle with another
// manifest, and a signatures file bound to it, so that only what the test changes is wrong: a manifest
// nesting 200k levels deep, or one edited (and signed again) to break a publishing rule.
import { readFileSync, writeFileSync } from 'node:fs';
import { BLOCK, canonicalBytes, makeHeader, readBundle, sha256Hex, signBytes, type KeyPair, type Signature } from '@edgefleet/shared';

export const DEEP_LEVELS = 200_000;

/** Writes `out`: `src` with `"deep": [[[...]]]` (200k levels) inside the manifest's provenance. */
export async function writeDeepManifestBundle(src: string, out: string): Promise<void> {
  const info = await readBundle(src, { verifyFiles: false });
  const text = info.manifestBytes.toString('utf8');
  if (!text.includes('"provenance":{')) throw new Error(`${src}: manifest has no "provenance":{ to nest into`);
  const deep = Buffer.from(text.replace('"provenance":{', `"provenance":{"deep":${'['.repeat(DEEP_LEVELS)}${']'.repeat(DEEP_LEVELS)},`));
  await writeWithManifest(src, out, deep, info.signatures.signatures);
}

/** Writes `out`: `src` with its manifest changed by `edit` and signed by `signers` (a valid signature over a manifest our writer would refuse). */
export async function writeEditedManifestBundle(src: string, out: string, edit: (manifest: Record<string, unknown>) => void, signers: KeyPair[]): Promise<void> {
  const info = await readBundle(src, { verifyFiles: false });
  const manifest = structuredClone(info.manifestRaw) as Record<string, unknown>;
  edit(manifest);
  const bytes = Buffer.from(canonicalBytes(manifest));
  await writeWithManifest(src, out, bytes, signers.map((k) => signBytes(k, bytes)));
}

async function writeWithManifest(src: string, out: string, manifest: Buffer, signatures: Signature[]): Promise<void> {
  const info = await readBundle(src, { verifyFiles: false });
  const sigs = Buffer.from(canonicalBytes({ ...info.signatures, manifestSha256: sha256Hex(manifest), signatures }));
  const pad = (b: Buffer) => Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK);
  const orig = readFileSync(src);
  // Every entry after the two JSON files, headers included, as they are.
  const rest = orig.subarray(Math.min(...info.files.map((f) => f.offset)) - BLOCK);
  writeFileSync(out, Buffer.concat([makeHeader('manifest.json', manifest.length), manifest, pad(manifest), makeHeader('signatures.json', sigs.length), sigs, pad(sigs), rest]));
}
