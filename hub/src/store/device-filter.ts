// GET /devices's filters as SQL that SQLite and PostgreSQL both run (docs/decisions/0089-fleet-view-filtered-by-the-hub.md,
// 0040 for the dialect). The tag filter reads device_tags (device-tags.ts); the search (`q`) looks its term up in each
// device's search text, its id, tags JSON and versions, by a trigram index (device-search.ts,
// docs/decisions/0099-device-search-index.md). Both compare text with its ASCII letters in lower case on both sides, so
// they find any case of ASCII letters and other letters as written, the same on both databases.
import { asciiLower } from './device-tags.js';
import { searchSql, type SearchSql } from './device-search.js';
import type { Dialect } from './hub-db.js';

/** What a device list is filtered by; each one given must hold. */
export interface DeviceFilter {
  /** A part of the id, of a tag's key or value (`key=val`: the key whole, the value's beginning) or of a version it runs (`name@version`). */
  q?: string | undefined;
  /** `key=value`: the device holds this tag (the value in any case). */
  tag?: string | undefined;
  status?: 'online' | 'offline' | 'revoked' | undefined;
  /** `name@version`: the device reports running this version. */
  version?: string | undefined;
  /** true: replaced by a new enrollment of its box (device-replacements.ts); false: not. */
  replaced?: boolean | undefined;
}

export interface FilterSql {
  /** Conditions on the `devices` table, joined with AND (none: every device). */
  where: string[];
  params: string[];
  /** The search, when `q` is given: its condition is the last of `where` (its `found` form unless asked `each`). */
  search?: SearchSql;
  /** How many devices match, by an index alone, with `params` (a tag alone: device_tags' primary key); else counted in devices. */
  count?: string;
}

export function deviceFilterSql(f: DeviceFilter, dialect: Dialect = 'sqlite', searchForm: 'found' | 'each' = 'found'): FilterSql {
  const where: string[] = [];
  const params: string[] = [];
  if (f.status === 'revoked') where.push('revoked_at IS NOT NULL');
  else if (f.status) where.push(`revoked_at IS NULL AND online = ${f.status === 'online' ? 1 : 0}`);
  if (f.tag !== undefined) {
    const eq = f.tag.indexOf('=');
    // Looked up in device_tags by its primary key (device-tags.ts), the value's ASCII letters in lower case on both sides.
    where.push('id IN (SELECT device_id FROM device_tags WHERE key = ? AND value = ?)');
    params.push(asciiLower(f.tag.slice(0, eq)), asciiLower(f.tag.slice(eq + 1)));
    // Every row of device_tags is a device's (devices are never deleted), so a tag alone is counted there.
    if (f.status === undefined && f.version === undefined && f.replaced === undefined && f.q === undefined) return { where, params, count: 'SELECT COUNT(*) AS n FROM device_tags WHERE key = ? AND value = ?' };
  }
  if (f.version !== undefined) {
    const at = f.version.lastIndexOf('@');
    where.push('EXISTS (SELECT 1 FROM device_models m WHERE m.device_id = devices.id AND m.name = ? AND m.version = ?)');
    params.push(f.version.slice(0, at), f.version.slice(at + 1));
  }
  if (f.replaced !== undefined) where.push(`${f.replaced ? '' : 'NOT '}EXISTS (SELECT 1 FROM device_replacements x WHERE x.device_id = devices.id)`);
  if (f.q !== undefined) {
    const search = searchSql(dialect, f.q);
    where.push(search[searchForm]);
    params.push(search.param);
    return { where, params, search };
  }
  return { where, params };
}
