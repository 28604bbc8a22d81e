// A box enrolled again as a new device id (edgefleet-agent enroll --force keeps its device key) replaces its
// old id (docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md): hub.db migration 101 keeps which id
// replaced which, written by the enrollment of the new id in its transaction. While the old id is offline
// it is out of every rollout (rollouts-repo.ts devices()): it will never report again, and its box is judged
// under the new id. Connected again (a cloned data dir, old credentials restored), it counts as any device.
import type { Db } from './db.js';
import type { Migration } from './migrations.js';

export const DEVICE_REPLACEMENTS_MIGRATION: Migration = {
  version: 101,
  name: 'devices replaced by a new enrollment of their box',
  sql: `CREATE TABLE device_replacements (
  device_id TEXT PRIMARY KEY REFERENCES devices(id),
  by_device TEXT NOT NULL,
  key_id TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX device_keys_by_key ON device_keys(key_id);`,
};

/** SQL true for a row `alias` of devices that is replaced and offline (rollouts leave it out). */
export const replacedAndOffline = (alias: string): string =>
  `(${alias}.online = 0 AND EXISTS (SELECT 1 FROM device_replacements x WHERE x.device_id = ${alias}.id))`;

export interface Replacement { deviceId: string; by: string; keyId: string; at: string }

/** Which device replaced `deviceId` and when (GET /devices/{id} `replaced`), or null. */
export function replacementOf(db: Db, deviceId: string): { by: string; at: string } | null {
  const r = db.prepare('SELECT by_device, at FROM device_replacements WHERE device_id = ?').get(deviceId) as { by_device: string; at: string } | undefined;
  return r ? { by: r.by_device, at: r.at } : null;
}

/** Devices not revoked that are replaced and offline, out of every rollout (rollouts-repo.ts devices()); the planning of one leaves them out too. */
export function replacedOfflineIds(db: Db): Set<string> {
  return new Set((db.prepare('SELECT d.id FROM device_replacements x JOIN devices d ON d.id = x.device_id WHERE d.revoked_at IS NULL AND d.online = 0')
    .all() as Array<{ id: string }>).map((r) => r.id));
}

/**
 * Marks every other device not revoked that holds device key `keyId` as replaced by `by` (just enrolled with
 * it); returns them. Call it in the enrollment's transaction, after `by`'s key is stored.
 */
export function markReplaced(db: Db, by: string, keyId: string, at: Date): Replacement[] {
  const olds = (db.prepare(`SELECT k.device_id FROM device_keys k JOIN devices d ON d.id = k.device_id
    WHERE k.key_id = ? AND k.device_id != ? AND d.revoked_at IS NULL ORDER BY k.device_id`).all(keyId, by) as Array<{ device_id: string }>).map((r) => r.device_id);
  const st = db.prepare(`INSERT INTO device_replacements (device_id, by_device, key_id, at) VALUES (?, ?, ?, ?)
    ON CONFLICT(device_id) DO UPDATE SET by_device = excluded.by_device, key_id = excluded.key_id, at = excluded.at`);
  for (const id of olds) st.run(id, by, keyId, at.toISOString());
  return olds.map((deviceId) => ({ deviceId, by, keyId, at: at.toISOString() }));
}

const IN_ROLLOUT = `FROM rollout_devices rd JOIN devices d ON d.id = rd.device_id JOIN device_replacements x ON x.device_id = d.id
    WHERE rd.rollout_id = ? AND d.revoked_at IS NULL AND d.online = 0`;

/** The devices of rollout `rolloutId` replaced and offline (left out of it): the first `limit` by id, and how many. */
export function replacedInRollout(db: Db, rolloutId: string, limit: number): { first: Replacement[]; count: number } {
  const from = IN_ROLLOUT;
  const first = (db.prepare(`SELECT x.device_id, x.by_device, x.key_id, x.at ${from} ORDER BY x.device_id LIMIT ?`)
    .all(rolloutId, limit) as Array<{ device_id: string; by_device: string; key_id: string; at: string }>)
    .map((r) => ({ deviceId: r.device_id, by: r.by_device, keyId: r.key_id, at: r.at }));
  const count = first.length < limit ? first.length : Number((db.prepare(`SELECT COUNT(*) AS n ${from}`).get(rolloutId) as { n: number | string }).n);
  return { first, count };
}

/** Those devices' rows in the rollout (listed as left out by GET /rollouts/{id}), the first `limit` by place, each with the id that replaced it. */
export function replacedRowsInRollout(db: Db, rolloutId: string, limit: number): Array<{ deviceId: string; place: number; previous: string | null; notifiedAt: string | null; by: string }> {
  return (db.prepare(`SELECT rd.device_id, rd.place, rd.previous, rd.notified_at, x.by_device ${IN_ROLLOUT} ORDER BY rd.place, rd.device_id LIMIT ?`)
    .all(rolloutId, limit) as Array<{ device_id: string; place: number; previous: string | null; notified_at: string | null; by_device: string }>)
    .map((r) => ({ deviceId: r.device_id, place: r.place, previous: r.previous, notifiedAt: r.notified_at, by: r.by_device }));
}
