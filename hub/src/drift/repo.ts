// Stored drift reports (snapshots of a drift query: range, scope, values, worst devices, sample
// sizes) and per-model drift thresholds, in hub.db (migration 21; docs/drift.md).
import { notFound, DEFAULT_DRIFT_THRESHOLDS, type DriftReport, type DriftResponse, type DriftThresholds } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { Migration } from '../store/migrations.js';

export const DRIFT_MIGRATION: Migration = {
  version: 21,
  name: 'drift reports and per-model drift thresholds',
  sql: `
    CREATE TABLE drift_reports (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      model TEXT NOT NULL,
      version TEXT NOT NULL,
      since TEXT NOT NULL,
      until TEXT NOT NULL,
      by TEXT,
      drifted INTEGER NOT NULL,
      drifted_features TEXT NOT NULL,
      report TEXT NOT NULL,
      note TEXT,
      created_at TEXT NOT NULL,
      created_by TEXT NOT NULL
    );
    CREATE INDEX drift_reports_by_model ON drift_reports(model, version, id);
    CREATE TABLE drift_settings (
      model TEXT PRIMARY KEY,
      psi REAL NOT NULL,
      js REAL NOT NULL,
      min_predictions INTEGER NOT NULL,
      updated_at TEXT NOT NULL,
      updated_by TEXT NOT NULL
    );
  `,
};

/**
 * Whether a stored report had any verdict: 0 when some group had enough predictions to judge, 1 when
 * none did (its "ok" would mean only "no data"), null for reports stored before this migration.
 */
export const DRIFT_REPORT_INSUFFICIENT_MIGRATION: Migration = {
  version: 24,
  name: 'drift reports say when no group had enough predictions for a verdict',
  sql: 'ALTER TABLE drift_reports ADD COLUMN insufficient INTEGER;',
};

/**
 * How many devices (and drifted ones) a report by device left out (docs/decisions/0100-drift-reports-of-alerts.md), in
 * columns so the list of reports says so without reading each report; filled from the reports stored before.
 */
export const DRIFT_REPORT_LEFT_OUT_MIGRATION: Migration = {
  version: 84,
  name: 'drift reports say how many devices they left out',
  sql: `
    ALTER TABLE drift_reports ADD COLUMN left_out_devices INTEGER;
    ALTER TABLE drift_reports ADD COLUMN left_out_drifted INTEGER;
    UPDATE drift_reports SET left_out_devices = json_extract(report, '$.leftOut.devices'), left_out_drifted = json_extract(report, '$.leftOut.drifted')
      WHERE json_extract(report, '$.leftOut') IS NOT NULL;`,
  postgres: `
    ALTER TABLE drift_reports ADD COLUMN left_out_devices INTEGER;
    ALTER TABLE drift_reports ADD COLUMN left_out_drifted INTEGER;
    UPDATE drift_reports SET left_out_devices = (report::jsonb #>> '{leftOut,devices}')::integer, left_out_drifted = (report::jsonb #>> '{leftOut,drifted}')::integer
      WHERE report::jsonb -> 'leftOut' IS NOT NULL;`,
};

interface ReportRow {
  id: number; model: string; version: string; since: string; until: string; by: string | null; drifted: number; insufficient: number | null;
  drifted_features: string; report: string; note: string | null; created_at: string; created_by: string;
  left_out_devices: number | null; left_out_drifted: number | null;
}

export interface ReportSummary extends Omit<DriftReport, 'report'> {
  model: string; version: string; since: string; until: string; by: string | null; driftedFeatures: string[]; insufficient: boolean;
  leftOut?: { devices: number; drifted: number };
}

/** Feature (and output) names drifted in any group. */
export function driftedNames(r: DriftResponse): string[] {
  const names = new Set<string>();
  for (const g of r.groups) for (const f of [...g.features, ...g.outputs]) if (f.drifted) names.add(f.kind === 'output' ? `output:${f.name}` : f.name);
  return [...names];
}

export class DriftRepo {
  constructor(private readonly db: Db) {}

  addReport(report: DriftResponse, by: { actor: string; note: string | null; at: Date }): number {
    const drifted = report.groups.some((g) => g.drifted);
    const insufficient = report.groups.every((g) => g.insufficient !== null);
    const r = this.db.prepare(
      `INSERT INTO drift_reports (model, version, since, until, by, drifted, drifted_features, report, note, created_at, created_by, insufficient, left_out_devices, left_out_drifted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(report.model, report.version, report.since, report.until, report.by, drifted ? 1 : 0, JSON.stringify(driftedNames(report)),
      JSON.stringify(report), by.note, by.at.toISOString(), by.actor, insufficient ? 1 : 0, report.leftOut?.devices ?? null, report.leftOut?.drifted ?? null);
    return Number(r.lastInsertRowid);
  }

  report(id: number): DriftReport {
    const r = this.db.prepare('SELECT * FROM drift_reports WHERE id = ?').get(id) as ReportRow | undefined;
    if (!r) throw notFound('drift_report', id, `no drift report ${id}`);
    return { id: r.id, createdAt: r.created_at, createdBy: r.created_by, note: r.note, drifted: r.drifted === 1, report: JSON.parse(r.report) as DriftResponse };
  }

  reports(q: { model?: string | undefined; version?: string | undefined; limit?: number | undefined }): ReportSummary[] {
    const rows = this.db.prepare(
      `SELECT id, model, version, since, until, by, drifted, drifted_features, note, created_at, created_by, insufficient, left_out_devices, left_out_drifted
       FROM drift_reports WHERE (? IS NULL OR model = ?) AND (? IS NULL OR version = ?) ORDER BY id DESC LIMIT ?`,
    ).all(q.model ?? null, q.model ?? null, q.version ?? null, q.version ?? null, q.limit ?? 100) as ReportRow[];
    return rows.map((r) => ({
      id: r.id, model: r.model, version: r.version, since: r.since, until: r.until, by: r.by, drifted: r.drifted === 1,
      driftedFeatures: JSON.parse(r.drifted_features) as string[], note: r.note, createdAt: r.created_at, createdBy: r.created_by,
      insufficient: r.insufficient === 1,
      ...(r.left_out_devices !== null ? { leftOut: { devices: r.left_out_devices, drifted: r.left_out_drifted ?? 0 } } : {}),
    }));
  }

  thresholds(model: string): DriftThresholds & { updatedAt: string | null; updatedBy: string | null } {
    const r = this.db.prepare('SELECT psi, js, min_predictions, updated_at, updated_by FROM drift_settings WHERE model = ?').get(model) as
      | { psi: number; js: number; min_predictions: number; updated_at: string; updated_by: string }
      | undefined;
    if (!r) return { ...DEFAULT_DRIFT_THRESHOLDS, updatedAt: null, updatedBy: null };
    return { psi: r.psi, js: r.js, minPredictions: r.min_predictions, updatedAt: r.updated_at, updatedBy: r.updated_by };
  }

  setThresholds(model: string, t: DriftThresholds, by: { actor: string; at: Date }): void {
    this.db.prepare(
      `INSERT INTO drift_settings (model, psi, js, min_predictions, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (model) DO UPDATE SET psi = excluded.psi, js = excluded.js, min_predictions = excluded.min_predictions, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    ).run(model, t.psi, t.js, t.minPredictions, by.at.toISOString(), by.actor);
  }
}
