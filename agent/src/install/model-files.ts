// A version's files as the runtime takes them: the entrypoint as a path in the blob store, or, for an
// encrypted bundle (docs/decisions/0029-sealed-models.md), decrypted into memory with the content key
// sealed to this box. The plaintext is never written anywhere: ORT creates the session from the buffer,
// which is then zeroed. Samples of an encrypted bundle are decrypted the same way.
import { readFile } from 'node:fs/promises';
import {
  AppError, decryptFile, openSealedKey, type BoxKeyPair, type FileEncryption, type LoadedSample, type SealedKey,
} from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import { loadWire } from '../wire.js';
import type { BlobStore } from '../store/blobs.js';
import type { ContentKeysRepo } from '../store/content-keys-repo.js';

export interface ModelFilesDeps {
  blobs: Pick<BlobStore, 'pathOf'>;
  contentKeys: Pick<ContentKeysRepo, 'get'>;
  /** This box's key pair (DATA/device-key.json). */
  deviceKey: () => BoxKeyPair;
}

type ManifestFile = Manifest['files'][number];

export class ModelFiles {
  constructor(private readonly d: ModelFilesDeps) {}

  /**
   * The content key of an encrypted manifest, opened from `sealed` or else the one stored for it.
   * CONTENT_KEY_MISSING when this box holds none (it is not entitled, or the key has not arrived).
   */
  contentKey(m: Manifest, sealed?: SealedKey): Uint8Array {
    const enc = m.encryption;
    if (!enc) throw new AppError('INTERNAL', `${m.name}@${m.version} is not encrypted`);
    const what = `${m.name}@${m.version}`;
    const s = sealed ?? this.d.contentKeys.get(enc.keyId);
    if (!s) {
      throw new AppError('CONTENT_KEY_MISSING', `${what} is encrypted (content key ${enc.keyId.slice(0, 12)}…) and this box holds no key for it: the hub seals one to entitled devices; for a USB install pass --key SEALED.json from "edgefleet model seal"`);
    }
    return openSealedKey(s, this.d.deviceKey(), enc.keyId, what);
  }

  /** This box's public device key (what `edgefleet model seal --to` takes). */
  deviceKeyPublic(): Uint8Array {
    return this.d.deviceKey().publicKey;
  }

  private entry(m: Manifest, path: string): ManifestFile {
    const f = m.files.find((x) => x.path === path);
    if (!f) throw new AppError('BUNDLE_INVALID', `${m.name}@${m.version}: "${path}" is not among the files`);
    return f;
  }

  private async plain(m: Manifest, f: ManifestFile, key: Uint8Array, verified = false): Promise<Buffer> {
    return decryptFile(key, this.d.blobs.pathOf(f.sha256), { sha256: f.sha256, size: f.size, verified }, f.encryption as FileEncryption, `${m.name}@${m.version}: ${f.path}`);
  }

  /**
   * What ORT loads: the blob path, or the decrypted model in memory (caller zeroes it after use).
   * `verified`: the caller re-hashed the blobs just now (else the ciphertext is hashed before decryption).
   */
  async model(m: Manifest, key?: Uint8Array, verified = false): Promise<string | Buffer> {
    const f = this.entry(m, m.entrypoint);
    if (!m.encryption) return this.d.blobs.pathOf(f.sha256);
    return this.plain(m, f, key ?? this.contentKey(m), verified);
  }

  /** The version's samples (docs/agent.md), decrypted in memory for an encrypted bundle. */
  async samples(m: Manifest, key?: Uint8Array): Promise<LoadedSample[]> {
    if (!m.samples?.length) return []; // the common case loads no schemas (agent/src/wire.ts)
    const { readSamples } = await loadWire();
    let k = key;
    return readSamples(m, async (p) => {
      const f = this.entry(m, p);
      if (!m.encryption) return readFile(this.d.blobs.pathOf(f.sha256));
      k ??= this.contentKey(m);
      return this.plain(m, f, k);
    });
  }
}
