// What each device has stored in the hub's database, kept as a running count (docs/decisions/
// 0062-stored-history-rolls.md): the characters of JSON of its stored windows and events, added in the
// transaction that inserts them (TelemetryRepo) and taken off in the one that deletes them (window
// retention, eviction). The ingest guard bounds each device by it (ingest.maxStoredBytesPerDevice)
// with a one-row read, where summing the rows read every stored byte of the device.
// Eviction keeps a device under that bound by deleting its oldest raw windows (lowest seq first: a
// device's seqs grow as it records); the rollups made from them stay, so metrics and drift stay exact.
// Events are never evicted; they expire by age (retention.eventsDays, docs/decisions/
// 0132-device-events-expire.md), as windows do with retention.windowsDays.
import type { Db } from './db.js';
import type { HubStatement as Statement } from './hub-db.js';
import type { Migration } from './migrations.js';

export const STORED_BYTES_MIGRATION: Migration = {
  version: 7,
  name: 'stored bytes per device',
  // Filled once from what is stored; from then on kept by the writes and deletes.
  sql: `
    CREATE TABLE device_stored (
      device_id TEXT PRIMARY KEY,
      bytes INTEGER NOT NULL
    );
    INSERT INTO device_stored (device_id, bytes)
      SELECT device_id, SUM(n) FROM (
        SELECT device_id, LENGTH(window) AS n FROM device_windows
        UNION ALL
        SELECT device_id, LENGTH(event) AS n FROM device_events
      ) AS rows GROUP BY device_id;
  `,
};

/** Windows deleted per transaction by expiry and eviction: a long delete never holds the write lock for long. */
export const DELETE_BATCH = 2000;

export class StoredBytesRepo {
  private addStmt: Statement | null = null;
  private getStmt: Statement | null = null;
  private revokedStmt: Statement | null = null;

  constructor(private readonly db: Db) {}

  /** Adds `bytes` to the device's count; call in the transaction that stored them. */
  add(deviceId: string, bytes: number): void {
    if (bytes === 0) return;
    (this.addStmt ??= this.db.prepare(
      'INSERT INTO device_stored (device_id, bytes) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET bytes = device_stored.bytes + excluded.bytes',
    )).run(deviceId, bytes);
  }

  /** The device's count (0: nothing stored). */
  get(deviceId: string): number {
    const r = (this.getStmt ??= this.db.prepare('SELECT bytes FROM device_stored WHERE device_id = ?')).get(deviceId) as { bytes: number } | undefined;
    return Math.max(0, Number(r?.bytes ?? 0));
  }

  /** Devices whose count is above `bytes`, the largest first. */
  devicesOver(bytes: number): Array<{ deviceId: string; bytes: number }> {
    return (this.db.prepare('SELECT device_id, bytes FROM device_stored WHERE bytes > ? ORDER BY bytes DESC').all(bytes) as Array<{ device_id: string; bytes: number }>)
      .map((r) => ({ deviceId: r.device_id, bytes: Number(r.bytes) }));
  }

  /**
   * Deletes raw windows that started before `before` (rollups stay), DELETE_BATCH a transaction, at most
   * `batches` of them, each device's count lowered by what went. Returns how many.
   */
  expireWindows(before: Date, batches = Infinity, pairs = this.windowVersions()): number {
    const cutoff = before.toISOString();
    // Per version, on the (model, version, start) index.
    const pick = this.db.prepare('SELECT device_id, seq, LENGTH(window) AS n FROM device_windows WHERE model = ? AND version = ? AND start < ? LIMIT ?');
    let total = 0;
    for (const p of pairs) {
      const n = this.deleteInBatches('device_windows', () => pick.all(p.model, p.version, cutoff, DELETE_BATCH) as Row[], batches);
      total += n;
      if (batches !== Infinity && n > 0) break; // the caller's turn: the rest at its next one
    }
    return total;
  }

  /** The versions with raw windows stored (a scan of the (model, version, start) index: read once per retention run). */
  windowVersions(): Array<{ model: string; version: string }> {
    return this.db.prepare('SELECT DISTINCT model, version FROM device_windows').all() as Array<{ model: string; version: string }>;
  }

  /**
   * Deletes events stamped before `before` (docs/operations.md "What grows and what bounds it": by the
   * `at` index), DELETE_BATCH a transaction, at most `batches` of them, each device's count lowered by
   * what went. Returns how many.
   */
  expireEvents(before: Date, batches = Infinity): number {
    const pick = this.db.prepare('SELECT device_id, seq, LENGTH(event) AS n FROM device_events WHERE at < ? LIMIT ?');
    const cutoff = before.toISOString();
    return this.deleteInBatches('device_events', () => pick.all(cutoff, DELETE_BATCH) as Row[], batches);
  }

  /**
   * One batch of the raw windows, or once none is left of the events, of the first device revoked before
   * `before` that holds any (docs/decisions/0133-revoked-devices-history-goes.md): its count lowered by
   * what went; 0 when no such device holds any.
   */
  forgetRevokedBatch(before: Date): number {
    const id = (this.revokedStmt ??= this.db.prepare(
      `SELECT d.id FROM devices d WHERE d.revoked_at IS NOT NULL AND d.revoked_at < ?
       AND (EXISTS (SELECT 1 FROM device_windows w WHERE w.device_id = d.id) OR EXISTS (SELECT 1 FROM device_events e WHERE e.device_id = d.id)) LIMIT 1`,
    ).pluck(true)).get(before.toISOString()) as string | undefined;
    if (id === undefined) return 0;
    const windows = this.db.prepare('SELECT device_id, seq, LENGTH(window) AS n FROM device_windows WHERE device_id = ? LIMIT ?');
    const events = this.db.prepare('SELECT device_id, seq, LENGTH(event) AS n FROM device_events WHERE device_id = ? LIMIT ?');
    return this.deleteInBatches('device_windows', () => windows.all(id, DELETE_BATCH) as Row[], 1)
      || this.deleteInBatches('device_events', () => events.all(id, DELETE_BATCH) as Row[], 1);
  }

  /** Deletes what `pick` names, one transaction a batch, until a batch comes back short (or `batches` ran); returns how many. */
  private deleteInBatches(table: 'device_windows' | 'device_events', pick: () => Row[], batches = Infinity): number {
    let total = 0;
    for (let i = 0; i < batches; i++) {
      const n = this.db.transaction(() => this.deleteCounted(table, pick()))();
      total += n;
      if (n < DELETE_BATCH) break;
    }
    return total;
  }

  /**
   * Deletes the device's oldest raw windows (lowest seq first) until its count is at most `downTo`, or
   * none is left, or `batches` transactions ran; returns how many went. Events are never evicted.
   */
  evictOldestWindows(deviceId: string, downTo: number, batches = Infinity): number {
    const pick = this.db.prepare('SELECT device_id, seq, LENGTH(window) AS n FROM device_windows WHERE device_id = ? ORDER BY seq LIMIT ?');
    let total = 0;
    for (let i = 0; i < batches; i++) {
      const n = this.db.transaction((): number => {
        let over = this.get(deviceId) - downTo;
        if (over <= 0) return 0;
        const rows: Row[] = [];
        for (const r of pick.all(deviceId, DELETE_BATCH) as Row[]) {
          if (over <= 0) break;
          rows.push(r);
          over -= Number(r.n);
        }
        return this.deleteCounted('device_windows', rows);
      })();
      total += n;
      if (n < DELETE_BATCH) break;
    }
    return total;
  }

  /** Deletes these windows or events and lowers their devices' counts; call in a transaction. */
  private deleteCounted(table: 'device_windows' | 'device_events', rows: readonly Row[]): number {
    if (rows.length === 0) return 0;
    const freed = new Map<string, number>();
    const del = this.db.prepare(`DELETE FROM ${table} WHERE device_id = ? AND seq = ?`);
    let deleted = 0;
    for (const r of rows) {
      if (del.run(r.device_id, r.seq).changes === 0) continue;
      deleted++;
      freed.set(r.device_id, (freed.get(r.device_id) ?? 0) + Number(r.n));
    }
    const lower = this.db.prepare('UPDATE device_stored SET bytes = CASE WHEN bytes > ? THEN bytes - ? ELSE 0 END WHERE device_id = ?');
    for (const [deviceId, n] of freed) lower.run(n, n, deviceId);
    return deleted;
  }
}

interface Row { device_id: string; seq: number; n: number }
