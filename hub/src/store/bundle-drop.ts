// Dropping an old version's bundle while its history stays (docs/hub.md "Dropping old bundles",
// docs/decisions/0138-bundle-drop-keeps-history.md): the model_versions row, windows, rollups, drift reports and audit
// entries keep naming it; only the bundle file goes (after the commit). A version that a
// device runs or is told to run, that a rollout or shadow moves to or from, or that is the rollback target
// of an assignment, is refused (BUNDLE_IN_USE). Pushing the same bundle again makes it whole
// (ModelsRepo.insert clears the mark).
import { AppError, notFound } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';
import type { DeploymentsRepo } from './deployments-repo.js';

/** hub.db migration 104: when and by whom a version's bundle was dropped (null: it is whole). */
export const BUNDLE_DROP_MIGRATION: Migration = {
  version: 104,
  name: 'model versions: bundle dropped, history kept',
  sql: 'ALTER TABLE model_versions ADD COLUMN bundle_dropped_at TEXT; ALTER TABLE model_versions ADD COLUMN bundle_dropped_by TEXT;',
};

/** How many holders of each kind a refusal names (the rest are counted). */
const NAMED = 5;

/** What holds a version: a query listing its holders (first column) and how to say so. */
const HOLDERS: ReadonlyArray<{ sql: string; args: (n: string, v: string) => unknown[]; say: (ids: string) => string }> = [
  { sql: 'SELECT device_id FROM device_models WHERE name = ? AND version = ? ORDER BY device_id', args: (n, v) => [n, v], say: (ids) => `devices ${ids} report having it` },
  { sql: 'SELECT device_id FROM device_shadows WHERE model = ? AND version = ? ORDER BY device_id', args: (n, v) => [n, v], say: (ids) => `devices ${ids} run it in shadow` },
  {
    sql: "SELECT id FROM rollouts WHERE model = ? AND (version = ? OR from_version = ?) AND state IN ('running', 'paused') ORDER BY id",
    args: (n, v) => [n, v, v], say: (ids) => `rollouts ${ids} move devices to or from it`,
  },
];

/**
 * Every reason the version's bundle must stay, in words (empty: it may go). Assignments count as the
 * device's newest deployment of the model (what it is told to run) and the one before it of another
 * version (its rollback target), as store/deployments-repo.ts effectiveFor builds them.
 */
export function bundleHolders(db: Db, deployments: Pick<DeploymentsRepo, 'deviceAssignedBy'>, name: string, version: string): string[] {
  const out: string[] = [];
  const named = (ids: readonly unknown[]): string => `${ids.slice(0, NAMED).map(String).join(', ')}${ids.length > NAMED ? ` and ${ids.length - NAMED} more` : ''}`;
  for (const h of HOLDERS) {
    const ids = db.prepare(h.sql).pluck(true).all(...h.args(name, version)) as unknown[];
    if (ids.length) out.push(h.say(named(ids)));
  }
  const assigned: string[] = [];
  for (const id of db.prepare('SELECT id FROM deployments WHERE model = ? AND version = ? ORDER BY id').pluck(true).all(name, version) as number[]) {
    const device = deployments.deviceAssignedBy(Number(id), name, version);
    if (device) assigned.push(`#${id} (device ${device})`);
  }
  if (assigned.length) out.push(`deployments ${named(assigned)} assign it, or keep it as the version to roll back to`);
  return out;
}

/**
 * Marks the version's bundle dropped (call in the transaction that audits it): NOT_FOUND for an unknown version, BUNDLE_DROPPED when
 * dropped already, BUNDLE_IN_USE naming what holds it. Returns the blob whose file to remove after the
 * commit (null: another whole version is the same file) and the bytes that frees.
 */
export function dropBundle(db: Db, deployments: Pick<DeploymentsRepo, 'deviceAssignedBy'>, name: string, version: string, by: string, at: Date): { orphanBlob: string | null; freedBytes: number } {
  const row = db.prepare('SELECT bundle_sha256, bundle_size, bundle_dropped_at, bundle_dropped_by FROM model_versions WHERE name = ? AND version = ?').get(name, version) as
    { bundle_sha256: string; bundle_size: number; bundle_dropped_at: string | null; bundle_dropped_by: string | null } | undefined;
  if (!row) throw notFound('model_version', `${name}@${version}`, `no model version ${name} ${version}`);
  if (row.bundle_dropped_at) throw new AppError('BUNDLE_DROPPED', `the bundle of ${name} ${version} was dropped already, at ${row.bundle_dropped_at} by ${row.bundle_dropped_by ?? '?'}`);
  const holders = bundleHolders(db, deployments, name, version);
  if (holders.length) {
    throw new AppError('BUNDLE_IN_USE', `the bundle of ${name} ${version} cannot be dropped: ${holders.join('; ')}. Drop it once nothing runs, is told to run or may roll back to it`);
  }
  db.prepare('UPDATE model_versions SET bundle_dropped_at = ?, bundle_dropped_by = ? WHERE name = ? AND version = ?').run(at.toISOString(), by, name, version);
  if (bundleWanted(db, row.bundle_sha256)) return { orphanBlob: null, freedBytes: 0 };
  return { orphanBlob: row.bundle_sha256, freedBytes: Number(row.bundle_size) };
}

/**
 * Whether a whole version is this blob. Its blobs row stays when the last one is dropped (model_versions
 * names it; a repush records it again): the file is what goes. Checked again after the drop's commit,
 * before the file is removed, as another hub sharing the data dir may have pushed the same bytes since.
 */
export function bundleWanted(db: Db, sha256: string): boolean {
  return db.prepare('SELECT 1 FROM model_versions WHERE bundle_sha256 = ? AND bundle_dropped_at IS NULL LIMIT 1').get(sha256) !== undefined;
}

/** The blobs whose files a backup copies: those a whole version is, and rows no version names (server/backup.ts). */
export const KEPT_BLOBS_SQL = `SELECT sha256, size FROM blobs b
  WHERE NOT EXISTS (SELECT 1 FROM model_versions m WHERE m.bundle_sha256 = b.sha256)
     OR EXISTS (SELECT 1 FROM model_versions m WHERE m.bundle_sha256 = b.sha256 AND m.bundle_dropped_at IS NULL) ORDER BY sha256`;
