// A devices row as stored and as GET /devices answers it (DeviceInfo): its tags and facts parsed, the
// versions it runs (device_models), its last reported state summed up (device-reports.ts), its clock
// offset and whether its box enrolled again under a new id (device-replacements.ts). Read by devices-repo.ts.
import type { DeviceFacts, DeviceInfo, Tags } from '@edgefleet/shared';
import type { Db } from './db.js';
import { reportedSummary, withPreflight } from './device-reports.js';
import { replacementOf } from './device-replacements.js';

/** A row of the devices table. */
export interface DeviceRow {
  id: string;
  secret_hash: string;
  tags: string;
  facts: string | null;
  revoked_at: string | null;
  created_at: string;
  last_seen: string | null;
  online: number;
  reported: string | null;
  /** Hub.db migration 4 (hub/src/ingest/clock-offset.ts); absent in a store opened without it. */
  clock_offset_ms?: number | null;
  clock_offset_at?: string | null;
  clock_shifted_windows?: number;
}

/**
 * A page's rows as DeviceInfo, their versions read in one statement (a statement a device cost a page of 200
 * ~200 round trips on PostgreSQL). At most DEVICE_PAGE.maxLimit rows: within both databases' parameter limits.
 */
export function deviceInfos(db: Db, rows: DeviceRow[]): DeviceInfo[] {
  if (rows.length === 0) return [];
  const ids = rows.map(() => '?').join(', ');
  const all = db.prepare(`SELECT device_id, name, version, status FROM device_models WHERE device_id IN (${ids}) ORDER BY device_id, name, version`)
    .all(...rows.map((r) => r.id)) as Array<DeviceInfo['models'][number] & { device_id: string }>;
  const replaced = new Map((db.prepare(`SELECT device_id, by_device, at FROM device_replacements WHERE device_id IN (${ids})`)
    .all(...rows.map((r) => r.id)) as Array<{ device_id: string; by_device: string; at: string }>).map((x) => [x.device_id, { by: x.by_device, at: x.at }]));
  const by = new Map<string, DeviceInfo['models']>();
  for (const { device_id: id, ...m } of all) {
    const list = by.get(id);
    if (list) list.push(m);
    else by.set(id, [m]);
  }
  return rows.map((r) => deviceInfo(db, r, { models: by.get(r.id) ?? [], replaced: replaced.get(r.id) ?? null }));
}

/** One row as DeviceInfo; `known`: its versions and replacement, read already (deviceInfos). */
export function deviceInfo(db: Db, r: DeviceRow, known?: { models: DeviceInfo['models']; replaced: DeviceInfo['replaced'] }): DeviceInfo {
  const models = known?.models ?? db
    .prepare('SELECT name, version, status FROM device_models WHERE device_id = ? ORDER BY name, version')
    .all(r.id) as DeviceInfo['models'];
  // Its box enrolled again under a new id (device-replacements.ts, docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md).
  const replaced = known ? known.replaced : replacementOf(db, r.id);
  return {
    id: r.id,
    tags: JSON.parse(r.tags) as Tags,
    facts: r.facts ? (JSON.parse(r.facts) as DeviceFacts) : null,
    revoked: r.revoked_at !== null,
    revokedAt: r.revoked_at,
    online: r.online === 1,
    lastSeen: r.last_seen,
    created: r.created_at,
    models: withPreflight(models, r.reported),
    reported: reportedSummary(r.reported),
    clock: r.clock_offset_ms != null && r.clock_offset_at ? { offsetMs: r.clock_offset_ms, measuredAt: r.clock_offset_at, shiftedWindows: r.clock_shifted_windows ?? 0 } : null,
    replaced,
  };
}
