// Deployments and their per-device status. A device's effective version of a model is the one of the
// newest deployment that includes the device; when that row is `removing` or `removed` (an undeploy or a
// re-tag out of a tag target, store/removals-repo.ts) the device has none: a removal is an assignment of nothing.
import { notFound, HISTORY_PAGE, type HistoryQuery, type StreamEventMap, type DeployTarget, type Deployment, type DeploymentDevice, type DeploymentDeviceStatus, type MaintenanceWindow } from '@edgefleet/shared';
import type { HubStatement as Statement } from './hub-db.js';
import type { Db } from './db.js';
import { pageOf } from './history-page.js';
import { InList } from './in-list.js';

interface DeploymentRow {
  id: number;
  model: string;
  version: string;
  target: string;
  reason: string;
  created_by: string;
  created_at: string;
  maintenance: string | null;
  backend_mismatch?: number;
  undeployed_at?: string | null;
  undeployed_by?: string | null;
  undeployed_reason?: string | null;
  /** The rollout whose deployment this is (WITH_ROLLOUT). */
  rollout_id?: string | null;
}

/** Selects a deployment's row with the id of the rollout that owns it (rollouts.deployment_id; rollouts are few). */
const WITH_ROLLOUT = 'SELECT d.*, (SELECT r.id FROM rollouts r WHERE r.deployment_id = d.id LIMIT 1) AS rollout_id FROM deployments d';
interface DeviceRow {
  deployment_id: number;
  device_id: string;
  status: DeploymentDeviceStatus;
  progress: number | null;
  reason: string | null;
  updated_at: string;
}

export interface EffectiveModel {
  deploymentId: number;
  model: string;
  version: string;
  previous: string | undefined;
  /** The deployment's maintenance window: the device switches only inside it. */
  window: MaintenanceWindow | undefined;
  /** The deployment was created with allowBackendMismatch: never held back (deployments/backends.ts). */
  allowBackendMismatch: boolean;
  /** The device's row in that deployment (a hold of the hub, deployments/backends.ts, is `refused` with its reason). */
  status: DeploymentDeviceStatus;
  reason: string | null;
}

const EMPTY_COUNTS = (): Record<DeploymentDeviceStatus, number> => ({ pending: 0, downloading: 0, activating: 0, active: 0, failed: 0, refused: 0, rolled_back: 0, superseded: 0, deferred: 0, waiting_for_disk: 0, removing: 0, removed: 0 });

/**
 * The order `get(id, limit)` lists devices in (DeploymentViewQuery): those needing attention first, then
 * those under way, then the settled ones.
 */
const ATTENTION: readonly DeploymentDeviceStatus[] = ['failed', 'refused', 'rolled_back', 'waiting_for_disk', 'deferred', 'downloading', 'activating', 'pending', 'removing', 'active', 'superseded', 'removed'];
const ATTENTION_FIRST = `CASE status ${ATTENTION.map((st, i) => `WHEN '${st}' THEN ${i}`).join(' ')} ELSE ${ATTENTION.length} END`;

export type StatusChange = StreamEventMap['deployment.progress'];

/**
 * A device's progress as stored, streamed and returned: a number within 0..1 (the wire schemas'
 * range, shared/src/wire/deploy.ts), else null. The number is the device's word: -5, 1e308 or
 * Infinity (1e309 in JSON) is no progress.
 */
export function deploymentProgress(v: unknown): number | null {
  return typeof v === 'number' && v >= 0 && v <= 1 ? v : null; // NaN and ±Infinity fail the comparisons
}

export class DeploymentsRepo {
  private readonly statusListeners = new Set<(c: StatusChange) => void>();
  /** Changes made inside holdStatus(), told once it returns. */
  private held: StatusChange[] | null = null;
  private statusStmts: { get: Statement; set: Statement } | null = null;
  // Read for every desired document the hub signs (hub/src/deployments/desired.ts), prepared once.
  private effectiveStmt: Statement | null = null;
  private effectiveMany: InList | null = null;
  private addStmts: { ins: InList; back: InList; sup: InList } | null = null;
  constructor(private readonly db: Db) {}

  /** `id`: only for a row rolled back (deployments/signed-ahead.ts), so PostgreSQL's identity is not advanced by it. */
  create(d: { model: string; version: string; target: DeployTarget; reason: string; createdBy: string; at: Date; window?: MaintenanceWindow | undefined; allowBackendMismatch?: boolean | undefined; id?: number }): number {
    const [col, arg, ids] = d.id === undefined ? ['', '', []] : ['id, ', '?, ', [d.id]];
    const r = this.db
      .prepare(`INSERT INTO deployments (${col}model, version, target, reason, created_by, created_at, maintenance, backend_mismatch) VALUES (${arg}?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(...ids, d.model, d.version, JSON.stringify(d.target), d.reason, d.createdBy, d.at.toISOString(), d.window ? JSON.stringify(d.window) : null, d.allowBackendMismatch ? 1 : 0);
    return d.id ?? Number(r.lastInsertRowid);
  }

  /**
   * Adds devices to a deployment (pending; a device removed from it before, by a re-tag, is pending again)
   * and marks older deployments of the same model on them superseded.
   */
  addDevices(deploymentId: number, model: string, deviceIds: string[], at: Date): void {
    // Set-based, a chunk of ids a statement (a deployment to the whole fleet: docs/decisions/0188-deployment-commit-set-based.md).
    // Each statement touches only the rows of its devices, so running each over all of them is the loop it replaced.
    const s = (this.addStmts ??= {
      ins: new InList(this.db, (n) => `INSERT OR IGNORE INTO deployment_devices (deployment_id, device_id, status, updated_at) VALUES ${InList.marks(n, "(?, ?, 'pending', ?)")}`),
      back: new InList(this.db, (n) => `UPDATE deployment_devices SET status = 'pending', progress = NULL, reason = NULL, removal_seq = NULL, updated_at = ?
         WHERE deployment_id = ? AND status IN ('removing', 'removed') AND device_id IN (${InList.marks(n)})`),
      sup: new InList(this.db, (n) => `UPDATE deployment_devices SET status = 'superseded', updated_at = ?
         WHERE deployment_id < ? AND status NOT IN ('superseded', 'removed') AND deployment_id IN (SELECT id FROM deployments WHERE model = ?)
           AND device_id IN (${InList.marks(n)})`),
    });
    const when = at.toISOString();
    this.db.transaction(() => {
      for (const [st, ids] of s.ins.chunks(deviceIds)) st.run(...ids.flatMap((id) => [deploymentId, id, when]));
      for (const [st, ids] of s.back.chunks(deviceIds)) st.run(when, deploymentId, ...ids);
      for (const [st, ids] of s.sup.chunks(deviceIds)) st.run(when, deploymentId, model, ...ids);
    })();
  }

  /**
   * A page of deployments, newest first: `limit` of them older than `before` (a deployment id), each with
   * its per-status device counts (counted in SQL, not read device by device), and `next` (GET /deployments).
   */
  list(q: HistoryQuery = { limit: HISTORY_PAGE.defaultLimit }): { deployments: Array<Omit<Deployment, 'devices'>>; next: number | null } {
    const rows = this.db.prepare(`${WITH_ROLLOUT}${q.before === undefined ? '' : ' WHERE d.id < ?'} ORDER BY d.id DESC LIMIT ?`)
      .all(...(q.before === undefined ? [] : [q.before]), q.limit + 1) as DeploymentRow[];
    const page = pageOf(rows, q.limit, (r) => Number(r.id));
    return {
      deployments: page.rows.map((r) => {
        const { devices: _d, ...rest } = this.toDeployment(r, []);
        rest.counts = this.statusCounts(r.id);
        return rest;
      }),
      next: page.next,
    };
  }

  /** The deployment with every device by id, or (`limit`) the first `limit` needing attention first (DeploymentViewQuery) and `devicesTotal`. */
  get(id: number, limit?: number): Deployment {
    const r = this.db.prepare(`${WITH_ROLLOUT} WHERE d.id = ?`).get(id) as DeploymentRow | undefined;
    if (!r) throw notFound('deployment', id, `no deployment ${id}`);
    if (limit === undefined) return this.toDeployment(r, this.deviceRows(id));
    const rows = this.db.prepare(`SELECT * FROM deployment_devices WHERE deployment_id = ? ORDER BY ${ATTENTION_FIRST}, device_id LIMIT ?`).all(id, limit) as DeviceRow[];
    const d = { ...this.toDeployment(r, rows), counts: this.statusCounts(id) };
    const total = Object.values(d.counts).reduce((a, n) => a + n, 0);
    return total > rows.length ? { ...d, devicesTotal: total } : d;
  }

  /** Devices per status, counted in SQL (not read device by device). */
  private statusCounts(id: number): Record<DeploymentDeviceStatus, number> {
    const counts = EMPTY_COUNTS();
    for (const c of this.db.prepare('SELECT status, COUNT(*) AS n FROM deployment_devices WHERE deployment_id = ? GROUP BY status').all(id) as Array<{ status: DeploymentDeviceStatus; n: number }>) counts[c.status] = Number(c.n);
    return counts;
  }

  /** Deployments whose target is tags or all (devices enrolling later may match them), oldest first; none undeployed. */
  openTargets(): Array<{ id: number; model: string; version: string; target: DeployTarget }> {
    const rows = this.db.prepare('SELECT id, model, version, target FROM deployments WHERE undeployed_at IS NULL ORDER BY id').all() as DeploymentRow[];
    return rows
      .map((r) => ({ id: r.id, model: r.model, version: r.version, target: JSON.parse(r.target) as DeployTarget }))
      .filter((d) => d.target.all || d.target.tags);
  }

  /**
   * For each model, the newest deployment that includes the device, with the version it replaced. A model
   * whose newest row is `removing` or `removed` is not assigned: no older (superseded) deployment comes back.
   */
  effectiveFor(deviceId: string): EffectiveModel[] {
    return effectiveOf((this.effectiveStmt ??= this.db.prepare(`${EFFECTIVE_SELECT} WHERE dd.device_id = ? ORDER BY d.id DESC`)).all(deviceId) as EffectiveRow[]);
  }

  /** effectiveFor of each of `deviceIds` (a device with none: absent), a chunk of them a statement. */
  effectiveForMany(deviceIds: readonly string[]): Map<string, EffectiveModel[]> {
    const rows = new Map<string, EffectiveRow[]>();
    for (const [st, ids] of (this.effectiveMany ??= new InList(this.db, (n) => `${EFFECTIVE_SELECT} WHERE dd.device_id IN (${InList.marks(n)}) ORDER BY d.id DESC`)).chunks(deviceIds)) {
      for (const r of st.all(...ids) as EffectiveRow[]) {
        const list = rows.get(r.device_id);
        if (list) list.push(r);
        else rows.set(r.device_id, [r]);
      }
    }
    return new Map([...rows].map(([id, list]) => [id, effectiveOf(list)]));
  }

  /**
   * A device whose assignment effectiveFor builds from a row of this deployment (`model`@`version`), or
   * null: the row is its newest of the model (what it is assigned, a removal included) or the newest of
   * another version than that one (its `previous`). History retention keeps a deployment while one does
   * (docs/decisions/0067-deployment-history-retention.md).
   */
  deviceAssignedBy(deploymentId: number, model: string, version: string): string | null {
    const r = this.db.prepare(
      `SELECT dd.device_id FROM deployment_devices dd
         LEFT JOIN deployment_devices n ON n.device_id = dd.device_id AND n.deployment_id > dd.deployment_id
         LEFT JOIN deployments nd ON nd.id = n.deployment_id AND nd.model = ?
       WHERE dd.deployment_id = ? GROUP BY dd.device_id
       HAVING COUNT(DISTINCT nd.version) = 0 OR (COUNT(DISTINCT nd.version) = 1 AND MIN(nd.version) <> ?) ORDER BY dd.device_id LIMIT 1`,
    ).get(model, deploymentId, version) as { device_id: string } | undefined;
    return r?.device_id ?? null;
  }

  /**
   * Updates the device's row in the effective deployment of `model` (the newest that includes it), unless its status is `notOver`.
   * A `removing` or `removed` row is the removal's (removals-repo.ts): a report of the version still active does not undo it.
   */
  setStatus(deviceId: string, model: string, version: string, status: DeploymentDeviceStatus, at: Date, extra: { progress?: number | null; reason?: string | null; notOver?: readonly DeploymentDeviceStatus[] } = {}): void {
    // Prepared once: every device event and state report of a deployment comes through here.
    const st = (this.statusStmts ??= {
      get: this.db.prepare(
        `SELECT dd.deployment_id AS id, dd.status, dd.progress FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id
         WHERE dd.device_id = ? AND d.model = ? AND d.version = ? AND dd.status NOT IN ('superseded', 'removing', 'removed') ORDER BY d.id DESC LIMIT 1`,
      ),
      set: this.db.prepare('UPDATE deployment_devices SET status = ?, progress = ?, reason = ?, updated_at = ? WHERE deployment_id = ? AND device_id = ?'),
    });
    const row = st.get
      .get(deviceId, model, version) as { id: number; status: DeploymentDeviceStatus; progress: number | null } | undefined;
    if (!row || extra.notOver?.includes(row.status)) return;
    const progress = deploymentProgress(extra.progress);
    st.set.run(status, progress, extra.reason ?? null, at.toISOString(), row.id, deviceId);
    // Only changes reach listeners (the live stream): every state report re-confirms "active".
    if (row.status === status && row.progress === progress) return;
    this.emitStatus({ deploymentId: row.id, deviceId, model, version, status, progress, reason: extra.reason ?? null, at: at.toISOString() });
  }

  /**
   * Sets a device's row in a deployment to `status` with `reason` (the hub's hold of a version its backend cannot
   * load, or its end: deployments/backends.ts) and tells the listeners.
   */
  setRow(e: { deploymentId: number; deviceId: string; model: string; version: string }, status: DeploymentDeviceStatus, reason: string | null, at: Date): void {
    this.db.prepare('UPDATE deployment_devices SET status = ?, progress = NULL, reason = ?, updated_at = ? WHERE deployment_id = ? AND device_id = ?')
      .run(status, reason, at.toISOString(), e.deploymentId, e.deviceId);
    this.emitStatus({ ...e, status, progress: null, reason, at: at.toISOString() });
  }

  /** Tells the listeners (the live stream) of a change of a device's status, here or made elsewhere (a removal done: removals-repo.ts). */
  emitStatus(change: StatusChange): void {
    if (this.held) this.held.push(change);
    else for (const l of this.statusListeners) l(change);
  }

  /**
   * Runs `fn` (a transaction: the ingest's listeners of a batch, ingest/window-writer.ts) holding the status
   * changes it makes; once it returns, they reach the listeners in order, none if it threw (rolled back).
   */
  holdStatus<T>(fn: () => T): T {
    if (this.held) return fn(); // the outer one tells them
    const held: StatusChange[] = (this.held = []);
    let out: T;
    try {
      out = fn();
    } finally {
      this.held = null;
    }
    for (const c of held) this.emitStatus(c);
    return out;
  }

  /** Calls `fn` with each change of a device's status or progress in a deployment. */
  onStatus(fn: (c: StatusChange) => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  private deviceRows(id: number): DeviceRow[] {
    return this.db.prepare('SELECT * FROM deployment_devices WHERE deployment_id = ? ORDER BY device_id').all(id) as DeviceRow[];
  }

  private toDeployment(r: DeploymentRow, devices: DeviceRow[]): Deployment {
    const counts = EMPTY_COUNTS();
    const list: DeploymentDevice[] = devices.map((d) => {
      counts[d.status]++;
      return { deviceId: d.device_id, status: d.status, progress: d.progress, reason: d.reason, updated: d.updated_at };
    });
    return {
      id: r.id,
      model: r.model,
      version: r.version,
      target: JSON.parse(r.target) as DeployTarget,
      reason: r.reason,
      createdBy: r.created_by,
      created: r.created_at,
      ...(r.maintenance ? { window: JSON.parse(r.maintenance) as MaintenanceWindow } : {}),
      ...(Number(r.backend_mismatch) === 1 ? { allowBackendMismatch: true as const } : {}),
      ...(r.undeployed_at ? { undeployed: { at: r.undeployed_at, by: r.undeployed_by ?? '', reason: r.undeployed_reason ?? '' } } : {}),
      ...(r.rollout_id ? { rollout: r.rollout_id } : {}),
      counts,
      devices: list,
    };
  }
}

const EFFECTIVE_SELECT = `SELECT dd.device_id, d.id, d.model, d.version, d.maintenance, d.backend_mismatch, dd.status, dd.reason
  FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id`;
interface EffectiveRow { device_id: string; id: number; model: string; version: string; maintenance: string | null; backend_mismatch: number; status: DeploymentDeviceStatus; reason: string | null }

/** A device's assignments from its rows, newest deployment first (DeploymentsRepo.effectiveFor). */
function effectiveOf(rows: readonly EffectiveRow[]): EffectiveModel[] {
  const out = new Map<string, EffectiveModel | null>();
  for (const r of rows) {
    const cur = out.get(r.model);
    if (cur === undefined) {
      const removed = r.status === 'removing' || r.status === 'removed';
      out.set(r.model, removed ? null : {
        deploymentId: r.id, model: r.model, version: r.version, previous: undefined, window: r.maintenance ? (JSON.parse(r.maintenance) as MaintenanceWindow) : undefined,
        allowBackendMismatch: Number(r.backend_mismatch) === 1, status: r.status, reason: r.reason,
      });
    } else if (cur && cur.previous === undefined && r.version !== cur.version) cur.previous = r.version;
  }
  return [...out.values()].filter((e): e is EffectiveModel => e !== null).sort((a, b) => a.model.localeCompare(b.model));
}
