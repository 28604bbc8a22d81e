// The model registry's push path: stream a bundle to a temp file under a size
// limit while hashing it, verify it against the hub's trust (signature
// threshold, file hashes, manifest schema) and only then store the blob and
// the version. Nothing is stored for a refused bundle.
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { AppError, assertAuthoredManifest, type Manifest, type Signature } from '@edgefleet/shared';
import type { Store } from './store/index.js';

export interface VerifiedBundle {
  manifest: Manifest;
  manifestSha256: string;
  signatures: Signature[];
}

/** Verifies a bundle file against the hub's current trust; throws AppError naming the failure. */
export type BundleVerifier = (path: string) => Promise<VerifiedBundle>;

export interface PushResult extends VerifiedBundle {
  bundleSha256: string;
  bundleSize: number;
  outcome: 'created' | 'exists';
}

/** Writes a byte stream to `path`, refusing more than `max` bytes; returns sha256 and size. */
export async function receiveToFile(body: AsyncIterable<Uint8Array>, path: string, max: number): Promise<{ sha256: string; size: number }> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  // Opened before the first chunk, so that an early refusal can close and remove it cleanly.
  await once(out, 'open');
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > max) throw new AppError('PAYLOAD_TOO_LARGE', `bundle is larger than the hub's limit of ${max} bytes (maxBundleBytes)`);
      hash.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    await once(out, 'close').catch(() => undefined);
    rmSync(path, { force: true });
    throw err;
  }
  if (size === 0) {
    rmSync(path, { force: true });
    throw new AppError('BAD_REQUEST', 'empty body: expected a bundle (.efb) as application/octet-stream');
  }
  return { sha256: hash.digest('hex'), size };
}

export class Registry {
  constructor(private readonly store: Store, private readonly verify: BundleVerifier) {}

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
      if (this.store.models.check(name, version, sha256) === 'new') assertAuthoredManifest(v.manifest, `${name} ${version}: manifest.json`);
      let outcome: 'created' | 'exists' = 'exists';
      this.store.blobs.adopt(temp, sha256, size, opts.at);
      this.store.db.transaction(() => {
        outcome = this.store.models.insert({ ...v, bundleSha256: sha256, bundleSize: size, pushedBy: opts.pushedBy, at: opts.at });
        opts.record?.({ ...v, bundleSha256: sha256, bundleSize: size, outcome });
      })();
      return { ...v, bundleSha256: sha256, bundleSize: size, outcome };
    } finally {
      rmSync(temp, { force: true });
    }
  }
}
