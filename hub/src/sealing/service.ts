// Sealed models on the hub (docs/decisions/0029-sealed-models.md): the content key of each encrypted
// version (given by whoever packed it; wrapped at rest by the keystore), each device's X25519 public
// key (from its enroll request, or from the state it reports over its own authenticated connection),
// and the content key sealed to one device for its desired document. A revoked device, a device
// without a key or a version without a stored content key gets no sealed key.
import { AppError, boxKeyId, contentKeyId, decodeBoxPublicKey, sealContentKey, type DesiredDocument, type DevicePublicKey, type Manifest, type SealedKey } from '@edgefleet/shared';
import type { LoggerPort } from '../mqtt/ports.js';
import type { Store } from '../store/index.js';
import type { Keystore } from './keystore.js';
import { SealingRepo } from './repo.js';

export type DeviceKeyOutcome = 'unchanged' | 'set' | 'changed';

/** Versions whose encryption (or its absence) is remembered by manifest sha256; past it the memory starts over. */
const ENCRYPTION_CACHE_MAX = 1024;

export class Sealing {
  readonly repo: SealingRepo;
  /** manifestSha256 → the manifest's `encryption` (null: plain); a manifest never changes. */
  private readonly encryptionOf = new Map<string, Manifest['encryption'] | null>();

  /** Content keys already reported as not opening with this hub's key file (logged once each). */
  private readonly unopenable = new Set<string>();

  /** `logger`: where a stored content key that this hub's key file (DATA/content-keys.key or contentKeys) does not open is reported. */
  constructor(private readonly store: Store, private readonly keystore: Keystore, private readonly logger?: LoggerPort) {
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
    const wrapped = this.keystore.wrap(key, keyId);
    const stored = this.repo.contentKey(keyId);
    if (!stored) return { keyId, outcome: this.repo.putContentKey(keyId, manifest.name, manifest.version, wrapped, by, at) };
    if (this.open(keyId, stored)) return { keyId, outcome: 'exists' };
    // Stored under another key file (hub.db restored or moved without it, or a second hub on this database
    // with its own): wrapped again under this one, so pushing the key again repairs the version.
    this.repo.rewrapContentKey(keyId, wrapped, by, at);
    this.unopenable.delete(keyId);
    return { keyId, outcome: 'created' };
  }

  /** False for an encrypted version whose content key is not stored, or does not open with this hub's key file. */
  hasContentKey(manifest: Manifest): boolean {
    if (!manifest.encryption) return true;
    const stored = this.repo.contentKey(manifest.encryption.keyId);
    const key = stored && this.open(manifest.encryption.keyId, stored);
    key?.fill(0);
    return !!key;
  }

  /**
   * The stored content key, or undefined (logged once) when this hub's key file does not open it: the
   * documents then go out without it (a device keeps what it holds) instead of failing for every device
   * in the batch, and a deploy of the version is refused as CONTENT_KEY_MISSING until it is pushed again.
   */
  private open(keyId: string, stored: { model: string; version: string; wrapped: string }): Uint8Array | undefined {
    try {
      return this.keystore.unwrap(stored.wrapped, keyId);
    } catch (err) {
      if (!this.unopenable.has(keyId)) {
        this.unopenable.add(keyId);
        this.logger?.error({ model: stored.model, version: stored.version, keyId: keyId.slice(0, 12), err: (err as Error).message },
          `a stored content key does not open with this hub's content keys key file ${this.keystore.path}: devices get this version without its key until it is pushed again (edgefleet model push --content-key) or the key file it was stored under is put back; every hub on one database needs the same key file (contentKeys, --content-keys FILE)`);
      }
      return undefined;
    }
  }

  /** The version's content key sealed to this device, or undefined (not encrypted, revoked, no device key, no content key). */
  sealedFor(deviceId: string, manifest: Pick<Manifest, 'encryption'>): SealedKey | undefined {
    const enc = manifest.encryption;
    if (!enc) return undefined;
    const dev = this.repo.deviceKey(deviceId);
    if (!dev || this.store.devices.get(deviceId).revoked) return undefined;
    const cached = this.repo.sealed(deviceId, enc.keyId, dev.keyId);
    if (cached) return cached;
    const stored = this.repo.contentKey(enc.keyId);
    const key = stored && this.open(enc.keyId, stored);
    if (!key) return undefined;
    try {
      const sealed = sealContentKey(key, decodeBoxPublicKey(dev.publicKey, `device key of ${deviceId}`));
      this.repo.putSealed(deviceId, enc.keyId, dev.keyId, sealed);
      return sealed;
    } finally {
      key.fill(0);
    }
  }

  /**
   * Whether a device's stored document is behind on content keys: an entry (or its shadow) of an
   * encrypted version without the key this device can be given now, or with one sealed to a device key
   * it no longer has. Such a document is issued again (delivery.ts): a key change or a content key whose
   * document a stopped hub never issued, or a content key that came while the device ran it in shadow.
   */
  keysBehind(doc: DesiredDocument): boolean {
    const deviceId = doc.signed.deviceId;
    const current = this.repo.deviceKey(deviceId)?.keyId;
    if (!current) return false;
    const entries = doc.signed.models.flatMap((m) => [
      { name: m.name, version: m.version, manifestSha256: m.manifestSha256, to: m.contentKey?.to },
      ...(m.shadow ? [{ name: m.name, version: m.shadow.version, manifestSha256: m.shadow.manifestSha256, to: m.shadow.contentKey?.to }] : []),
    ]);
    return entries.some((e) => {
      if (e.to === current) return false;
      const encryption = this.encryption(e.name, e.version, e.manifestSha256);
      return !!encryption && this.sealedFor(deviceId, { encryption }) !== undefined;
    });
  }

  private encryption(name: string, version: string, manifestSha256: string): Manifest['encryption'] | null {
    let enc = this.encryptionOf.get(manifestSha256);
    if (enc === undefined) {
      const v = this.store.models.find(name, version);
      enc = v?.manifestSha256 === manifestSha256 ? v.manifest.encryption ?? null : null;
      if (this.encryptionOf.size >= ENCRYPTION_CACHE_MAX) this.encryptionOf.clear();
      this.encryptionOf.set(manifestSha256, enc);
    }
    return enc;
  }
}
