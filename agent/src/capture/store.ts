// agent.db tables of data capture (migration 400; docs/agent.md "Data capture"): each capture this box
// was asked for (its spec from the desired document, status, rows taken, next chunk seq) and the chunks
// waiting for the hub's ack — rows already sealed to the operators' capture key, never plaintext.
import type { DesiredCapture } from '@edgefleet/shared';
import { withSecureDelete, type SealedRows } from '@edgefleet/shared/core';
import type { Db, Migration } from '../store/db.js';

const SQL = `
CREATE TABLE IF NOT EXISTS captures (
  id INTEGER PRIMARY KEY,
  spec TEXT NOT NULL,
  status TEXT NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  next_seq INTEGER NOT NULL DEFAULT 1,
  reason TEXT,
  updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS capture_chunks (
  capture_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  end_status TEXT,
  bytes INTEGER NOT NULL,
  sealed TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (capture_id, seq)
);
`;

/** Agent migration 400 (ids 400-409 are data capture's). */
export const captureMigration: Migration = { id: 400, name: 'data capture: captures and sealed chunks', up(db) { db.exec(SQL); } };

export type CaptureStatus = 'capturing' | 'done' | 'budget_full' | 'stopped' | 'expired' | 'refused';

export interface CaptureRecord { id: number; spec: DesiredCapture; status: CaptureStatus; rows: number; nextSeq: number; reason: string | null }

/** `reason`: on a capture's last chunk, why it ended (the capture's reason as stored). */
export interface StoredChunk { captureId: number; seq: number; rows: number; end: string | null; reason: string | null; sealed: SealedRows }

export class CaptureStore {
  constructor(private readonly db: Db) {
    db.exec(SQL);
  }

  all(): CaptureRecord[] {
    return (this.db.prepare('SELECT id, spec, status, rows, next_seq, reason FROM captures ORDER BY id').all() as
      Array<{ id: number; spec: string; status: CaptureStatus; rows: number; next_seq: number; reason: string | null }>)
      .map((r) => ({ id: r.id, spec: JSON.parse(r.spec) as DesiredCapture, status: r.status, rows: r.rows, nextSeq: r.next_seq, reason: r.reason }));
  }

  add(spec: DesiredCapture, at: Date): void {
    this.db.prepare("INSERT OR IGNORE INTO captures (id, spec, status, updated) VALUES (?, ?, 'capturing', ?)").run(spec.id, JSON.stringify(spec), at.toISOString());
  }

  setStatus(id: number, status: CaptureStatus, reason: string | null, at: Date): void {
    this.db.prepare('UPDATE captures SET status = ?, reason = ?, updated = ? WHERE id = ?').run(status, reason, at.toISOString(), id);
  }

  /** Rows stored in chunks of the capture so far (acked or not). */
  rowsOf(id: number): number {
    return (this.db.prepare('SELECT rows FROM captures WHERE id = ?').get(id) as { rows: number } | undefined)?.rows ?? 0;
  }

  /** Ciphertext bytes held (the budget counts these). */
  heldBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM capture_chunks').get() as { n: number }).n;
  }

  /**
   * Stores a sealed chunk with the next seq of its capture and adds its rows, in one transaction; a last chunk
   * (`end`) sets the capture's status and `reason` in it too, so a kill -9 or a full disk never leaves a last
   * chunk stored under a capture still `capturing` (which a restart would resume past it).
   */
  addChunk(id: number, rows: number, end: CaptureStatus | null, sealed: SealedRows, at: Date, reason?: string): number {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT next_seq FROM captures WHERE id = ?').get(id) as { next_seq: number } | undefined;
      const seq = r?.next_seq ?? 1;
      const text = JSON.stringify(sealed);
      this.db.prepare('INSERT INTO capture_chunks (capture_id, seq, rows, end_status, bytes, sealed, created) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, seq, rows, end, text.length, text, at.toISOString());
      this.db.prepare('UPDATE captures SET next_seq = ?, rows = rows + ?, updated = ? WHERE id = ?').run(seq + 1, rows, at.toISOString(), id);
      if (end) this.setStatus(id, end, reason ?? null, at);
      return seq;
    })();
  }

  /** Chunks waiting for an ack, oldest first. */
  pending(limit: number): StoredChunk[] {
    return (this.db.prepare(`SELECT c.capture_id, c.seq, c.rows, c.end_status, CASE WHEN c.end_status IS NULL THEN NULL ELSE k.reason END AS reason, c.sealed
      FROM capture_chunks c LEFT JOIN captures k ON k.id = c.capture_id ORDER BY c.created, c.capture_id, c.seq LIMIT ?`).all(limit) as
      Array<{ capture_id: number; seq: number; rows: number; end_status: string | null; reason: string | null; sealed: string }>)
      .map((r) => ({ captureId: r.capture_id, seq: r.seq, rows: r.rows, end: r.end_status, reason: r.reason, sealed: JSON.parse(r.sealed) as SealedRows }));
  }

  pendingCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM capture_chunks').get() as { n: number }).n;
  }

  /** Deletes the chunks the hub stored, with secure_delete: their ciphertext is zeroed, not left in free pages. */
  acked(id: number, ranges: ReadonlyArray<readonly [number, number]>): number {
    const del = this.db.prepare('DELETE FROM capture_chunks WHERE capture_id = ? AND seq BETWEEN ? AND ?');
    let n = 0;
    withSecureDelete(this.db, () => this.db.transaction(() => {
      for (const [a, b] of ranges) n += del.run(id, a, b).changes;
    })());
    return n;
  }

  /**
   * The hub holds other chunks under `taken` (this agent.db was put back from a backup, or the capture's
   * record was lost, and numbered again from below; docs/agent.md "Data capture"): the held chunks under
   * those seqs move above the highest seq either side gave, in their order, and the next chunk follows them.
   * Returns the moves, [from, to].
   */
  moveTaken(id: number, taken: ReadonlyArray<readonly [number, number]>, hubMax: number): Array<[number, number]> {
    return this.db.transaction(() => {
      const own = (this.db.prepare('SELECT next_seq FROM captures WHERE id = ?').get(id) as { next_seq: number } | undefined)?.next_seq ?? 1;
      const sel = this.db.prepare('SELECT seq FROM capture_chunks WHERE capture_id = ? AND seq BETWEEN ? AND ? ORDER BY seq');
      const upd = this.db.prepare('UPDATE capture_chunks SET seq = ? WHERE capture_id = ? AND seq = ?');
      const moved: Array<[number, number]> = [];
      let next = Math.max(hubMax, own - 1); // above every seq held here and at the hub: no clash
      for (const [a, b] of taken) {
        for (const { seq } of sel.all(id, a, b) as Array<{ seq: number }>) {
          upd.run(++next, id, seq);
          moved.push([seq, next]);
        }
      }
      this.db.prepare('UPDATE captures SET next_seq = MAX(next_seq, ?) WHERE id = ?').run(next + 1, id);
      return moved;
    })();
  }

  /**
   * The hub holds `hubRows` of the capture (its `taken` ack): the rows counted as taken become at least
   * those plus the rows of the chunks held here (not at the hub). Returns the count before and after.
   */
  countFromHub(id: number, hubRows: number): { before: number; after: number } {
    return this.db.transaction(() => {
      const before = this.rowsOf(id);
      const held = (this.db.prepare('SELECT COALESCE(SUM(rows), 0) AS n FROM capture_chunks WHERE capture_id = ?').get(id) as { n: number }).n;
      this.db.prepare('UPDATE captures SET rows = MAX(rows, ?) WHERE id = ?').run(hubRows + held, id);
      return { before, after: this.rowsOf(id) };
    })();
  }

  /** The hub refused the capture: what is held of it is dropped (zeroed, as acked chunks are). */
  dropCapture(id: number): number {
    return withSecureDelete(this.db, () => this.db.prepare('DELETE FROM capture_chunks WHERE capture_id = ?').run(id).changes);
  }

  /** The capture has ended and the box holds none of its chunks: nothing of it is left to upload. */
  finished(id: number): boolean {
    return !!this.db.prepare("SELECT 1 FROM captures WHERE id = ? AND status != 'capturing' AND NOT EXISTS (SELECT 1 FROM capture_chunks WHERE capture_id = ?)").get(id, id);
  }
}
