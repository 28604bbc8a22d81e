// Sealed models on the hub (docs/decisions/0029-sealed-models.md): the content key of each encrypted
// version (given by whoever packed it; wrapped at rest by the keystore), each device's X25519 public
// key (from its enroll request, or from the state it reports over its own authenticated connection),
// and the content key sealed to one device for its desired document. A revoked device, a device
// without a key or a version without a stored content key gets no sealed key.
import { AppError, boxKeyId, contentKeyId, decodeBoxPublicKey, sealContentKey, type DevicePublicKey, type Manifest, type SealedKey } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Keystore } from './keystore.js';
import { SealingRepo } from './repo.js';

export type DeviceKeyOutcome = 'unchanged' | 'set' | 'changed';

export class Sealing {
  readonly repo: SealingRepo;

  constructor(private readonly store: Store, private readonly keystore: Keystore) {
    this.repo = new SealingRepo(store.db);
  }

  /**
   * Records a device's public key; INVALID_INPUT when it is malformed or its keyId is wrong. 'changed'
   * when it replaces another (the caller audits it: a box whose data dir was rebuilt, or a stolen secret).
   */
  setDeviceKey(deviceId: string, key: DevicePublicKey, source: 'enroll' | 'state', at: Date): DeviceKeyOutcome {
    const pub = decodeBoxPublicKey(key.public, `device key of ${deviceId}`);
    const keyId = boxKeyId(pub);
    if (keyId !== key.keyId) throw new AppError('INVALID_INPUT', `device key of ${deviceId}: keyId ${key.keyId} does not match the key (expected ${keyId})`);
    const cur = this.repo.deviceKey(deviceId);
    if (cur?.keyId === keyId) return 'unchanged';
    this.repo.setDeviceKey(deviceId, keyId, key.public, source, at);
    return cur ? 'changed' : 'set';
  }

  deviceKeyId(deviceId: string): string | undefined {
    return this.repo.deviceKey(deviceId)?.keyId;
  }

  /** Stores the content key of an encrypted version after checking it is the one its manifest names. */
  putContentKey(manifest: Manifest, key: Uint8Array, by: string, at: Date): { keyId: string; outcome: 'created' | 'exists' } {
    const what = `${manifest.name}@${manifest.version}`;
    if (!manifest.encryption) throw new AppError('CONFLICT', `${what} is not encrypted: it needs no content key`);
    const keyId = contentKeyId(key);
    if (keyId !== manifest.encryption.keyId) {
      throw new AppError('INVALID_INPUT', `the content key given is ${keyId.slice(0, 12)}…; ${what} is encrypted with ${manifest.encryption.keyId.slice(0, 12)}… (a key file of another version?)`);
    }
    return { keyId, outcome: this.repo.putContentKey(keyId, manifest.name, manifest.version, this.keystore.wrap(key, keyId), by, at) };
  }

  hasContentKey(manifest: Manifest): boolean {
    return !manifest.encryption || this.repo.contentKey(manifest.encryption.keyId) !== undefined;
  }

  /** The version's content key sealed to this device, or undefined (not encrypted, revoked, no device key, no content key). */
  sealedFor(deviceId: string, manifest: Manifest): SealedKey | undefined {
    const enc = manifest.encryption;
    if (!enc) return undefined;
    const dev = this.repo.deviceKey(deviceId);
    if (!dev || this.store.devices.get(deviceId).revoked) return undefined;
    const cached = this.repo.sealed(deviceId, enc.keyId, dev.keyId);
    if (cached) return cached;
    const stored = this.repo.contentKey(enc.keyId);
    if (!stored) return undefined;
    const key = this.keystore.unwrap(stored.wrapped, enc.keyId);
    try {
      const sealed = sealContentKey(key, decodeBoxPublicKey(dev.publicKey, `device key of ${deviceId}`));
      this.repo.putSealed(deviceId, enc.keyId, dev.keyId, sealed);
      return sealed;
    } finally {
      key.fill(0);
    }
  }
}
