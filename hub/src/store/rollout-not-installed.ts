// Every told device of a rollout's failed wave that did not install its version, kept on its rollout row
// (docs/rollouts.md "The rollout resource", docs/decisions/0137-every-device-not-installed-kept.md): written when
// the wave fails (judge.ts), read on each device's row (actions.ts view) and a page at a time by
// GET /rollouts/{id}/not-installed.
import { AppError, type NotInstalledDevice, type NotInstalledPage } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';

/**
 * hub.db migration 88: each told device's not installing the version of the wave that failed (status and reason,
 * JSON), kept on its row so that every such device is named, not only the wave record's first ones
 * (rollouts/not-installed.ts); one per device of the rollout, so a device cannot add more.
 */
export const ROLLOUT_NOT_INSTALLED_MIGRATION: Migration = {
  version: 88,
  name: 'devices of a failed wave that did not install',
  sql: 'ALTER TABLE rollout_devices ADD COLUMN not_installed TEXT;',
};

/**
 * Keeps which told devices did not install the version of the wave that failed now, every one (`[]` when a
 * wave passed): the rollout's earlier record is cleared first, so only the last failed wave's stands.
 */
export function keepNotInstalled(db: Db, rolloutId: string, rows: readonly NotInstalledDevice[]): void {
  db.transaction(() => {
    db.prepare('UPDATE rollout_devices SET not_installed = NULL WHERE rollout_id = ? AND not_installed IS NOT NULL').run(rolloutId);
    const st = db.prepare('UPDATE rollout_devices SET not_installed = ? WHERE rollout_id = ? AND device_id = ?');
    for (const d of rows) st.run(JSON.stringify(d), rolloutId, d.deviceId);
  })();
}

/** `after` names a device the rollout does not hold: the cursor is wrong, not the rollout. */
export function missing(rolloutId: string, after: string): never {
  throw new AppError('NOT_FOUND', `after: device ${after} is not in rollout ${rolloutId}: expected a device id from the previous page's next`);
}

/** At most `limit` of them by place, after the device `from` (its place and id); `next` for the following page. */
export function notInstalledPage(db: Db, rolloutId: string, from: { deviceId: string; place: number } | undefined, limit: number): NotInstalledPage {
  const rows = db.prepare(`SELECT rd.device_id, rd.place, rd.not_installed FROM rollout_devices rd JOIN devices d ON d.id = rd.device_id
     WHERE rd.rollout_id = ? AND rd.not_installed IS NOT NULL AND d.revoked_at IS NULL AND (rd.place > ? OR (rd.place = ? AND rd.device_id > ?))
     ORDER BY rd.place, rd.device_id LIMIT ?`).all(rolloutId, from?.place ?? -1, from?.place ?? -1, from?.deviceId ?? '', limit + 1) as Array<{ device_id: string; place: number; not_installed: string }>;
  const devices = rows.slice(0, limit).map((r) => ({ ...(JSON.parse(r.not_installed) as NotInstalledDevice), deviceId: r.device_id, place: Math.round(r.place * 1000) / 1000 }));
  return { devices, next: rows.length > limit ? (devices.at(-1)?.deviceId ?? null) : null };
}
