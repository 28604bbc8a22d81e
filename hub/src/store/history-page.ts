// A page of a newest-first list that grows with history (GET /captures, /deployments, /rollouts,
// /tokens, /enrollment-tokens; docs/hub.md "REST API"): the repositories read one row more than `limit`,
// and that row says whether an older page exists; `next` is the cursor of the page's last row, null
// after the last page.
import { createdCursor, type CreatedCursor } from '@edgefleet/shared';
import type { Db } from './db.js';

export function pageOf<T, C>(rows: readonly T[], limit: number, cursor: (last: T) => C): { rows: T[]; next: C | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next: rows.length > limit && last !== undefined ? cursor(last) : null };
}

/**
 * A page of `table`'s rows with random ids, newest first (created_at, then id, both descending): `limit`
 * of them after the `before` row in that order, and `next`, the last one's `CREATED,ID` (createdCursor) when more follow.
 */
export function createdPage<R extends { created_at: string; id: string }>(db: Db, table: string, q: { limit: number; before?: CreatedCursor | undefined }): { rows: R[]; next: string | null } {
  const b = q.before;
  const rows = db.prepare(`SELECT * FROM ${table}${b ? ' WHERE created_at < ? OR (created_at = ? AND id < ?)' : ''} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .all(...(b ? [b.created, b.created, b.id] : []), q.limit + 1) as R[];
  return pageOf(rows, q.limit, (r) => createdCursor(r.created_at, r.id));
}
