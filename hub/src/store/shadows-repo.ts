// Candidates devices run in shadow (docs/rollouts.md "Shadow stage", decision 0032): one row per device
// and model naming the candidate version, its sample rate and tolerance, and the rollout whose shadow
// stage put it there. Desired documents carry it as `models[].shadow` (deployments/service.ts); the
// ingest guard accepts the candidate's events from these devices.
import type { Db } from './db.js';
import type { Migration } from './migrations.js';
import { InList } from './in-list.js';

export const SHADOWS_MIGRATION: Migration = {
  version: 15,
  name: 'shadow candidates per device',
  sql: `
    CREATE TABLE device_shadows (
      device_id TEXT NOT NULL REFERENCES devices(id),
      model TEXT NOT NULL,
      version TEXT NOT NULL,
      sample_rate REAL NOT NULL,
      tolerance REAL NOT NULL,
      threshold REAL,
      rollout_id TEXT NOT NULL,
      PRIMARY KEY (device_id, model)
    );
    CREATE INDEX device_shadows_by_rollout ON device_shadows(rollout_id);
  `,
};

/** hub.db migration 91: a shadow stage that replays recent requests instead of sampling live (decision 0045). */
export const SHADOW_REPLAY_MIGRATION: Migration = {
  version: 91,
  name: 'replay checks of shadow candidates',
  sql: 'ALTER TABLE device_shadows ADD COLUMN replay INTEGER;',
};

export interface ShadowRow {
  deviceId: string;
  model: string;
  version: string;
  sampleRate: number;
  tolerance: number;
  /** Single-value float outputs compared as a class at this threshold (null: within the tolerance). */
  threshold: number | null;
  rolloutId: string;
  /** Requests to replay through the candidate instead of sampling live (null: live sampling). */
  replay?: number | null;
}

export class ShadowsRepo {
  // Read for every desired document the hub signs (once per model it assigns), prepared once.
  private getStmt: ReturnType<Db['prepare']> | null = null;
  private manyIn: InList | null = null;
  constructor(private readonly db: Db) {}

  put(r: ShadowRow): void {
    this.db.prepare('INSERT OR REPLACE INTO device_shadows (device_id, model, version, sample_rate, tolerance, threshold, rollout_id, replay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.deviceId, r.model, r.version, r.sampleRate, r.tolerance, r.threshold, r.rolloutId, r.replay ?? null);
  }

  /** The device's candidate of `model`, if any. */
  get(deviceId: string, model: string): ShadowRow | undefined {
    const r = (this.getStmt ??= this.db.prepare(`${SELECT} WHERE device_id = ? AND model = ?`)).get(deviceId, model) as Raw | undefined;
    return r && toRow(r);
  }

  /** The candidates of each of `deviceIds` (a device with none: absent), by model, a chunk of them a statement. */
  forDevices(deviceIds: readonly string[]): Map<string, Map<string, ShadowRow>> {
    const out = new Map<string, Map<string, ShadowRow>>();
    const q = (this.manyIn ??= new InList(this.db, (n) => `${SELECT} WHERE device_id IN (${InList.marks(n)})`));
    for (const [st, ids] of q.chunks(deviceIds)) {
      for (const r of (st.all(...ids) as Raw[]).map(toRow)) {
        const m = out.get(r.deviceId) ?? new Map<string, ShadowRow>();
        out.set(r.deviceId, m.set(r.model, r));
      }
    }
    return out;
  }

  byRollout(rolloutId: string): ShadowRow[] {
    return (this.db.prepare(`${SELECT} WHERE rollout_id = ? ORDER BY device_id`).all(rolloutId) as Raw[]).map(toRow);
  }

  /** Removes a rollout's rows; returns the devices that had one. */
  clearRollout(rolloutId: string): string[] {
    const ids = this.byRollout(rolloutId).map((r) => r.deviceId);
    this.db.prepare('DELETE FROM device_shadows WHERE rollout_id = ?').run(rolloutId);
    return ids;
  }
}

const SELECT = 'SELECT device_id, model, version, sample_rate, tolerance, threshold, rollout_id, replay FROM device_shadows';
interface Raw { device_id: string; model: string; version: string; sample_rate: number; tolerance: number; threshold: number | null; rollout_id: string; replay: number | null }
const toRow = (r: Raw): ShadowRow => ({ deviceId: r.device_id, model: r.model, version: r.version, sampleRate: r.sample_rate, tolerance: r.tolerance, threshold: r.threshold, rolloutId: r.rollout_id, replay: r.replay });
