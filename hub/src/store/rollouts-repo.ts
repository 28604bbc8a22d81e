// Rollouts as a persisted state machine (docs/rollouts.md): one row per rollout holding its state, the
// wave being worked on and each wave's progress and gate results, and one row per device of the target
// with its place, the version it ran before and when it was told to switch. The rollout engine writes
// each transition in one transaction with its audit entry, so a hub killed at any point resumes from here.
import { AppError, notFound, HISTORY_PAGE, type RolloutListQuery, type ConfigSubject, type DeployTarget, type GateConfig, type GateName, type GateResult, type MaintenanceWindow, type NotInstalled, type NotInstalledDevice, type NotInstalledPage, type RolloutState, type ShadowStage, type Wave, type WaveState } from '@edgefleet/shared';
import { keepNotInstalled, missing, notInstalledPage } from './rollout-not-installed.js';
import type { Db } from './db.js';
import { createdPage } from './history-page.js';
import { replacedAndOffline, replacedInRollout, replacedRowsInRollout, type Replacement } from './device-replacements.js';

/** Per wave: where it is and what its gates said last. */
export interface WaveProgress {
  state: WaveState;
  startedAt: string | null;
  bakeUntil: string | null;
  /** When evaluation began (a wave stuck evaluating past gates.stuckSec pauses). */
  evaluatingSince: string | null;
  gates: GateResult[];
  /** The last step at which a device of the wave deferred its switch within gates.deferTimeoutSec: the stuck clock runs from here. */
  deferredAt?: string | null;
  /** When the wave passed without told devices switched off: the note naming them, said again when it moves on or completes (judge.ts advance). */
  leftOut?: string;
  /** Gates an operator accepted for this wave (hub/src/rollouts/accept.ts): they no longer block it. */
  accepted?: Array<{ name: GateName; by: string; reason: string; at: string }>;
  /** Promoted to the full fleet (`promote --full`, rollouts/full.ts): once this wave passes the last opens, the waves between skipped. */
  full?: { by: string; reason: string; at: string };
  /** A failed model wave's told devices that did not install its version, as it failed (rollouts/not-installed.ts). */
  notInstalled?: NotInstalled;
}

/** A wave as stored: the shadow stage is a wave with `shadow` set (docs/decisions/0032-shadow-evaluation.md). */
export type StoredWave = Wave & { shadow?: ShadowStage };

export interface RolloutRecord {
  id: string;
  model: string;
  version: string;
  fromVersion: string | null;
  target: DeployTarget;
  waves: StoredWave[];
  gates: GateConfig;
  /** Devices switch only inside it (the deployment carries it into their desired documents). */
  window: MaintenanceWindow | null;
  advance: 'auto' | 'manual';
  onFailure: 'rollback' | 'pause';
  state: RolloutState;
  currentWave: number;
  progress: WaveProgress[];
  deploymentId: number | null;
  reason: string;
  stateReason: string | null;
  /** Who made the last state change (pause, resume, abort, rollback, completion): an operator's name or `hub`; null before the first. */
  stateBy?: string | null;
  stateAt?: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** Grows with each save; a save with an older one is refused (0 for a new rollout). */
  revision?: number;
  /** Set on a configuration rollout: `model` is then `config:SCOPE`, `version` and `fromVersion` the document versions. */
  config?: ConfigSubject | null;
  /** Created with allowBackendMismatch (hub.db migration 105): not refused for the backend, its deployment never holds a device back. */
  allowBackendMismatch?: boolean;
}

export interface RolloutDeviceRow {
  deviceId: string;
  place: number;
  previous: string | null;
  notifiedAt: string | null;
  /** Configuration rollouts: the agent's reported start count when it was told (null: it reports none). */
  starts?: number | null;
  /** Told and did not install the version of the wave that failed (rollouts/not-installed.ts): how and why. */
  notInstalled?: NotInstalledDevice | null;
}

interface Row {
  id: string; model: string; version: string; from_version: string | null; target: string; waves: string; gates: string;
  advance: 'auto' | 'manual'; on_failure: 'rollback' | 'pause'; state: RolloutState; current_wave: number; progress: string;
  deployment_id: number | null; reason: string; state_reason: string | null; state_by: string | null; state_at: string | null; created_by: string; created_at: string; updated_at: string;
  maintenance: string | null; revision: number;
  config: string | null;
  backend_mismatch: number;
}

const ACTIVE: readonly RolloutState[] = ['running', 'paused'];

/** What the live stream says of a changed rollout (`rollout` event, shared/src/wire/stream.ts). */
export interface RolloutChange {
  id: string;
  model: string;
  version: string;
  state: RolloutState;
  currentWave: number;
  wave: string | null;
  waveState: WaveState | null;
  at: string;
}

export class RolloutsRepo {
  private readonly listeners = new Set<(c: RolloutChange) => void>();
  /** Rollouts written since the last announcement (one event per rollout per transaction). */
  private readonly changed = new Set<string>();

  constructor(private readonly db: Db) {}

  /** Called after the transaction that changed a rollout (its row or its devices) ended, once per rollout. */
  onChanged(fn: (c: RolloutChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private announce(id: string): void {
    if (!this.listeners.size) return;
    if (this.changed.size === 0) {
      // better-sqlite3 transactions are synchronous: a microtask runs after the outermost one ended.
      queueMicrotask(() => {
        const ids = [...this.changed];
        this.changed.clear();
        for (const rid of ids) {
          let r: RolloutRecord;
          try {
            r = this.get(rid);
          } catch {
            continue; // rolled back, or the store closed meanwhile
          }
          const c: RolloutChange = {
            id: r.id, model: r.model, version: r.version, state: r.state, currentWave: r.currentWave,
            wave: r.waves[r.currentWave]?.name ?? null, waveState: r.progress[r.currentWave]?.state ?? null, at: r.updatedAt,
          };
          for (const l of this.listeners) l(c);
        }
      });
    }
    this.changed.add(id);
  }

  create(r: RolloutRecord): void {
    this.db.prepare(
      `INSERT INTO rollouts (id, model, version, from_version, target, waves, gates, advance, on_failure, state, current_wave, progress, deployment_id, reason, state_reason, created_by, created_at, updated_at, maintenance, config, backend_mismatch)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.id, r.model, r.version, r.fromVersion, JSON.stringify(r.target), JSON.stringify(r.waves), JSON.stringify(r.gates), r.advance, r.onFailure,
      r.state, r.currentWave, JSON.stringify(r.progress), r.deploymentId, r.reason, r.stateReason, r.createdBy, r.createdAt, r.updatedAt, r.window ? JSON.stringify(r.window) : null, r.config ? JSON.stringify(r.config) : null, r.allowBackendMismatch ? 1 : 0);
    this.announce(r.id);
  }

  /**
   * Writes the mutable part of a rollout (state, wave, progress, deployment, reason) if nobody saved it
   * since `r` was loaded (its revision); otherwise CONFLICT (another hub's step or action came first).
   */
  save(r: RolloutRecord): void {
    const revision = r.revision ?? 0;
    const n = this.db.prepare('UPDATE rollouts SET state = ?, current_wave = ?, progress = ?, deployment_id = ?, state_reason = ?, state_by = ?, state_at = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND revision = ?')
      .run(r.state, r.currentWave, JSON.stringify(r.progress), r.deploymentId, r.stateReason, r.stateBy ?? null, r.stateAt ?? null, r.updatedAt, r.id, revision).changes;
    if (n === 0) {
      if (!this.has(r.id)) throw notFound('rollout', r.id, `no rollout ${r.id}`);
      throw new AppError('CONFLICT', `rollout ${r.id} changed since it was loaded (a step or an action on another hub): load it again and retry`);
    }
    r.revision = revision + 1;
    this.announce(r.id);
  }

  /** Whether a rollout with this id exists. */
  has(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM rollouts WHERE id = ?').get(id) !== undefined;
  }

  get(id: string): RolloutRecord {
    const row = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound('rollout', id, `no rollout "${id}"`);
    return toRecord(row);
  }

  /**
   * A page of rollouts, newest first (created time, then id, both descending): `limit` of them after the
   * cursor's row in that order, and `next`, the last one's `CREATED,ID` when more follow (GET /rollouts).
   */
  list(q: Pick<RolloutListQuery, 'before'> & { limit?: number } = {}): { rollouts: RolloutRecord[]; next: string | null } {
    const page = createdPage<Row>(this.db, 'rollouts', { limit: q.limit ?? HISTORY_PAGE.defaultLimit, before: q.before });
    return { rollouts: page.rows.map(toRecord), next: page.next };
  }

  /** Running or paused rollouts (of one model, if given). */
  active(model?: string): RolloutRecord[] {
    const rows = this.db.prepare(`SELECT * FROM rollouts WHERE state IN (${ACTIVE.map(() => '?').join(', ')})${model ? ' AND model = ?' : ''} ORDER BY created_at, id`)
      .all(...ACTIVE, ...(model ? [model] : [])) as Row[];
    return rows.map(toRecord);
  }

  addDevice(rolloutId: string, d: RolloutDeviceRow): void {
    this.db.prepare('INSERT OR IGNORE INTO rollout_devices (rollout_id, device_id, place, previous, notified_at) VALUES (?, ?, ?, ?, ?)')
      .run(rolloutId, d.deviceId, d.place, d.previous, d.notifiedAt);
  }

  /**
   * The rollout's devices, less those revoked since they joined: a revoked device leaves the rollout (it is
   * not told, not counted in the gates, not listed; docs/rollouts.md "Cohorts"), as planning leaves it out.
   * So does one replaced by a new enrollment of its box while it is offline (device-replacements.ts).
   */
  devices(rolloutId: string): RolloutDeviceRow[] {
    return (this.db.prepare(`SELECT rd.device_id, rd.place, rd.previous, rd.notified_at, rd.starts, rd.not_installed FROM rollout_devices rd JOIN devices d ON d.id = rd.device_id
       WHERE rd.rollout_id = ? AND d.revoked_at IS NULL AND NOT ${replacedAndOffline('d')} ORDER BY rd.place, rd.device_id`).all(rolloutId) as Array<{
      device_id: string; place: number; previous: string | null; notified_at: string | null; starts: number | null; not_installed: string | null;
    }>).map((r) => ({ deviceId: r.device_id, place: r.place, previous: r.previous, notifiedAt: r.notified_at, starts: r.starts, notInstalled: r.not_installed === null ? null : (JSON.parse(r.not_installed) as NotInstalledDevice) }));
  }

  /** One device's row in the rollout (revoked or not), or null when it was never placed in it. */
  device(rolloutId: string, deviceId: string): RolloutDeviceRow | null {
    const r = this.db.prepare('SELECT device_id, place, previous, notified_at, starts FROM rollout_devices WHERE rollout_id = ? AND device_id = ?').get(rolloutId, deviceId) as
      { device_id: string; place: number; previous: string | null; notified_at: string | null; starts: number | null } | undefined;
    return r ? { deviceId: r.device_id, place: r.place, previous: r.previous, notifiedAt: r.notified_at, starts: r.starts } : null;
  }

  /** A device not yet told leaves the rollout (re-tagged out of its target: hub/src/rollouts/retag.ts). */
  removeDevice(rolloutId: string, deviceId: string): void {
    this.db.prepare('DELETE FROM rollout_devices WHERE rollout_id = ? AND device_id = ? AND notified_at IS NULL').run(rolloutId, deviceId);
    this.announce(rolloutId);
  }

  /** How many of the rollout's devices were revoked since they joined (they left it; see devices()). */
  revokedCount(rolloutId: string): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM rollout_devices rd JOIN devices d ON d.id = rd.device_id WHERE rd.rollout_id = ? AND d.revoked_at IS NOT NULL')
      .get(rolloutId) as { n: number | string };
    return Number(row.n);
  }

  /** Its devices replaced by a new enrollment of their box and offline (they left it; see devices()): the first `limit`, and how many. */
  replaced(rolloutId: string, limit = 3): { first: Replacement[]; count: number } {
    return replacedInRollout(this.db, rolloutId, limit);
  }

  /** Their rows, the first `limit` by place, with the id that replaced each (GET /rollouts/{id} lists them as left out). */
  replacedRows(rolloutId: string, limit: number): ReturnType<typeof replacedRowsInRollout> {
    return replacedRowsInRollout(this.db, rolloutId, limit);
  }

  /** Configuration rollouts: each told device's agent start count at that moment (decision 0045). */
  setStarts(rolloutId: string, starts: ReadonlyMap<string, number>): void {
    const st = this.db.prepare('UPDATE rollout_devices SET starts = ? WHERE rollout_id = ? AND device_id = ?');
    for (const [id, n] of starts) st.run(n, rolloutId, id);
  }

  /** The shadow stage passed: its devices are told again, this time to switch. */
  resetNotified(rolloutId: string): void {
    this.db.prepare('UPDATE rollout_devices SET notified_at = NULL WHERE rollout_id = ?').run(rolloutId);
  }

  /** Keeps every told device of the wave that failed now that did not install (`[]`: a wave passed; rollout-not-installed.ts). */
  keepNotInstalled(rolloutId: string, rows: readonly NotInstalledDevice[]): void {
    keepNotInstalled(this.db, rolloutId, rows);
  }

  /** A page of them by place (rollout-not-installed.ts). */
  notInstalledPage(rolloutId: string, after: string | undefined, limit: number): NotInstalledPage {
    return notInstalledPage(this.db, rolloutId, after === undefined ? undefined : this.device(rolloutId, after) ?? missing(rolloutId, after), limit);
  }

  markNotified(rolloutId: string, deviceIds: readonly string[], at: Date): void {
    const st = this.db.prepare('UPDATE rollout_devices SET notified_at = ? WHERE rollout_id = ? AND device_id = ?');
    for (const id of deviceIds) st.run(at.toISOString(), rolloutId, id);
    if (deviceIds.length) this.announce(rolloutId);
  }
}

function toRecord(r: Row): RolloutRecord {
  return {
    id: r.id, model: r.model, version: r.version, fromVersion: r.from_version, target: JSON.parse(r.target) as DeployTarget,
    waves: JSON.parse(r.waves) as StoredWave[], gates: JSON.parse(r.gates) as GateConfig, window: r.maintenance ? (JSON.parse(r.maintenance) as MaintenanceWindow) : null, advance: r.advance, onFailure: r.on_failure,
    state: r.state, currentWave: r.current_wave, progress: JSON.parse(r.progress) as WaveProgress[], deploymentId: r.deployment_id,
    reason: r.reason, stateReason: r.state_reason, stateBy: r.state_by, stateAt: r.state_at, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
    revision: r.revision,
    config: r.config ? (JSON.parse(r.config) as ConfigSubject) : null,
    ...(r.backend_mismatch ? { allowBackendMismatch: true } : {}),
  };
}
