// Removals of models from devices (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md,
// docs/hub.md "Undeploy"): a device's row in a deployment goes `removing` (an undeploy, or a re-tag out
// of a tag target), its documents carry a `removed` entry for the model until a report at or above the
// seq of the first document that carried it shows the model removed or gone; the row is then `removed`.
import type { DesiredRemoval, DeploymentDeviceStatus } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { HubStatement } from './hub-db.js';
import type { Migration } from './migrations.js';
import { Statements } from './statements.js';

/**
 * hub.db migration 93: an undeployed deployment (when, by whom, why: it no longer takes devices in), and
 * on a device's `removing` row the seq of the first desired document that carried its removal; the
 * `removing` rows indexed apart, so building a document or handling a report finds them without a scan.
 */
export const UNDEPLOY_MIGRATION: Migration = {
  version: 93,
  name: 'undeployed deployments and removals in desired documents',
  sql: `ALTER TABLE deployments ADD COLUMN undeployed_at TEXT;
    ALTER TABLE deployments ADD COLUMN undeployed_by TEXT;
    ALTER TABLE deployments ADD COLUMN undeployed_reason TEXT;
    ALTER TABLE deployment_devices ADD COLUMN removal_seq INTEGER;
    CREATE INDEX deployment_devices_removing ON deployment_devices(device_id) WHERE status = 'removing';`,
};

/** The longest reason a removal entry carries (DesiredRemoval). */
export const REMOVAL_REASON_MAX = 500;

/** A device's row in a deployment of a model. */
export interface AssignmentRow {
  deploymentId: number;
  deviceId: string;
  model: string;
  status: DeploymentDeviceStatus;
}

/** A `removing` row of a device: its model, when and why, and the seq of the first document that carried it (null: none yet). */
export interface PendingRemoval extends DesiredRemoval {
  deploymentId: number;
  /** The deployment's version. */
  version: string;
  seq: number | null;
}

export class RemovalsRepo {
  private pending: HubStatement | undefined;
  private any: HubStatement | undefined;
  /** The per-device statements (an undeploy marks and carries each device's row; reports end them), prepared once. */
  private readonly stmts: Statements;

  constructor(private readonly db: Db) {
    this.stmts = new Statements(db);
  }

  private st(sql: string): HubStatement {
    return this.stmts.of(sql);
  }

  /**
   * The deployment's device rows, each with whether it is the device's effective assignment of the
   * model (no newer deployment of the model includes the device); only `deviceId`'s row when given.
   */
  rowsOf(deploymentId: number, deviceId?: string): Array<AssignmentRow & { effective: boolean }> {
    return (this.st(
      `SELECT dd.device_id, dd.status, d.model,
         (SELECT COUNT(*) FROM deployment_devices n JOIN deployments nd ON nd.id = n.deployment_id
          WHERE n.device_id = dd.device_id AND nd.model = d.model AND nd.id > d.id) AS newer
       FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id WHERE dd.deployment_id = ?${deviceId === undefined ? '' : ' AND dd.device_id = ?'} ORDER BY dd.device_id`,
    ).all(deploymentId, ...(deviceId === undefined ? [] : [deviceId])) as Array<{ device_id: string; status: DeploymentDeviceStatus; model: string; newer: number }>)
      .map((r) => ({ deploymentId, deviceId: r.device_id, model: r.model, status: r.status, effective: Number(r.newer) === 0 }));
  }

  /** Marks a device's row `status` (removing or removed) with why; a new removal has no document seq yet. */
  mark(deploymentId: number, deviceId: string, status: 'removing' | 'removed', reason: string, at: Date): void {
    this.st('UPDATE deployment_devices SET status = ?, progress = NULL, reason = ?, removal_seq = NULL, updated_at = ? WHERE deployment_id = ? AND device_id = ?')
      .run(status, reason.slice(0, REMOVAL_REASON_MAX), at.toISOString(), deploymentId, deviceId);
  }

  /** The box keeps its own install of the model (a `removal_kept_local` event): the row is `removed`, `reason` saying so. */
  keptLocal(deploymentId: number, deviceId: string, reason: string, at: Date): void {
    this.st("UPDATE deployment_devices SET status = 'removed', reason = ?, updated_at = ? WHERE deployment_id = ? AND device_id = ? AND status = 'removing'")
      .run(reason.slice(0, REMOVAL_REASON_MAX), at.toISOString(), deploymentId, deviceId);
  }

  /** Takes the device out of the deployment (a re-tag into another deployment of the model: undeploy.ts leaveTagTargets). */
  leave(deploymentId: number, deviceId: string): void {
    this.st('DELETE FROM deployment_devices WHERE deployment_id = ? AND device_id = ?').run(deploymentId, deviceId);
  }

  /** Records who undeployed a deployment and why: it takes no device in any more (openTargets). */
  undeploy(deploymentId: number, by: string, reason: string, at: Date): void {
    this.db.prepare('UPDATE deployments SET undeployed_at = ?, undeployed_by = ?, undeployed_reason = ? WHERE id = ?').run(at.toISOString(), by, reason, deploymentId);
  }

  /** Whether any device has a removal pending (most of the time none: documents are built without looking per device). */
  anyPending(): boolean {
    return (this.any ??= this.db.prepare("SELECT 1 FROM deployment_devices WHERE status = 'removing' LIMIT 1")).get() !== undefined;
  }

  /** The device's `removing` rows, newest deployment first for each model (one per model). */
  pendingFor(deviceId: string): PendingRemoval[] {
    // Prepared once: every state report and every document built reads it.
    const rows = (this.pending ??= this.db.prepare(
      `SELECT dd.deployment_id, d.model, d.version, dd.reason, dd.updated_at, dd.removal_seq FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id
       WHERE dd.device_id = ? AND dd.status = 'removing' ORDER BY d.id DESC`,
    )).all(deviceId) as Array<{ deployment_id: number; model: string; version: string; reason: string | null; updated_at: string; removal_seq: number | null }>;
    const out = new Map<string, PendingRemoval>();
    for (const r of rows) {
      if (!out.has(r.model)) {
        out.set(r.model, { deploymentId: Number(r.deployment_id), version: r.version, name: r.model, at: r.updated_at, reason: r.reason || 'removed by an operator', seq: r.removal_seq === null ? null : Number(r.removal_seq) });
      }
    }
    return [...out.values()];
  }

  /** The first document that carries a removal: its seq is the floor a report must reach to clear it. */
  carried(deploymentId: number, deviceId: string, seq: number): void {
    this.st("UPDATE deployment_devices SET removal_seq = ? WHERE deployment_id = ? AND device_id = ? AND status = 'removing' AND removal_seq IS NULL")
      .run(seq, deploymentId, deviceId);
  }

  /**
   * The device reported `model` removed (or no longer lists it) in a report that applied document `applied`:
   * its `removing` rows of the model carried in a document at or below that seq go `removed` (their reason
   * kept), and later documents omit the entry. A stale report (below the seq) changes nothing.
   */
  done(deviceId: string, model: string, applied: number, at: Date): number {
    return this.st(
      `UPDATE deployment_devices SET status = 'removed', updated_at = ?
       WHERE device_id = ? AND status = 'removing' AND removal_seq IS NOT NULL AND removal_seq <= ?
         AND deployment_id IN (SELECT id FROM deployments WHERE model = ?)`,
    ).run(at.toISOString(), deviceId, applied, model).changes;
  }
}
