// The append-only audit log: who did what to which target, when and why.
// This module only INSERTs and SELECTs; triggers in migration 1 refuse UPDATE and DELETE.
import type { AuditEntry, AuditQuery } from '@edgefleet/shared';
import type { Db } from './db.js';

export interface AuditRecord {
  actor: string;
  /** The acting token's id (the name alone is not unique across history). */
  actorId?: string | null;
  action: string;
  target: string;
  reason?: string | null | undefined;
  details?: unknown;
  at: Date;
}

interface Row {
  id: number;
  at: string;
  actor: string;
  actor_id: string | null;
  action: string;
  target: string;
  reason: string | null;
  details: string;
}

export class AuditRepo {
  constructor(private readonly db: Db) {}

  append(r: AuditRecord): number {
    const res = this.db
      .prepare('INSERT INTO audit (at, actor, actor_id, action, target, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.at.toISOString(), r.actor, r.actorId ?? null, r.action, r.target, r.reason ?? null, JSON.stringify(r.details ?? null));
    return Number(res.lastInsertRowid);
  }

  query(q: Partial<AuditQuery>): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.actor) { where.push('actor = ?'); args.push(q.actor); }
    if (q.actorId) { where.push('actor_id = ?'); args.push(q.actorId); }
    if (q.action) { where.push('action = ?'); args.push(q.action); }
    if (q.target) { where.push('target = ?'); args.push(q.target); }
    if (q.since) { where.push('at >= ?'); args.push(new Date(q.since).toISOString()); }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit ?? 500) as Row[]).map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      actorId: r.actor_id,
      action: r.action,
      target: r.target,
      reason: r.reason,
      details: JSON.parse(r.details) as unknown,
    }));
  }
}
