// The append-only audit log: who did what to which target, when and why.
// This module only INSERTs and SELECTs; triggers in migration 1 refuse UPDATE and DELETE.
import { AUDIT_PAGE_DEFAULT, type AuditEntry, type AuditList, type AuditQuery, type LoggedAction } from '@edgefleet/shared';
import type { Db } from './db.js';
import type { Migration } from './migrations.js';

/**
 * A target's entries by index (hub.db migration 103): the console's rollout, device and model pages and
 * `edgefleet audit --target` ask for one target's entries, newest first, and without it every such read
 * scanned the whole log on the hub's event loop (~26 ms at 500,000 entries, 0.07 ms with it; one-off timing
 * with better-sqlite3 on this VM, not a bench figure).
 */
export const AUDIT_TARGET_MIGRATION: Migration = {
  version: 103,
  name: 'audit entries by target',
  sql: 'CREATE INDEX audit_target ON audit(target, id);',
};

export interface AuditRecord {
  actor: string;
  /** The acting token's id (the name alone is not unique across history). */
  actorId?: string | null;
  /** One of AUDIT_ACTIONS (shared/src/wire/audit-actions.ts): GET /audit?action= knows them all. */
  action: LoggedAction;
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
  private readonly listeners = new Set<(e: AuditEntry) => void>();
  constructor(private readonly db: Db) {}

  /**
   * Calls `fn` with each entry once it has committed (the live stream publishes them): appends inside
   * a transaction are looked up again after it, so an entry rolled back with its write is never reported.
   */
  onAppended(fn: (e: AuditEntry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private announce(id: number): void {
    // better-sqlite3 transactions are synchronous: a microtask runs after the outermost one ended.
    queueMicrotask(() => {
      let e: AuditEntry | undefined;
      try {
        e = this.query({ after: id - 1, limit: 1 })[0];
      } catch {
        return; // the store closed meanwhile
      }
      if (e?.id !== id) return;
      for (const l of this.listeners) l(e);
    });
  }

  append(r: AuditRecord): number {
    const res = this.db
      .prepare('INSERT INTO audit (at, actor, actor_id, action, target, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.at.toISOString(), r.actor, r.actorId ?? null, r.action, r.target, r.reason ?? null, JSON.stringify(r.details ?? null));
    const id = Number(res.lastInsertRowid);
    if (this.listeners.size) this.announce(id);
    return id;
  }

  /** Whether any entry carries `action` (an action this build does not record may be in an older log). */
  hasAction(action: string): boolean {
    return this.db.prepare('SELECT 1 AS one FROM audit WHERE action = ? LIMIT 1').get(action) !== undefined;
  }

  /** Matching entries in id order (oldest first unless `order: 'desc'`), at most `limit` (default 500). */
  query(q: Partial<AuditQuery>): AuditEntry[] {
    return this.select(q, q.limit ?? AUDIT_PAGE_DEFAULT);
  }

  /**
   * A page of GET /audit: `limit` entries and `next`, the id to pass as `after` (or `before` when
   * newest first) for the following page, null when none is left. One row more than asked is read to
   * know whether another page exists.
   */
  page(q: AuditQuery): AuditList {
    const rows = this.select(q, q.limit + 1);
    const entries = rows.slice(0, q.limit);
    return { entries, next: rows.length > q.limit ? (entries.at(-1)?.id ?? null) : null };
  }

  private select(q: Partial<AuditQuery>, limit: number): AuditEntry[] {
    const { sql, args } = auditSelect(q, limit);
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => ({
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

/** The statement and its parameters that read `q`'s entries, at most `limit` (AuditRepo; its test reads the plan). */
export function auditSelect(q: Partial<AuditQuery>, limit: number): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.after !== undefined) { where.push('id > ?'); args.push(q.after); }
  if (q.before !== undefined) { where.push('id < ?'); args.push(q.before); }
  if (q.actor) { where.push('actor = ?'); args.push(q.actor); }
  if (q.actorId) { where.push('actor_id = ?'); args.push(q.actorId); }
  if (q.action) { where.push('action = ?'); args.push(q.action); }
  if (q.target) { where.push('target = ?'); args.push(q.target); }
  if (q.since) { where.push('at >= ?'); args.push(new Date(q.since).toISOString()); }
  const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
  return { sql, args: [...args, limit] };
}
