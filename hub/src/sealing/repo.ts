// hub.db tables of sealed models (migration 60): each device's X25519 public key, each encrypted
// version's content key (wrapped by the keystore) and, per device and content key, the sealed copy
// (sealing costs a scalar multiplication; desired documents are re-signed often, keys rarely change).
import type { SealedKey } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { Migration } from '../store/migrations.js';

export const SEALING_MIGRATION: Migration = {
  version: 60,
  name: 'sealed models: device keys, content keys, sealed copies',
  sql: `CREATE TABLE device_keys (
  device_id TEXT PRIMARY KEY REFERENCES devices(id),
  key_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  source TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE TABLE content_keys (
  key_id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  wrapped TEXT NOT NULL,
  added TEXT NOT NULL,
  added_by TEXT NOT NULL
);
CREATE UNIQUE INDEX content_keys_version ON content_keys (model, version);
CREATE TABLE sealed_keys (
  device_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  device_key_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  PRIMARY KEY (device_id, key_id)
);`,
};

export interface DeviceKeyRow { deviceId: string; keyId: string; publicKey: string; source: string; updated: string }

export class SealingRepo {
  constructor(private readonly db: Db) {}

  deviceKey(deviceId: string): DeviceKeyRow | undefined {
    const r = this.db.prepare('SELECT device_id, key_id, public_key, source, updated FROM device_keys WHERE device_id = ?').get(deviceId) as
      { device_id: string; key_id: string; public_key: string; source: string; updated: string } | undefined;
    return r ? { deviceId: r.device_id, keyId: r.key_id, publicKey: r.public_key, source: r.source, updated: r.updated } : undefined;
  }

  setDeviceKey(deviceId: string, keyId: string, publicKey: string, source: string, at: Date): void {
    this.db.prepare('INSERT INTO device_keys (device_id, key_id, public_key, source, updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET key_id = excluded.key_id, public_key = excluded.public_key, source = excluded.source, updated = excluded.updated')
      .run(deviceId, keyId, publicKey, source, at.toISOString());
    // Copies sealed to the old key are useless now.
    this.db.prepare('DELETE FROM sealed_keys WHERE device_id = ? AND device_key_id != ?').run(deviceId, keyId);
  }

  contentKey(keyId: string): { model: string; version: string; wrapped: string } | undefined {
    return this.db.prepare('SELECT model, version, wrapped FROM content_keys WHERE key_id = ?').get(keyId) as { model: string; version: string; wrapped: string } | undefined;
  }

  /** 'created', or 'exists' when this key is already stored for this version. */
  putContentKey(keyId: string, model: string, version: string, wrapped: string, by: string, at: Date): 'created' | 'exists' {
    if (this.contentKey(keyId)) return 'exists';
    this.db.prepare('INSERT INTO content_keys (key_id, model, version, wrapped, added, added_by) VALUES (?, ?, ?, ?, ?, ?)').run(keyId, model, version, wrapped, at.toISOString(), by);
    return 'created';
  }

  /** Replaces a stored content key's wrapped copy (the same key, under this hub's key file). */
  rewrapContentKey(keyId: string, wrapped: string, by: string, at: Date): void {
    this.db.prepare('UPDATE content_keys SET wrapped = ?, added = ?, added_by = ? WHERE key_id = ?').run(wrapped, at.toISOString(), by, keyId);
  }

  sealed(deviceId: string, keyId: string, deviceKeyId: string): SealedKey | undefined {
    const r = this.db.prepare('SELECT sealed FROM sealed_keys WHERE device_id = ? AND key_id = ? AND device_key_id = ?').get(deviceId, keyId, deviceKeyId) as { sealed: string } | undefined;
    return r ? (JSON.parse(r.sealed) as SealedKey) : undefined;
  }

  putSealed(deviceId: string, keyId: string, deviceKeyId: string, sealed: SealedKey): void {
    this.db.prepare('INSERT INTO sealed_keys (device_id, key_id, device_key_id, sealed) VALUES (?, ?, ?, ?) ON CONFLICT(device_id, key_id) DO UPDATE SET device_key_id = excluded.device_key_id, sealed = excluded.sealed')
      .run(deviceId, keyId, deviceKeyId, JSON.stringify(sealed));
  }

  /** A revoked device's sealed copies go (it gets no key again; what it already holds cannot be taken back): called in the revoke's transaction (api/routes-devices.ts). */
  forgetDevice(deviceId: string): void {
    this.db.prepare('DELETE FROM sealed_keys WHERE device_id = ?').run(deviceId);
  }
}
