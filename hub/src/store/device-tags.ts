// The devices' tags as rows (device_tags, hub.db migration 97): what GET /devices?tag=KEY=VALUE looks up
// by index instead of scanning every device's tags JSON (docs/decisions/0089-fleet-view-filtered-by-the-hub.md,
// measured there: 50,000 devices). The JSON column stays what every reader uses; DevicesRepo writes both in one
// statement group (create, setTags). Values are kept with ASCII letters in lower case, as the filter compares
// them (any case of ASCII letters, the same on SQLite and PostgreSQL: SQLite's LOWER touches ASCII only).
import { asciiLower, type Tags } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const TABLE = `
    CREATE TABLE device_tags (
      device_id TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (key, value, device_id)
    );
    CREATE INDEX device_tags_by_device ON device_tags(device_id);`;

export const DEVICE_TAGS_MIGRATION: Migration = {
  version: 97,
  name: 'device tags indexed for the tag filter',
  sql: `${TABLE}
    INSERT INTO device_tags (device_id, key, value) SELECT d.id, j.key, LOWER(j.value) FROM devices d, json_each(d.tags) j;`,
  // json_each is SQLite's: PostgreSQL reads the same text as jsonb; translate() lowers ASCII letters only, as SQLite's LOWER.
  postgres: `${TABLE}
    INSERT INTO device_tags (device_id, key, value) SELECT d.id, j.key, translate(j.value, '${UPPER}', '${UPPER.toLowerCase()}') FROM devices d, jsonb_each_text(d.tags::jsonb) j;`,
};

/** `s` with its ASCII letters in lower case (others as they are), as device_tags holds values. */
export { asciiLower };

/** Replaces device `id`'s rows in device_tags with `tags` (inside the caller's transaction). */
export function writeDeviceTags(db: Db, id: string, tags: Tags): void {
  db.prepare('DELETE FROM device_tags WHERE device_id = ?').run(id);
  const ins = db.prepare('INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(tags)) ins.run(id, k, asciiLower(v));
}
