// The clocks agents name, as the hub read them, in the hub's database (docs/decisions/0059-clock-marks.md):
// per device the last MARKS_PER_DEVICE marks with the highest offset read of each, so a backlog of an earlier
// clock that arrives first after a hub restart is still placed by that clock. `read_order` grows with each
// write and a mark is written whenever it becomes the device's present clock, so the highest is the present
// one and the lowest the first evicted, in the order the hub keeps in memory (clock-marks.ts).
import type { Db } from '../store/db.js';
import type { HubStatement as Statement } from '../store/hub-db.js';
import type { Migration } from '../store/migrations.js';

/** Marks kept per device: a box that steps more often than this between reports is placed by decision 0057's rules. */
export const MARKS_PER_DEVICE = 8;

export const CLOCK_MARKS_MIGRATION: Migration = {
  version: 6,
  name: 'device clock marks',
  // A device's marks go with it (ON DELETE CASCADE) should devices ever be deleted; today they are only revoked.
  sql: `
    CREATE TABLE device_clock_marks (
      device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
      mark TEXT NOT NULL,
      offset_ms INTEGER NOT NULL,
      read_order INTEGER NOT NULL,
      written_at TEXT NOT NULL,
      PRIMARY KEY (device_id, mark)
    );
  `,
};

/** One mark as read: the highest offset (device time − hub receive time) of its readings. */
export interface StoredMark {
  mark: string;
  offsetMs: number;
}

/** A write: the mark is the device's present clock now, with this highest offset; `fresh` when the hub had not seen it. */
export interface MarkWrite extends StoredMark {
  deviceId: string;
  fresh: boolean;
  at: string;
}

export class ClockMarksRepo {
  private loadStmt: Statement | null = null;
  private upsertStmt: Statement | null = null;
  private evictStmt: Statement | null = null;
  private tx: ((batch: MarkWrite[]) => void) | null = null;

  constructor(private readonly db: Db) {}

  /** A device's marks, the oldest first and the present one last (at most MARKS_PER_DEVICE). */
  load(deviceId: string): StoredMark[] {
    const rows = (this.loadStmt ??= this.db.prepare(
      'SELECT mark, offset_ms FROM device_clock_marks WHERE device_id = ? ORDER BY read_order DESC LIMIT ?',
    )).all(deviceId, MARKS_PER_DEVICE) as Array<{ mark: string; offset_ms: number }>;
    return rows.reverse().map((r) => ({ mark: r.mark, offsetMs: Number(r.offset_ms) }));
  }

  /**
   * The writes in one transaction, in order. An offset never goes down (another hub sharing the database may
   * have read a higher one); a fresh mark evicts the device's oldest past MARKS_PER_DEVICE. A device not in the
   * devices table is skipped: ingest reads authenticated devices only, so that is a test's or a removed row.
   */
  write(batch: readonly MarkWrite[]): void {
    const upsert = (this.upsertStmt ??= this.db.prepare(
      `INSERT INTO device_clock_marks (device_id, mark, offset_ms, read_order, written_at)
       SELECT ?, ?, ?, (SELECT COALESCE(MAX(read_order), 0) + 1 FROM device_clock_marks WHERE device_id = ?), ?
       WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?)
       ON CONFLICT (device_id, mark) DO UPDATE SET
         offset_ms = CASE WHEN excluded.offset_ms > device_clock_marks.offset_ms THEN excluded.offset_ms ELSE device_clock_marks.offset_ms END,
         read_order = excluded.read_order, written_at = excluded.written_at`,
    ));
    const evict = (this.evictStmt ??= this.db.prepare(
      `DELETE FROM device_clock_marks WHERE device_id = ? AND mark NOT IN
       (SELECT mark FROM device_clock_marks WHERE device_id = ? ORDER BY read_order DESC LIMIT ?)`,
    ));
    this.tx ??= this.db.transaction((b: MarkWrite[]) => {
      for (const w of b) {
        upsert.run(w.deviceId, w.mark, w.offsetMs, w.deviceId, w.at, w.deviceId);
        if (w.fresh) evict.run(w.deviceId, w.deviceId, MARKS_PER_DEVICE);
      }
    });
    this.tx([...batch]);
  }
}
