// Deleting a model version from the registry (docs/hub.md "REST API"): only a version nothing
// refers to — never deployed or rolled out, not reported by any device, no window, event, rollup,
// capture, drift report or live alert rule of it — so no history loses the model it speaks of. That is
// the version pushed by mistake (wrong features, wrong file), which could otherwise never be pushed again
// under its number. Anything used is deprecated instead (kept, not assignable). Its content key goes with
// it, and its bundle file when no other version is the same bundle.
import { AppError, notFound } from '@edgefleet/shared';
import type { Db } from './db.js';

/** What refers to a version: a query returning one row (its first column names it) and how to say so. */
const REFERENCES: ReadonlyArray<{ sql: string; args: (n: string, v: string) => unknown[]; say: (x: unknown) => string }> = [
  { sql: 'SELECT id FROM deployments WHERE model = ? AND version = ? ORDER BY id LIMIT 1', args: (n, v) => [n, v], say: (x) => `deployment #${String(x)} assigns it` },
  { sql: 'SELECT id FROM rollouts WHERE model = ? AND (version = ? OR from_version = ?) ORDER BY id LIMIT 1', args: (n, v) => [n, v, v], say: (x) => `rollout ${String(x)} moves devices to or from it` },
  { sql: 'SELECT device_id FROM device_versions_seen WHERE name = ? AND version = ? ORDER BY device_id LIMIT 1', args: (n, v) => [n, v], say: (x) => `device ${String(x)} reported having it` },
  { sql: 'SELECT device_id FROM device_shadows WHERE model = ? AND version = ? ORDER BY device_id LIMIT 1', args: (n, v) => [n, v], say: (x) => `device ${String(x)} runs it in shadow` },
  { sql: 'SELECT device_id FROM device_windows WHERE model = ? AND version = ? LIMIT 1', args: (n, v) => [n, v], say: (x) => `device ${String(x)} stored summary windows of it` },
  { sql: 'SELECT device_id FROM device_events WHERE model = ? AND version = ? LIMIT 1', args: (n, v) => [n, v], say: (x) => `device ${String(x)} stored events of it` },
  { sql: 'SELECT r.device_id FROM rollup_series s JOIN rollups r ON r.series = s.id WHERE s.model = ? AND s.version = ? LIMIT 1', args: (n, v) => [n, v], say: (x) => `rollups of device ${String(x)} are kept for it` },
  { sql: 'SELECT id FROM captures WHERE model = ? AND version = ? ORDER BY id LIMIT 1', args: (n, v) => [n, v], say: (x) => `capture #${String(x)} samples it` },
  { sql: 'SELECT id FROM drift_reports WHERE model = ? AND version = ? ORDER BY id LIMIT 1', args: (n, v) => [n, v], say: (x) => `drift report #${String(x)} judged it` },
];

/** The first thing that refers to the version, in words, or null when nothing does. */
export function versionReference(db: Db, name: string, version: string): string | null {
  for (const r of REFERENCES) {
    const row = db.prepare(r.sql).raw(true).get(...r.args(name, version)) as unknown[] | undefined;
    if (row) return r.say(row[0]);
  }
  for (const row of db.prepare('SELECT name, rule FROM alert_rules WHERE deleted_at IS NULL ORDER BY id').all() as Array<{ name: string; rule: string }>) {
    const rule = JSON.parse(row.rule) as { model?: string; version?: string };
    if (rule.model === name && rule.version === version) return `alert rule "${row.name}" watches it`;
  }
  return null;
}

/**
 * Deletes the version's rows (call in the transaction that audits it): CONFLICT naming what refers to
 * it, NOT_FOUND for an unknown version. Returns the bundle's hash when no other version uses that
 * blob any more (the caller removes the file after the commit), else null.
 */
export function deleteVersion(db: Db, name: string, version: string): { orphanBlob: string | null } {
  const row = db.prepare('SELECT bundle_sha256 FROM model_versions WHERE name = ? AND version = ?').get(name, version) as { bundle_sha256: string } | undefined;
  if (!row) throw notFound('model_version', `${name}@${version}`, `no model version ${name} ${version}`);
  const ref = versionReference(db, name, version);
  if (ref) throw new AppError('CONFLICT', `${name} ${version} cannot be deleted: ${ref}. Only a version nothing refers to can be deleted; deprecate it instead (kept, not assignable), or free its disk space while keeping its history: edgefleet model delete ${name} ${version} --keep-history --reason TEXT`);
  for (const k of db.prepare('SELECT key_id FROM content_keys WHERE model = ? AND version = ?').pluck(true).all(name, version) as string[]) {
    db.prepare('DELETE FROM sealed_keys WHERE key_id = ?').run(k);
    db.prepare('DELETE FROM content_keys WHERE key_id = ?').run(k);
  }
  db.prepare('DELETE FROM rollup_series WHERE model = ? AND version = ?').run(name, version);
  db.prepare('DELETE FROM model_versions WHERE name = ? AND version = ?').run(name, version);
  const shared = db.prepare('SELECT 1 FROM model_versions WHERE bundle_sha256 = ? LIMIT 1').get(row.bundle_sha256) !== undefined;
  if (shared) return { orphanBlob: null };
  db.prepare('DELETE FROM blobs WHERE sha256 = ?').run(row.bundle_sha256);
  return { orphanBlob: row.bundle_sha256 };
}
