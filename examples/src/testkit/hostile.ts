// Hostile bundles for tests of bad input (docs/security.md): a copy of a real
// bundle whose manifest nests 200k levels deep, with its signatures file bound
// to the new manifest so that only the nesting is wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { BLOCK, canonicalBytes, makeHeader, readBundle, sha256Hex } from '@edgefleet/shared';

export const DEEP_LEVELS = 200_000;

/** Writes `out`: `src` with `"deep": [[[...]]]` (200k levels) inside the manifest's provenance. */
export async function writeDeepManifestBundle(src: string, out: string): Promise<void> {
  const info = await readBundle(src, { verifyFiles: false });
  const text = info.manifestBytes.toString('utf8');
  if (!text.includes('"provenance":{')) throw new Error(`${src}: manifest has no "provenance":{ to nest into`);
  const deep = Buffer.from(text.replace('"provenance":{', `"provenance":{"deep":${'['.repeat(DEEP_LEVELS)}${']'.repeat(DEEP_LEVELS)},`));
  const sigs = Buffer.from(canonicalBytes({ ...info.signatures, manifestSha256: sha256Hex(deep) }));
  const pad = (b: Buffer) => Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK);
  const orig = readFileSync(src);
  // Every entry after the two JSON files, headers included, as they are.
  const rest = orig.subarray(Math.min(...info.files.map((f) => f.offset)) - BLOCK);
  writeFileSync(out, Buffer.concat([makeHeader('manifest.json', deep.length), deep, pad(deep), makeHeader('signatures.json', sigs.length), sigs, pad(sigs), rest]));
}
