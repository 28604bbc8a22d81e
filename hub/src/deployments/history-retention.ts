// Deployment and rollout history retention (docs/decisions/0067-deployment-history-retention.md), opt-in
// with `retention.historyDays`: the retention run (rollups/retention.ts) deletes a deployment whole (its
// row, its device rows, and a finished rollout that owns it with its device rows) only when nothing can
// still read it: no device's assignment is built from it (DeploymentsRepo.deviceAssignedBy), none of its
// rows is `removing`, no device joining now could join it (an open tag or all target is kept unless a
// newer open, trusted deployment of the model reaches every device it could), no unfinished rollout or
// shadow stage refers to it, and nothing in it happened within historyDays. Each transaction checks all of
// that again and deletes at most DELETE_BATCH rows (as rollups/expiry.ts); the deployment row goes last, with its rollouts.
// A finished rollout that owns no deployment (configuration rollouts; ones aborted before a wave) goes
// once it is that old, likewise in bounded transactions. Audit entries stay, and each deleted deployment
// row's version is added to device_versions_seen, so the ingest guard accepts what it accepted before.
import type { DeployTarget } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import { DELETE_BATCH } from '../rollups/expiry.js';
import { SEEN_INSERT } from '../store/device-reports.js';
/** The least `retention.historyDays` the config takes: a week of history is always kept. */
export const MIN_HISTORY_DAYS = 7;
/** Rollout states after which a rollout does nothing more (shared RolloutState; any other keeps it). */
const FINISHED = ['completed', 'rolled_back', 'aborted'] as const;

interface Candidate { id: number; model: string; version: string; target: DeployTarget; open: boolean }

/**
 * What a pass deleted: whole deployments and whole rollouts (with a deployment or alone), and rows by kind
 * (`deployment`: deployments and deployment_devices; `rollout`: rollouts and rollout_devices).
 */
export interface HistoryDeleted { deployments: number; rollouts: number; deployment: number; rollout: number }

export interface HistoryRetentionDeps {
  store: Store;
  logger: LoggerPort;
  metrics?: MetricsPort | undefined;
  /** The open deployments a device joining now would skip (DeploymentService.untrustedTargets). */
  untrusted: () => Promise<ReadonlySet<number>>;
}

/** Whether every device `older` could match is also matched by `newer` (both tag or all targets). */
function covers(newer: DeployTarget, older: DeployTarget): boolean {
  if (newer.all) return true;
  if (!newer.tags || !older.tags) return false;
  return Object.entries(newer.tags).every(([k, v]) => older.tags?.[k] === v);
}

export class HistoryRetention {
  constructor(private readonly deps: HistoryRetentionDeps) {}

  /**
   * One pass over the deployments with no activity since `before`: the whole deployments deleted and
   * the rows by kind. `step` is awaited before each transaction; it stops the pass by returning false.
   */
  async run(before: Date, step: () => Promise<boolean> = async () => true): Promise<HistoryDeleted> {
    const untrusted = await this.deps.untrusted();
    const total: HistoryDeleted = { deployments: 0, rollouts: 0, deployment: 0, rollout: 0 };
    let after = 0;
    for (;;) {
      const batch = this.candidates(before, after);
      if (!batch.length) {
        await this.runAlone(before, step, total);
        return total;
      }
      for (const c of batch) {
        after = c.id;
        for (;;) {
          if (!(await step())) return total;
          const n = this.deleteSome(c, before, untrusted);
          if (!n || (!n.done && n.deployment + n.rollout === 0)) break;
          total.deployment += n.deployment;
          total.rollout += n.rollout;
          if (n.done) {
            total.deployments++;
            total.rollouts += n.rollouts;
            break;
          }
        }
      }
    }
  }

  /**
   * Finished rollouts that own no deployment (configuration rollouts; ones stopped before their first
   * wave), with no shadow candidates left and no change since `before`: their device rows, at most
   * DELETE_BATCH a transaction, then the rollout. Nothing reads them but the history lists.
   */
  private async runAlone(before: Date, step: () => Promise<boolean>, total: HistoryDeleted): Promise<void> {
    const { db } = this.deps.store;
    const marks = FINISHED.map(() => '?').join(', ');
    const next = db.prepare(`SELECT id FROM rollouts r WHERE r.deployment_id IS NULL AND r.state IN (${marks}) AND r.updated_at < ?
      AND NOT EXISTS (SELECT 1 FROM device_shadows s WHERE s.rollout_id = r.id) ORDER BY r.created_at, r.id LIMIT 1`).pluck();
    for (;;) {
      if (!(await step())) return;
      const n = db.transaction(() => {
        const id = next.get(...FINISHED, before.toISOString()) as string | undefined;
        if (id === undefined) return null;
        // One row of the bound is kept for the rollout's own.
        const rows = db.prepare('DELETE FROM rollout_devices WHERE rollout_id = ? AND device_id IN (SELECT device_id FROM rollout_devices WHERE rollout_id = ? LIMIT ?)')
          .run(id, id, DELETE_BATCH - 1).changes;
        if (db.prepare('SELECT 1 FROM rollout_devices WHERE rollout_id = ? LIMIT 1').get(id) !== undefined) return { rows, whole: 0 };
        const whole = db.prepare('DELETE FROM rollouts WHERE id = ?').run(id).changes;
        return { rows: rows + whole, whole };
      })();
      if (!n) return;
      total.rollout += n.rows;
      total.rollouts += n.whole;
      this.deps.metrics?.inc('edgefleet_history_deleted_total', { kind: 'rollout' }, n.rows);
    }
  }

  /** Deployments after id `after` created before `before`, oldest first (the checks are deleteSome's). */
  private candidates(before: Date, after: number): Candidate[] {
    const rows = this.deps.store.db.prepare('SELECT id, model, version, target, undeployed_at FROM deployments WHERE id > ? AND created_at < ? ORDER BY id LIMIT 100')
      .all(after, before.toISOString()) as Array<{ id: number; model: string; version: string; target: string; undeployed_at: string | null }>;
    return rows.map((r) => ({ id: Number(r.id), model: r.model, version: r.version, target: JSON.parse(r.target) as DeployTarget, open: r.undeployed_at === null }));
  }

  /** Why the deployment must stay, or null when it may go (read inside the deleting transaction). */
  private keep(c: Candidate, before: Date, untrusted: ReadonlySet<number>): string | null {
    const { db, deployments } = this.deps.store;
    const at = before.toISOString();
    const recent = db.prepare("SELECT status, updated_at FROM deployment_devices WHERE deployment_id = ? AND (status = 'removing' OR updated_at >= ?) LIMIT 1")
      .get(c.id, at) as { status: string } | undefined;
    if (recent) return recent.status === 'removing' ? 'a removal is still to be delivered' : 'a device row changed within historyDays';
    const marks = FINISHED.map(() => '?').join(', ');
    const rollout = db.prepare(
      `SELECT r.id FROM rollouts r WHERE r.deployment_id = ? AND (r.state NOT IN (${marks}) OR r.updated_at >= ?
         OR EXISTS (SELECT 1 FROM device_shadows s WHERE s.rollout_id = r.id)) LIMIT 1`,
    ).get(c.id, ...FINISHED, at) as { id: string } | undefined;
    if (rollout) return `rollout ${rollout.id} is unfinished, finished within historyDays or has shadow candidates`;
    if (c.open && (c.target.all || c.target.tags)) {
      const newer = deployments.openTargets().filter((d) => d.id > c.id && d.model === c.model && !untrusted.has(d.id));
      if (!newer.some((d) => covers(d.target, c.target))) return 'a device joining now could join it';
    }
    const device = deployments.deviceAssignedBy(c.id, c.model, c.version);
    return device === null ? null : `device ${device}'s assignment reads it`;
  }

  /** One transaction: checks the deployment, then deletes up to DELETE_BATCH of its rows; null when it stays. */
  private deleteSome(c: Candidate, before: Date, untrusted: ReadonlySet<number>): { deployment: number; rollout: number; rollouts: number; done: boolean } | null {
    const { db } = this.deps.store;
    const r = db.transaction(() => {
      if (this.keep(c, before, untrusted) !== null) return null;
      const rollouts = (db.prepare('SELECT id FROM rollouts WHERE deployment_id = ? ORDER BY id').all(c.id) as Array<{ id: string }>).map((x) => x.id);
      let rollout = 0;
      for (const id of rollouts) {
        rollout += db.prepare('DELETE FROM rollout_devices WHERE rollout_id = ? AND device_id IN (SELECT device_id FROM rollout_devices WHERE rollout_id = ? LIMIT ?)')
          .run(id, id, DELETE_BATCH - rollout).changes;
        if (rollout >= DELETE_BATCH) return { deployment: 0, rollout, rollouts: 0, done: false };
      }
      // Each row's version joins what its device may report (device_versions_seen, as a report of it
      // would): a box offline since it was told to run it may still send windows of it, and the ingest
      // guard must not refuse them once the row that allowed them is gone.
      const ids = db.prepare('SELECT device_id FROM deployment_devices WHERE deployment_id = ? ORDER BY device_id LIMIT ?').pluck().all(c.id, DELETE_BATCH - rollout) as string[];
      const seen = db.prepare(SEEN_INSERT);
      const drop = db.prepare('DELETE FROM deployment_devices WHERE deployment_id = ? AND device_id = ?');
      let deployment = 0;
      for (const id of ids) {
        seen.run(id, c.model, c.version, c.model, c.version);
        deployment += drop.run(c.id, id).changes;
      }
      // The last transaction also deletes the rollout rows and the deployment row: within the bound too.
      if (rollout + deployment + rollouts.length + 1 > DELETE_BATCH) return { deployment, rollout, rollouts: 0, done: false };
      let whole = 0;
      for (const id of rollouts) whole += db.prepare('DELETE FROM rollouts WHERE id = ?').run(id).changes;
      return { deployment: deployment + db.prepare('DELETE FROM deployments WHERE id = ?').run(c.id).changes, rollout: rollout + whole, rollouts: whole, done: true };
    })();
    if (r?.deployment) this.deps.metrics?.inc('edgefleet_history_deleted_total', { kind: 'deployment' }, r.deployment);
    if (r?.rollout) this.deps.metrics?.inc('edgefleet_history_deleted_total', { kind: 'rollout' }, r.rollout);
    return r;
  }
}
