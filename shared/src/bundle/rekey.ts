// Re-keying a sealed model (docs/decisions/0029-sealed-models.md): the same model files under a new
// content key, as a new version (the manifest, so its signatures, must change: the hub never holds a
// release key). Each file is decrypted in memory and encrypted again; no plaintext is written.
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalBytes, sha256Hex } from '../canonical.js';
import { contentKeyId, decryptFile, encryptFile, ENCRYPTION_ALG, type FileEncryption } from '../crypto/sealed.js';
import { AppError } from '../errors.js';
import { parseWire } from '../wire/common.js';
import { Manifest } from '../wire/manifest.js';
import { SIGNATURES_SCHEMA, type SignaturesFile } from '../wire/trust.js';
import { MANIFEST_ENTRY, readBundle, SIGNATURES_ENTRY } from './read.js';
import { writeTarAtomic } from './write.js';

export interface RekeyInput {
  bundle: string;
  oldKey: Uint8Array;
  newKey: Uint8Array;
  /** The new bundle's version (it must differ: name@version names one manifest). */
  version: string;
  reason: string;
  created: Date;
  out: string;
}

/** Writes an unsigned bundle with every file re-encrypted under `newKey`; sign it next. */
export async function rekeyBundle(input: RekeyInput): Promise<{ path: string; manifest: Manifest; manifestSha256: string; size: number }> {
  const info = await readBundle(input.bundle);
  const m = info.manifest;
  const what = `bundle ${m.name}-${m.version}`;
  if (!m.encryption) throw new AppError('INVALID_INPUT', `${what} is not encrypted; expected a bundle packed with --encrypt`);
  if (m.encryption.keyId !== contentKeyId(input.oldKey)) {
    throw new AppError('CONTENT_KEY_MISSING', `${what} is encrypted with content key ${m.encryption.keyId.slice(0, 12)}…; the key given is ${contentKeyId(input.oldKey).slice(0, 12)}…`);
  }
  if (input.version === m.version) throw new AppError('CONFLICT', `${what}: the re-keyed bundle needs a new version (a name and version name one manifest); got the same ${m.version}`);
  const temps: string[] = [];
  try {
    const files: Manifest['files'] = [];
    for (const f of info.files) {
      const mf = m.files.find((x) => x.path === f.path) as Manifest['files'][number];
      const enc = mf.encryption as FileEncryption;
      const plain = await decryptFile(input.oldKey, input.bundle, f, enc, `${what}: ${f.path}`, { offset: f.offset });
      const tmp = join(dirname(input.out), `.${basename(input.out)}.enc-${randomBytes(6).toString('hex')}`);
      temps.push(tmp);
      const fh = await open(tmp, 'wx', 0o600);
      try {
        const r = await encryptFile(input.newKey, plain, async (c) => { await fh.write(c); }, enc.chunkSize);
        await fh.sync();
        files.push({ path: f.path, sha256: r.sha256, size: r.size, encryption: r.encryption });
      } finally {
        plain.fill(0);
        await fh.close();
      }
    }
    const manifest = parseWire(Manifest, {
      ...m, version: input.version, created: input.created.toISOString(), files,
      encryption: { alg: ENCRYPTION_ALG, keyId: contentKeyId(input.newKey) },
      provenance: { ...m.provenance, reason: input.reason },
    }, 'manifest');
    const manifestBytes = canonicalBytes(manifest);
    const manifestSha256 = sha256Hex(manifestBytes);
    const sigs: SignaturesFile = { schema: SIGNATURES_SCHEMA, manifestSha256, signatures: [] };
    const size = await writeTarAtomic(input.out, [
      { name: MANIFEST_ENTRY, bytes: manifestBytes },
      { name: SIGNATURES_ENTRY, bytes: canonicalBytes(sigs) },
      ...manifest.files.map((f, i) => ({ name: f.path, file: temps[i] as string, size: f.size, sha256: f.sha256 })),
    ]);
    return { path: input.out, manifest, manifestSha256, size };
  } finally {
    for (const t of temps) await rm(t, { force: true });
  }
}
