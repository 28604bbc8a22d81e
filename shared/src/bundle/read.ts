// Reading and verifying bundles (docs/architecture.md section 3): structure, manifest,
// signatures file, every file's size and sha256 (streamed), release-key
// threshold, and verified streaming extraction of one file.
import { createHash } from 'node:crypto';
import { open, rm, rename, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import { canonicalBytes, sha256Hex } from '../canonical.js';
import { assertThreshold, type ThresholdResult } from '../crypto/threshold.js';
import { AppError } from '../errors.js';
import { parseJsonBounded } from '../json-bounded.js';
import { parseWire } from '../wire/common.js';
import { Manifest } from '../wire/manifest.js';
import { SignaturesFile, type TrustBody } from '../wire/trust.js';
import { listTar, readRange, type TarEntry } from './tar.js';

export const MANIFEST_ENTRY = 'manifest.json';
export const SIGNATURES_ENTRY = 'signatures.json';
const MAX_MANIFEST_BYTES = 16 << 20;
const MAX_SIGNATURES_BYTES = 1 << 20;

export interface BundleFileEntry { path: string; sha256: string; size: number; offset: number }
export interface BundleInfo {
  manifest: Manifest;
  /** manifest.json exactly as stored; manifestSha256 is its sha256. */
  manifestBytes: Buffer;
  /** manifest.json parsed but before zod defaults: signatures are over its canonical JSON. */
  manifestRaw: unknown;
  manifestSha256: string;
  signatures: SignaturesFile;
  /** The listed files in manifest order, with their data offsets in the tar. */
  files: BundleFileEntry[];
  /** Size of the bundle file in bytes. */
  size: number;
}

async function readSmall(fh: FileHandle, e: TarEntry, max: number, what: string): Promise<Buffer> {
  if (e.size > max) throw new AppError('BUNDLE_INVALID', `${what}: ${e.name} is ${e.size} bytes; expected at most ${max}`);
  const buf = Buffer.alloc(e.size);
  const { bytesRead } = await fh.read(buf, 0, e.size, e.offset);
  if (bytesRead !== e.size) throw new AppError('BUNDLE_INVALID', `${what}: ${e.name} truncated`);
  return buf;
}

/** Bounded nesting: a deep manifest must be BUNDLE_INVALID, not a stack overflow in zod or canonical JSON. */
function parseJson(buf: Buffer, what: string): unknown {
  return parseJsonBounded(buf.toString('utf8'), what, { code: 'BUNDLE_INVALID' });
}

/** Structure, manifest and signatures file, without hashing the listed files. */
async function inspect(fh: FileHandle, what: string): Promise<BundleInfo> {
  const entries = await listTar(fh, what);
  const byName = new Map<string, TarEntry>();
  for (const e of entries) {
    if (byName.has(e.name)) throw new AppError('BUNDLE_INVALID', `${what}: duplicate entry ${JSON.stringify(e.name)}; expected each path once`);
    byName.set(e.name, e);
  }
  const me = byName.get(MANIFEST_ENTRY);
  if (!me) throw new AppError('BUNDLE_INVALID', `${what}: no ${MANIFEST_ENTRY}; expected a bundle made by "edgefleet model pack"`);
  const manifestBytes = await readSmall(fh, me, MAX_MANIFEST_BYTES, what);
  const manifestRaw = parseJson(manifestBytes, `${what}: ${MANIFEST_ENTRY}`);
  const manifest = parseWire(Manifest, manifestRaw, `${what}: ${MANIFEST_ENTRY}`);
  const manifestSha256 = sha256Hex(manifestBytes);
  const se = byName.get(SIGNATURES_ENTRY);
  if (!se) throw new AppError('BUNDLE_INVALID', `${what}: no ${SIGNATURES_ENTRY}; expected one (with an empty list before signing)`);
  const signatures = parseWire(SignaturesFile, parseJson(await readSmall(fh, se, MAX_SIGNATURES_BYTES, what), `${what}: ${SIGNATURES_ENTRY}`), `${what}: ${SIGNATURES_ENTRY}`);
  if (signatures.manifestSha256 !== manifestSha256) {
    throw new AppError('HASH_MISMATCH', `${what}: ${SIGNATURES_ENTRY} is for manifest sha256 ${signatures.manifestSha256}, but ${MANIFEST_ENTRY} has sha256 ${manifestSha256}`);
  }
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const e of entries) {
    if (e.name === MANIFEST_ENTRY || e.name === SIGNATURES_ENTRY) continue;
    const f = listed.get(e.name);
    if (!f) throw new AppError('BUNDLE_INVALID', `${what}: entry ${JSON.stringify(e.name)} is not listed in the manifest; expected only manifest files`);
    if (e.size !== f.size) {
      throw new AppError('SIZE_MISMATCH', `${what}: ${e.name} is ${e.size} bytes in the archive; the manifest declares ${f.size} (${e.size > f.size ? 'larger' : 'smaller'} than declared)`);
    }
  }
  const files = manifest.files.map((f) => {
    const e = byName.get(f.path);
    if (!e) throw new AppError('BUNDLE_INVALID', `${what}: ${f.path} is listed in the manifest but missing from the archive`);
    return { path: f.path, sha256: f.sha256, size: f.size, offset: e.offset };
  });
  const { size } = await fh.stat();
  return { manifest, manifestBytes, manifestRaw, manifestSha256, signatures, files, size };
}

async function withBundle<T>(path: string, fn: (fh: FileHandle, what: string) => Promise<T>, what = `bundle ${basename(path)}`): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new AppError('NOT_FOUND', `cannot open bundle ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if ((await fh.stat()).isDirectory()) throw new AppError('BAD_REQUEST', `${path} is a directory: expected a bundle file (.efb)`);
    return await fn(fh, what);
  } finally {
    await fh.close();
  }
}

export interface ReadBundleOptions {
  /** Hash every listed file (default true). Without it only structure, sizes and the manifest are checked. */
  verifyFiles?: boolean;
  /** How errors name the bundle before its manifest is read (default "bundle FILE.efb"; the hub's is "pushed bundle", not its staging file). */
  what?: string;
  /** Gets each hashed chunk's length (a progress bar's tick) while the files are verified. */
  onBytes?: (n: number) => void;
}

/** Reads a bundle and verifies every listed file's size and sha256 (streamed) against the manifest. */
export async function readBundle(path: string, opts: ReadBundleOptions = {}): Promise<BundleInfo> {
  return withBundle(path, async (fh, what) => {
    const info = await inspect(fh, what);
    if (opts.verifyFiles !== false) {
      for (const f of info.files) {
        const hash = createHash('sha256');
        await readRange(fh, f.offset, f.size, (b) => { hash.update(b); opts.onBytes?.(b.length); }, `${what}: ${f.path}`);
        const got = hash.digest('hex');
        if (got !== f.sha256) throw new AppError('HASH_MISMATCH', `${what}: ${f.path} has sha256 ${got}; the manifest declares ${f.sha256}`);
      }
    }
    return info;
  }, opts.what);
}

export interface VerifiedBundle extends BundleInfo {
  validKeyIds: string[];
  threshold: ThresholdResult;
}

/** The bytes release signatures cover: the canonical JSON of manifest.json as stored. */
export function manifestSigningBytes(info: Pick<BundleInfo, 'manifestRaw'>): Buffer {
  return canonicalBytes(info.manifestRaw);
}

/** readBundle + a threshold of valid release signatures over the canonical manifest (per `trust`). */
export async function verifyBundle(path: string, trust: TrustBody, opts: Pick<ReadBundleOptions, 'what' | 'onBytes'> = {}): Promise<VerifiedBundle> {
  const info = await readBundle(path, opts);
  const what = `bundle ${info.manifest.name}-${info.manifest.version}`;
  const threshold = assertThreshold(trust, 'release', manifestSigningBytes(info), info.signatures.signatures, what);
  return { ...info, validKeyIds: threshold.valid, threshold };
}

function findFile(info: BundleInfo, filePath: string, what: string): BundleFileEntry {
  const f = info.files.find((x) => x.path === filePath);
  if (!f) throw new AppError('NOT_FOUND', `${what}: no file ${JSON.stringify(filePath)}; expected one of ${info.files.map((x) => x.path).join(', ')}`);
  return f;
}

/** A transform that passes bytes through and fails at the end unless they hash to `sha256` with `size` bytes. */
export function verifyingStream(sha256: string, size: number, what: string): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) { hash.update(chunk); seen += chunk.length; cb(null, chunk); },
    flush(cb) {
      const got = hash.digest('hex');
      if (seen !== size) cb(new AppError('SIZE_MISMATCH', `${what}: ${seen} bytes, expected ${size}`));
      else if (got !== sha256) cb(new AppError('HASH_MISMATCH', `${what}: sha256 ${got}, expected ${sha256}`));
      else cb();
    },
  });
}

/**
 * Opens one listed file as a stream; the stream errors (HASH_MISMATCH) at its end
 * if the bytes do not match the manifest, so consumers must not trust the data
 * before the stream ends cleanly.
 */
export async function openBundleEntry(path: string, filePath: string): Promise<{ size: number; sha256: string; stream: Readable }> {
  const { info, what } = await withBundle(path, async (fh, w) => ({ info: await inspect(fh, w), what: w }));
  const f = findFile(info, filePath, what);
  const check = verifyingStream(f.sha256, f.size, `${what}: ${f.path}`);
  const fh = await open(path, 'r');
  const src = f.size === 0 ? new PassThrough().end() : fh.createReadStream({ start: f.offset, end: f.offset + f.size - 1, autoClose: true });
  if (f.size === 0) await fh.close();
  // pipeline destroys both sides if either errors or the consumer gives up early (no leaked fd).
  pipeline(src, check, () => undefined);
  return { size: f.size, sha256: f.sha256, stream: check };
}

/** Copies one listed file to `dest` (temp + fsync + rename), verifying its sha256 while copying. */
export async function extractBundleFile(path: string, filePath: string, dest: string): Promise<{ sha256: string; size: number }> {
  return withBundle(path, async (fh, what) => {
    const info = await inspect(fh, what);
    const f = findFile(info, filePath, what);
    const tmp = `${dest}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const out = await open(tmp, 'wx', 0o644);
    const hash = createHash('sha256');
    let pos = 0;
    try {
      await readRange(fh, f.offset, f.size, async (b) => { hash.update(b); await out.write(b, 0, b.length, pos); pos += b.length; }, `${what}: ${f.path}`);
      const got = hash.digest('hex');
      if (got !== f.sha256) throw new AppError('HASH_MISMATCH', `${what}: ${f.path} has sha256 ${got}; the manifest declares ${f.sha256}`);
      await out.sync();
    } catch (err) {
      await out.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    await rename(tmp, dest);
    return { sha256: f.sha256, size: f.size };
  });
}
