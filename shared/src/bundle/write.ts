// Writing bundles: `packBundle` (hash files, fill and validate the manifest,
// run the caller's model check, then write the tar atomically) and
// `signBundle` (add one release signature, rewrite atomically).
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalBytes, sha256File, sha256Hex } from '../canonical.js';
import { keyPairFromFile, SecretKeyFile, type KeyPair } from '../crypto/keys.js';
import { signBytes, verifyBytes } from '../crypto/sign.js';
import { contentKeyId, encryptFile, ENCRYPTION_ALG } from '../crypto/sealed.js';
import { AppError } from '../errors.js';
import { parseWire } from '../wire/common.js';
import { Manifest } from '../wire/manifest.js';
import { assertAuthoredManifest, assertKnownManifestFields } from '../wire/manifest-authoring.js';
import { SIGNATURES_SCHEMA, type SignaturesFile } from '../wire/trust.js';
import { MANIFEST_ENTRY, manifestSigningBytes, readBundle, SIGNATURES_ENTRY, type BundleInfo, type ReadBundleOptions } from './read.js';
import { referenceId } from './model.js';
import { writeTar, type TarSource } from './tar.js';

/** Writes a tar to a temp file beside `out`, fsyncs it and renames it into place; returns its size. */
export async function writeTarAtomic(out: string, sources: TarSource[]): Promise<number> {
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const size = await writeTar(fh, sources);
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
    return size;
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface PackInput {
  /** The manifest as authored: `files` may be absent or omit sha256/size; a reference without `id` gets one. */
  manifest: unknown;
  files: { path: string; source: string }[];
  out: string;
  /**
   * Runs before anything is written (the CLI loads the entrypoint with onnxruntime, compares io, warms
   * up on the samples); `sourceOf` maps a bundle path (a sample, say) to its source file.
   */
  check?: (entrypointSource: string, manifest: Manifest, sourceOf: (bundlePath: string) => string) => Promise<void>;
  /** Hashing progress over all source files (bytes done, bytes in all), for a progress bar. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Encrypt every file with this content key (docs/decisions/0029-sealed-models.md): the manifest then
   * lists the ciphertexts' sha256 and size (what the signatures cover) and how each file is encrypted.
   * The check above still runs on the plaintext sources.
   */
  encrypt?: { key: Uint8Array; chunkSize?: number };
}

/** Encrypts each listed file to a temp file beside `out`; returns the manifest's files and the temp paths. */
async function encryptSources(out: string, manifest: Manifest, sources: Map<string, string>, enc: NonNullable<PackInput['encrypt']>) {
  const files: Manifest['files'] = [];
  const temps = new Map<string, string>();
  try {
    for (const f of manifest.files) {
      const tmp = join(dirname(out), `.${basename(out)}.enc-${randomBytes(6).toString('hex')}`);
      temps.set(f.path, tmp);
      const fh = await open(tmp, 'wx', 0o600);
      try {
        const r = await encryptFile(enc.key, sources.get(f.path) as string, async (c) => { await fh.write(c); }, enc.chunkSize);
        await fh.sync();
        files.push({ path: f.path, sha256: r.sha256, size: r.size, encryption: r.encryption });
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    await removeAll(temps);
    throw err;
  }
  return { files, temps };
}

async function removeAll(temps: Map<string, string>): Promise<void> {
  for (const t of temps.values()) await rm(t, { force: true });
}

export async function packBundle(input: PackInput): Promise<{ path: string; manifest: Manifest; manifestSha256: string; size: number }> {
  const raw = input.manifest;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new AppError('INVALID_INPUT', 'manifest: expected a JSON object');
  const m = { ...(raw as Record<string, unknown>) };
  const sources = new Map<string, string>();
  for (const f of input.files) {
    if (sources.has(f.path)) throw new AppError('INVALID_INPUT', `file ${JSON.stringify(f.path)} given twice; expected each bundle path once`);
    sources.set(f.path, f.source);
  }
  const declared = m.files === undefined ? [] : m.files;
  if (!Array.isArray(declared)) throw new AppError('INVALID_INPUT', 'manifest.files: expected an array of {path, sha256?, size?}');
  const files: { path: string; sha256: string; size: number }[] = [];
  let total = 0;
  let done = 0;
  if (input.onProgress) for (const src of sources.values()) total += await stat(src).then((st) => st.size, () => 0);
  const onBytes = input.onProgress ? (n: number) => input.onProgress?.((done += n), total) : undefined;
  const order = [...(declared as { path?: unknown }[]).map((f) => f?.path), ...[...sources.keys()]];
  for (const [i, p] of order.entries()) {
    if (typeof p !== 'string') throw new AppError('INVALID_INPUT', `manifest.files[${i}].path: expected a string`);
    if (files.some((f) => f.path === p)) continue;
    const source = sources.get(p);
    if (!source) throw new AppError('INVALID_INPUT', `manifest lists file ${JSON.stringify(p)} but no source file was given for it`);
    let h: { sha256: string; size: number };
    try {
      h = await sha256File(source, onBytes);
    } catch (err) {
      throw new AppError('NOT_FOUND', `cannot read ${p} from ${source}: ${(err as Error).message}`, { cause: err });
    }
    const d = (declared as { path?: unknown; sha256?: unknown; size?: unknown }[]).find((x) => x?.path === p);
    if (d?.sha256 !== undefined && d.sha256 !== h.sha256) throw new AppError('HASH_MISMATCH', `manifest declares sha256 ${String(d.sha256)} for ${p}, but ${source} has ${h.sha256}`);
    if (d?.size !== undefined && d.size !== h.size) throw new AppError('SIZE_MISMATCH', `manifest declares ${String(d.size)} bytes for ${p}, but ${source} has ${h.size}`);
    files.push({ path: p, ...h });
  }
  m.files = files;
  if (m.reference && typeof m.reference === 'object') {
    const ref = m.reference as { id?: unknown };
    const id = referenceId(ref as Parameters<typeof referenceId>[0]);
    if (ref.id === undefined) m.reference = { ...ref, id };
    else if (ref.id !== id) throw new AppError('INVALID_INPUT', `manifest.reference.id is ${String(ref.id)}; expected ${id} (sha256 of the canonical reference without id)`);
  }
  if (m.encryption !== undefined) throw new AppError('INVALID_INPUT', 'manifest.encryption: expected none in an authored manifest ("model pack --encrypt" fills it in)');
  assertKnownManifestFields(m, 'manifest');
  let manifest = parseWire(Manifest, m, 'manifest');
  assertAuthoredManifest(manifest, 'manifest');
  if (input.check) await input.check(sources.get(manifest.entrypoint) as string, manifest, (p) => sources.get(p) as string);
  let temps = new Map<string, string>();
  if (input.encrypt) {
    const e = await encryptSources(input.out, manifest, sources, input.encrypt);
    temps = e.temps;
    manifest = parseWire(Manifest, { ...manifest, files: e.files, encryption: { alg: ENCRYPTION_ALG, keyId: contentKeyId(input.encrypt.key) } }, 'manifest');
  }
  try {
    const manifestBytes = canonicalBytes(manifest);
    const manifestSha256 = sha256Hex(manifestBytes);
    const sigs: SignaturesFile = { schema: SIGNATURES_SCHEMA, manifestSha256, signatures: [] };
    const size = await writeTarAtomic(input.out, [
      { name: MANIFEST_ENTRY, bytes: manifestBytes },
      { name: SIGNATURES_ENTRY, bytes: canonicalBytes(sigs) },
      ...manifest.files.map((f) => ({ name: f.path, file: temps.get(f.path) ?? sources.get(f.path) as string, size: f.size, sha256: f.sha256 })),
    ]);
    return { path: input.out, manifest, manifestSha256, size };
  } finally {
    await removeAll(temps);
  }
}

/** Rewrites a bundle with a new signatures list (same manifest bytes, files copied with hash checks). */
export async function rewriteSignatures(path: string, info: BundleInfo, signatures: SignaturesFile['signatures']): Promise<number> {
  const sigs: SignaturesFile = { schema: SIGNATURES_SCHEMA, manifestSha256: info.manifestSha256, signatures };
  return writeTarAtomic(path, [
    { name: MANIFEST_ENTRY, bytes: info.manifestBytes },
    { name: SIGNATURES_ENTRY, bytes: canonicalBytes(sigs) },
    ...info.files.map((f) => ({ name: f.path, file: path, start: f.offset, size: f.size, sha256: f.sha256 })),
  ]);
}

/**
 * Adds a release signature over the canonical manifest. `key` is a key pair or
 * the parsed contents of a secret key file. Signing twice with one key is a
 * no-op ({added: false}); an invalid earlier signature by the key is replaced.
 */
export async function signBundle(path: string, key: KeyPair | unknown, opts: Pick<ReadBundleOptions, 'onBytes'> = {}): Promise<{ added: boolean; keyId: string; signatures: number }> {
  const pair = isKeyPair(key) ? key : keyPairFromFile(parseWire(SecretKeyFile, key, 'secret key file'));
  if (pair.role !== 'release') {
    throw new AppError('INVALID_INPUT', `key ${pair.name} (${pair.keyId.slice(0, 8)}…) is a ${pair.role} key; expected a release key to sign bundles`);
  }
  const info = await readBundle(path, opts);
  assertAuthoredManifest(info.manifest, `${path}: ${MANIFEST_ENTRY}`);
  const bytes = manifestSigningBytes(info);
  const existing = info.signatures.signatures;
  const mine = existing.filter((s) => s.keyId === pair.keyId);
  if (mine.some((s) => verifyBytes(pair.publicKey, bytes, s.sig))) return { added: false, keyId: pair.keyId, signatures: existing.length };
  const next = [...existing.filter((s) => s.keyId !== pair.keyId), signBytes(pair, bytes)];
  await rewriteSignatures(path, info, next);
  return { added: true, keyId: pair.keyId, signatures: next.length };
}

function isKeyPair(k: unknown): k is KeyPair {
  return !!k && typeof k === 'object' && (k as KeyPair).secretKey instanceof Uint8Array;
}
