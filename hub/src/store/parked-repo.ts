// Telemetry windows parked until their model version is in the registry (docs/decisions/
// 0097-parked-windows.md; docs/operations.md "Backup and restore"): a hub restored from an older backup does
// not hold the versions pushed after the snapshot, and the windows devices recorded on them were acked
// and dropped. They wait here instead, acked (the device's outbox moves on), keyed by (device, seq) like
// device_windows so a resend parks nothing twice, until the ingest (ingest/parked.ts) stores them.
import type { Db } from './db.js';
import type { HubStatement as Statement } from './hub-db.js';
import type { Migration } from './migrations.js';
import { SEEN_INSERT } from './device-reports.js';

export const PARKED_WINDOWS_MIGRATION: Migration = {
  version: 96,
  name: 'telemetry windows of versions the registry does not hold',
  sql: `
    CREATE TABLE parked_windows (
      device_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      model TEXT NOT NULL,
      version TEXT NOT NULL,
      window TEXT NOT NULL,
      parked_at TEXT NOT NULL,
      PRIMARY KEY (device_id, seq)
    );
    CREATE INDEX parked_windows_by_version ON parked_windows(model, version);
  `,
};

/**
 * Parked windows by age: the sweep deletes those parked longer ago than ingest.parkedRetentionDays in batches
 * (ingest/parked-expiry.ts) without reading the table (parked_at follows each window's text in the row).
 */
export const PARKED_AGE_MIGRATION: Migration = {
  version: 98,
  name: 'parked telemetry windows by age',
  sql: 'CREATE INDEX parked_windows_by_age ON parked_windows(parked_at, device_id, seq);',
};

/** What a device has parked, by version (GET /devices/{id} `parkedWindows`). */
export interface ParkedVersion { model: string; version: string; windows: number; bytes: number; since: string }

export class ParkedRepo {
  private insStmt: Statement | null = null;
  private heldStmt: Statement | null = null;
  private hasStmt: Statement | null = null;

  constructor(private readonly db: Db) {}

  /** Whether the registry holds the version (one indexed row). */
  held(model: string, version: string): boolean {
    return (this.heldStmt ??= this.db.prepare('SELECT 1 AS x FROM model_versions WHERE name = ? AND version = ?')).get(model, version) !== undefined;
  }

  /** Parks a window or event (its text as stored); a seq parked already is left as it is. Returns the characters added (0: parked before). */
  park(deviceId: string, w: { seq: number; model: string; version: string }, text: string, at: Date): number {
    const ins = (this.insStmt ??= this.db.prepare(
      'INSERT INTO parked_windows (device_id, seq, model, version, window, parked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ));
    return ins.run(deviceId, w.seq, w.model, w.version, text, at.toISOString()).changes > 0 ? text.length : 0;
  }

  /** Whether the device's seq is parked (one primary key probe). */
  has(deviceId: string, seq: number): boolean {
    return (this.hasStmt ??= this.db.prepare('SELECT 1 AS x FROM parked_windows WHERE device_id = ? AND seq = ?')).get(deviceId, seq) !== undefined;
  }

  /** The device's parked windows and their characters. */
  totals(deviceId: string): { windows: number; bytes: number } {
    const r = this.db.prepare('SELECT COUNT(*) AS n, SUM(LENGTH(window)) AS bytes FROM parked_windows WHERE device_id = ?').get(deviceId) as { n: number; bytes: number | null };
    return { windows: Number(r.n), bytes: Number(r.bytes ?? 0) };
  }

  /**
   * Characters of the next `limit` parked windows after `after` by (device, seq), all devices, and the last
   * one's key (null: none left). Read once per hub in chunks (ingest/parked.ts counts from then on).
   */
  bytesAfter(after: { deviceId: string; seq: number }, limit: number): { bytes: number; last: { deviceId: string; seq: number } | null } {
    const rows = this.db.prepare(
      // A row value, so both databases seek the primary key to the cursor (an OR scans it from its start).
      'SELECT device_id, seq, LENGTH(window) AS bytes FROM parked_windows WHERE (device_id, seq) > (?, ?) ORDER BY device_id, seq LIMIT ?',
    ).all(after.deviceId, after.seq, limit) as Array<{ device_id: string; seq: number; bytes: number }>;
    const last = rows.at(-1);
    return { bytes: rows.reduce((a, r) => a + Number(r.bytes), 0), last: last && rows.length === limit ? { deviceId: last.device_id, seq: Number(last.seq) } : null };
  }

  /** Up to `limit` windows parked before `before`, oldest first, with their characters. */
  parkedBefore(before: Date, limit: number): Array<{ deviceId: string; seq: number; model: string; version: string; bytes: number }> {
    return (this.db.prepare(
      'SELECT device_id, seq, model, version, LENGTH(window) AS bytes FROM parked_windows WHERE parked_at < ? ORDER BY parked_at, device_id, seq LIMIT ?',
    ).all(before.toISOString(), limit) as Array<{ device_id: string; seq: number; model: string; version: string; bytes: number }>)
      .map((r) => ({ deviceId: r.device_id, seq: Number(r.seq), model: r.model, version: r.version, bytes: Number(r.bytes) }));
  }

  /** The device's parked windows by version, oldest parked first, at most `limit` versions (a device names what it likes). */
  versions(deviceId: string, limit: number): ParkedVersion[] {
    return (this.db.prepare(
      `SELECT model, version, COUNT(*) AS windows, SUM(LENGTH(window)) AS bytes, MIN(parked_at) AS since FROM parked_windows
       WHERE device_id = ? GROUP BY model, version ORDER BY since, model, version LIMIT ?`,
    ).all(deviceId, limit) as Array<{ model: string; version: string; windows: number; bytes: number; since: string }>)
      .map((r) => ({ model: r.model, version: r.version, windows: Number(r.windows), bytes: Number(r.bytes), since: r.since }));
  }

  /**
   * Versions with parked windows that the registry now holds: one probe of the parked index per registry
   * version, so a large parked table costs nothing while no such version is pushed.
   */
  releasable(): Array<{ model: string; version: string }> {
    return this.db.prepare(
      `SELECT mv.name AS model, mv.version FROM model_versions mv
       WHERE EXISTS (SELECT 1 FROM parked_windows p WHERE p.model = mv.name AND p.version = mv.version) ORDER BY mv.name, mv.version`,
    ).all() as Array<{ model: string; version: string }>;
  }

  /** Up to `limit` parked windows of the version, by device and seq. */
  take(model: string, version: string, limit: number): Array<{ deviceId: string; seq: number; window: string }> {
    return (this.db.prepare(
      'SELECT device_id, seq, window FROM parked_windows WHERE model = ? AND version = ? ORDER BY device_id, seq LIMIT ?',
    ).all(model, version, limit) as Array<{ device_id: string; seq: number; window: string }>)
      .map((r) => ({ deviceId: r.device_id, seq: Number(r.seq), window: r.window }));
  }

  /**
   * Records that the device may report the version (device_versions_seen, as a state report of it would):
   * it recorded windows of it while the registry did not hold the version, as a box that installed a
   * version from a file before its upload did (models-repo.ts insert).
   */
  seen(deviceId: string, model: string, version: string): void {
    this.db.prepare(SEEN_INSERT).run(deviceId, model, version, model, version);
  }

  /**
   * Removes parked windows (stored, refused or expired by now) in one transaction; returns those that were
   * still there (another hub sharing the database may have removed some).
   */
  remove<R extends { deviceId: string; seq: number }>(rows: readonly R[]): R[] {
    const del = this.db.prepare('DELETE FROM parked_windows WHERE device_id = ? AND seq = ?');
    const removed: R[] = [];
    this.db.transaction(() => {
      for (const r of rows) if (del.run(r.deviceId, r.seq).changes > 0) removed.push(r);
    })();
    return removed;
  }
}
