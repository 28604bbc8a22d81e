// Desired-state documents per device with their seq (docs/architecture.md section 4):
// the seq only grows, so a replayed or older document is never the latest.
import { AppError, type DesiredDocument } from '@edgefleet/shared';
import type { Db } from './db.js';
import { InList } from './in-list.js';

/** Documents kept per device: the newest (what it runs, what is on its way) and a few before, for a refusal's lookup. */
export const KEEP_DOCUMENTS = 16;
/** A device is pruned once it holds this many more, so most runs delete nothing. */
const PRUNE_SLACK = 8;

export class DesiredRepo {
  // On the connect path (every device's desired subscription asks for its latest document): prepared once.
  private latestStmt: ReturnType<Db['prepare']> | null = null;
  // lastSeq and put run once per document signed (a deployment to 5,000 devices: 5,000 each), prepared once.
  private lastSeqStmt: ReturnType<Db['prepare']> | null = null;
  private insertStmt: ReturnType<Db['prepare']> | null = null;
  private lastSeqsIn: InList | null = null;

  constructor(private readonly db: Db) {}

  lastSeq(deviceId: string): number {
    const r = (this.lastSeqStmt ??= this.db.prepare('SELECT MAX(seq) AS s FROM desired_documents WHERE device_id = ?')).get(deviceId) as { s: number | null };
    return r.s ?? 0;
  }

  /** lastSeq of each of `deviceIds` (a device with no document: absent), a chunk of them a statement. */
  lastSeqs(deviceIds: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    const q = (this.lastSeqsIn ??= new InList(this.db, (n) => `SELECT device_id, MAX(seq) AS s FROM desired_documents WHERE device_id IN (${InList.marks(n)}) GROUP BY device_id`));
    for (const [st, ids] of q.chunks(deviceIds)) for (const r of st.all(...ids) as Array<{ device_id: string; s: number }>) out.set(r.device_id, Number(r.s));
    return out;
  }

  /**
   * Stores a signed document; its seq must be higher than every stored one for the device. One statement, the check in
   * it (no savepoint and second read per document: docs/decisions/0188-deployment-commit-set-based.md).
   */
  put(doc: DesiredDocument): void {
    const { deviceId, seq, issued, expires } = doc.signed;
    const stored = (this.insertStmt ??= this.db.prepare(`INSERT INTO desired_documents (device_id, seq, document, issued_at, expires_at) SELECT ?, ?, ?, ?, ?
      WHERE NOT EXISTS (SELECT 1 FROM desired_documents WHERE device_id = ? AND seq >= ?)`)).run(deviceId, seq, JSON.stringify(doc), issued, expires, deviceId, seq).changes;
    if (stored === 0) throw new AppError('CONFLICT', `desired document seq ${seq} for ${deviceId} is not above the last stored seq ${this.lastSeq(deviceId)}`);
  }

  /**
   * Deletes each device's documents older than its newest `keep` (renewals re-sign every device's
   * document weekly, and every deployment, config change and capture issues one: kept for ever, 10,000
   * devices held ~1 GB more a year). Only devices past keep + PRUNE_SLACK are touched; returns how many
   * documents went. The newest stays, so seqs keep growing (`put` compares with it).
   */
  prune(keep = KEEP_DOCUMENTS): number {
    const over = this.db.prepare('SELECT device_id AS id FROM desired_documents GROUP BY device_id HAVING COUNT(*) > ?').all(keep + PRUNE_SLACK) as Array<{ id: string }>;
    const cut = this.db.prepare('SELECT seq FROM desired_documents WHERE device_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck(true);
    const del = this.db.prepare('DELETE FROM desired_documents WHERE device_id = ? AND seq <= ?');
    let n = 0;
    for (const { id } of over) {
      const seq = cut.get(id, Math.max(1, keep)) as number | undefined;
      if (seq !== undefined) n += del.run(id, seq).changes;
    }
    return n;
  }

  /** The stored document with this seq (the one a device refused), if the hub issued it. */
  bySeq(deviceId: string, seq: number): DesiredDocument | undefined {
    const r = this.db.prepare('SELECT document FROM desired_documents WHERE device_id = ? AND seq = ?').get(deviceId, seq) as { document: string } | undefined;
    return r ? (JSON.parse(r.document) as DesiredDocument) : undefined;
  }

  /**
   * Devices (not revoked) whose latest document has a seq above the one they last reported applying,
   * with that document's seq and issue time: what is still on its way to them (deployments/resync.ts).
   */
  unapplied(): Array<{ deviceId: string; seq: number; issuedAt: string }> {
    // The reported seq is compared here, not with json_extract: the same SQL on SQLite and PostgreSQL
    // (docs/decisions/0040-postgresql.md).
    const rows = this.db.prepare(
      `SELECT d.id AS "deviceId", m.seq AS seq, m.issued_at AS "issuedAt", d.reported AS reported
       FROM devices d JOIN desired_documents m ON m.device_id = d.id
       WHERE d.revoked_at IS NULL AND m.seq = (SELECT MAX(seq) FROM desired_documents WHERE device_id = d.id)
       ORDER BY d.id`,
    ).all() as Array<{ deviceId: string; seq: number; issuedAt: string; reported: string | null }>;
    return rows
      .filter((r) => {
        const applied = r.reported ? (JSON.parse(r.reported) as { lastAppliedSeq?: unknown }).lastAppliedSeq : undefined;
        return r.seq > (typeof applied === 'number' ? applied : 0);
      })
      .map(({ deviceId, seq, issuedAt }) => ({ deviceId, seq, issuedAt }));
  }

  latest(deviceId: string): DesiredDocument | undefined {
    const r = (this.latestStmt ??= this.db.prepare('SELECT document FROM desired_documents WHERE device_id = ? ORDER BY seq DESC LIMIT 1')).get(deviceId) as
      | { document: string }
      | undefined;
    return r ? (JSON.parse(r.document) as DesiredDocument) : undefined;
  }
}
