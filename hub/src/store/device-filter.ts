// GET /devices's filters as SQL that SQLite and PostgreSQL both run (docs/decisions/0089-fleet-view-filtered-by-the-hub.md,
// 0040 for the dialect: no json_extract, so a search finds a tag in the tags column's JSON text, which the hub
// writes with JSON.stringify: `{"site":"north"}`; the tag filter reads device_tags, device-tags.ts). Text is compared in lower case on both sides, so a
// search finds any case of ASCII letters on both databases (SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
import { asciiLower } from './device-tags.js';

/** What a device list is filtered by; each one given must hold. */
export interface DeviceFilter {
  /** A part of the id, of a tag's key or value (`key=val`: the key whole, the value's beginning) or of a version it runs (`name@version`). */
  q?: string | undefined;
  /** `key=value`: the device holds this tag (the value in any case). */
  tag?: string | undefined;
  status?: 'online' | 'offline' | 'revoked' | undefined;
  /** `name@version`: the device reports running this version. */
  version?: string | undefined;
}

export interface FilterSql {
  /** Conditions on the `devices` table, joined with AND (none: every device). */
  where: string[];
  params: string[];
}

/** `s` as a LIKE pattern that matches it literally (with ESCAPE '\'). */
const literal = (s: string): string => s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
/** `s` as it is written inside a JSON string (a quote as \", a backslash doubled). */
const inJson = (s: string): string => JSON.stringify(s).slice(1, -1);
const LIKE = "LIKE ? ESCAPE '\\'";

export function deviceFilterSql(f: DeviceFilter): FilterSql {
  const where: string[] = [];
  const params: string[] = [];
  if (f.status === 'revoked') where.push('revoked_at IS NOT NULL');
  else if (f.status) where.push(`revoked_at IS NULL AND online = ${f.status === 'online' ? 1 : 0}`);
  if (f.tag !== undefined) {
    const eq = f.tag.indexOf('=');
    // Looked up in device_tags by its primary key (device-tags.ts), the value's ASCII letters in lower case on both sides.
    where.push('id IN (SELECT device_id FROM device_tags WHERE key = ? AND value = ?)');
    params.push(asciiLower(f.tag.slice(0, eq)), asciiLower(f.tag.slice(eq + 1)));
  }
  if (f.version !== undefined) {
    const at = f.version.lastIndexOf('@');
    where.push('EXISTS (SELECT 1 FROM device_models m WHERE m.device_id = devices.id AND m.name = ? AND m.version = ?)');
    params.push(f.version.slice(0, at), f.version.slice(at + 1));
  }
  if (f.q !== undefined) {
    const q = f.q.trim();
    const eq = q.indexOf('=');
    // key=val…: the key whole and the value starting with what follows "=", as the JSON text holds it.
    const tagText = eq > 0 ? `"${inJson(q.slice(0, eq))}":"${inJson(q.slice(eq + 1))}` : inJson(q);
    where.push(`(LOWER(id) ${LIKE} OR LOWER(tags) ${LIKE} OR EXISTS (SELECT 1 FROM device_models m WHERE m.device_id = devices.id AND LOWER(m.name || '@' || m.version) ${LIKE}))`);
    params.push(`%${literal(q)}%`, `%${literal(tagText)}%`, `%${literal(q)}%`);
  }
  return { where, params };
}
