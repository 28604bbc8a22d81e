// The model registry's push path: stream a bundle to a temp file under a size
// limit while hashing it, verify it against the hub's trust (signature
// threshold, file hashes, manifest schema; a new version's model io, decision 0070) and only then
// store the blob and the version. Nothing is stored for a refused bundle.
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError, assertAuthoredManifest, checkModelIo, extractBundleFile, storageError, verifyBundle, type BundleFileEntry, type Manifest, type ModelBackends, type Signature, type TrustBody } from '@edgefleet/shared';
import type { Store } from './store/index.js';
import { readGraphIo } from './onnx-graph-io.js';
import { WASM_CHECK_MAX_BYTES, describeBackends, modelBackends, type WasmCheckLimits } from './model-backends.js';
import { nativeLoadError } from './model-check.js';

export interface VerifiedBundle {
  manifest: Manifest;
  manifestSha256: string;
  signatures: Signature[];
  /** The listed files with their places in the bundle file. */
  files: BundleFileEntry[];
}

/** Verifies a bundle file against the hub's current trust; throws AppError naming the failure. */
export type BundleVerifier = (path: string) => Promise<VerifiedBundle>;

/**
 * The hub's verifier: signatures and hashes against the trust document `trust()` returns at each push.
 * Its errors call the upload "pushed bundle" ("invalid pushed bundle: manifest.json: ..."), never by the name of the file it is staged in.
 */
export function bundleVerifier(trust: () => TrustBody): BundleVerifier {
  return async (path) => {
    const v = await verifyBundle(path, trust(), { what: 'pushed bundle' });
    return { manifest: v.manifest, manifestSha256: v.manifestSha256, signatures: v.signatures.signatures, files: v.files };
  };
}

/**
 * MODEL_IO_MISMATCH, naming each input or output and what the manifest expects, when the model of a
 * verified bundle does not match its manifest's io by the agents' rule (shared checkModelIo, as
 * agent/src/runtime/session.ts and `model verify` apply it); MODEL_LOAD_FAILED when it is no ONNX model.
 * Read from the graph without onnxruntime (onnx-graph-io.ts). An encrypted model is not read: the hub
 * has no content key while the bundle is pushed (docs/decisions/0070-model-io-checked-at-push.md).
 */
export async function assertModelIo(path: string, v: VerifiedBundle): Promise<void> {
  const m = v.manifest;
  const f = v.files.find((x) => x.path === m.entrypoint);
  if (m.encryption || !f) return; // verifyBundle refused an entrypoint that is not a listed file
  const what = `${m.name} ${m.version}: ${m.entrypoint}`;
  const problems = checkModelIo(await readGraphIo(path, f.offset, f.size, what), m.io, { allowFreeOverOne: true });
  if (problems.length > 0) {
    throw new AppError('MODEL_IO_MISMATCH', `${what} does not match the manifest io: ${problems.join('; ')}; every agent would refuse it at install ("edgefleet model verify" shows the same)`, { details: problems });
  }
}

/** Pushes whose models are being loaded: one at a time, so two big models are never in the hub's memory at once. */
let loading: Promise<unknown> = Promise.resolve();

/**
 * The backends the model of a verified, new bundle loads on (model-backends.ts), its entrypoint copied out
 * to `temp` and removed after; MODEL_LOAD_FAILED when it loads on none. undefined for an encrypted model.
 * A model above `limits.maxBytes` is loaded on neither (both `unchecked`): the hub is a server, and
 * onnxruntime needs several times the model while loading it (docs/decisions/0129-model-backends-checked.md).
 */
export async function checkBackends(path: string, v: VerifiedBundle, temp: string, limits: WasmCheckLimits = {}): Promise<ModelBackends | undefined> {
  const m = v.manifest;
  const f = v.files.find((x) => x.path === m.entrypoint);
  if (m.encryption || !f) return undefined;
  const max = limits.maxBytes ?? WASM_CHECK_MAX_BYTES;
  if (f.size > max) {
    const why = `the model (${f.size} bytes) is larger than the hub's bound of ${max} bytes for loading it at push`;
    return { loads: [], refused: {}, unchecked: { native: why, wasm: why } };
  }
  const run = loading.then(async () => {
    try {
      await extractBundleFile(path, m.entrypoint, temp);
      const b = await modelBackends(temp, await nativeLoadError(temp), limits);
      if (b.loads.length === 0 && !b.unchecked) {
        throw new AppError('MODEL_LOAD_FAILED', `${m.name} ${m.version}: ${m.entrypoint} ${describeBackends(b)}; no agent could install it`);
      }
      return b;
    } finally {
      rmSync(temp, { force: true });
    }
  });
  loading = run.catch(() => undefined);
  return run;
}

export interface PushResult extends VerifiedBundle {
  bundleSha256: string;
  bundleSize: number;
  outcome: 'created' | 'exists';
  /** The backends a new version loads on (checkBackends); undefined for the same bundle again or an encrypted one. */
  backends?: ModelBackends | undefined;
}

/**
 * Writes a byte stream to `path`, refusing more than `max` bytes; returns sha256 and size. On any failure
 * the file is removed. A write the disk refuses (full: DISK_FULL, else IO_ERROR) names the directory; the
 * body's own errors (a refusal, a client gone) pass as they are.
 */
export async function receiveToFile(body: AsyncIterable<Uint8Array>, path: string, max: number): Promise<{ sha256: string; size: number }> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  // Opened before the first chunk: a refused or failed upload then removes only the file it made.
  await once(out, 'open');
  const hash = createHash('sha256');
  let size = 0;
  let bodyFailed = false;
  try {
    // pipeline, not write/drain by hand: a write error while the body is awaited (ENOSPC) has a listener,
    // and nothing waits for an event the stream already emitted (a full disk hung the upload for ever).
    await pipeline(async function* () {
      try {
        for await (const chunk of body) {
          size += chunk.length;
          if (size > max) throw new AppError('PAYLOAD_TOO_LARGE', `bundle is larger than the hub's limit of ${max} bytes (maxBundleBytes, --max-bundle-bytes)`);
          hash.update(chunk);
          yield chunk;
        }
      } catch (err) {
        bodyFailed = true;
        throw err;
      }
    }, out);
  } catch (err) {
    rmSync(path, { force: true });
    if (bodyFailed) throw err;
    throw storageError(err, `bundle upload: cannot store it under ${dirname(path)}`, `room for ${size} bytes or more: free space on the hub's disk, then push again`);
  }
  if (size === 0) {
    rmSync(path, { force: true });
    throw new AppError('BAD_REQUEST', 'empty body: expected a bundle (.efb) as application/octet-stream');
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * How a push checks which backends a new version loads on: the bounds of the check (checkBackends), or 'off'
 * for none (the version's backends unknown, as for one pushed before the check). The hub's route always checks;
 * test harnesses that build a Registry to feed other parts turn it off, since starting onnxruntime-web costs each
 * test process ~0.5 s of CPU (docs/development.md "Test run time").
 */
export type BackendCheck = WasmCheckLimits | 'off';

export class Registry {
  constructor(private readonly store: Store, private readonly verify: BundleVerifier, private readonly backendCheck: BackendCheck = {}) {}

  /** `record` runs inside the push's transaction, for a new version and for the same bundle again (its `outcome` says which): the audit entry. */
  async push(body: AsyncIterable<Uint8Array>, opts: { maxBytes: number; pushedBy: string; at: Date; record?: (r: PushResult) => void }): Promise<PushResult> {
    const temp = this.store.blobs.tempPath();
    const { sha256, size } = await receiveToFile(body, temp, opts.maxBytes);
    try {
      const v = await this.verify(temp);
      const { name, version } = v.manifest;
      // Checked before the blob is kept, so a refused push leaves no file behind.
      // A version the hub already holds is pushed again as it was; a new one must also pass the
      // checks made when a version is published (shared/src/wire/manifest-authoring.ts).
      let backends: ModelBackends | undefined;
      if (this.store.models.check(name, version, sha256, v.manifestSha256) === 'new') {
        assertAuthoredManifest(v.manifest, `${name} ${version}: manifest.json`);
        await assertModelIo(temp, v);
        if (this.backendCheck !== 'off') backends = await checkBackends(temp, v, this.store.blobs.tempPath(), this.backendCheck);
      }
      let outcome: 'created' | 'exists' = 'exists';
      // The file goes into place first (a rename), its row with the version in one transaction: if that
      // fails (a full disk, SQLITE_FULL), a file this push placed and no row names is removed again.
      const placed = this.store.blobs.place(temp, sha256, size);
      try {
        this.store.db.transaction(() => {
          this.store.blobs.record(sha256, size, opts.at);
          outcome = this.store.models.insert({ ...v, bundleSha256: sha256, bundleSize: size, pushedBy: opts.pushedBy, at: opts.at, backends });
          opts.record?.({ ...v, bundleSha256: sha256, bundleSize: size, outcome });
        })();
      } catch (err) {
        if (placed && !this.store.blobs.recorded(sha256)) this.store.blobs.removeFile(sha256);
        throw err;
      }
      return { ...v, bundleSha256: sha256, bundleSize: size, outcome, backends };
    } finally {
      rmSync(temp, { force: true });
    }
  }
}
