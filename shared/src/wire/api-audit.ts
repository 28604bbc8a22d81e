// REST responses and query of the hub's /api/v1/audit (issue 4): an entry of the audit log and its pages.
import { z } from 'zod';
import { Count, IsoTime } from './common.js';
import { QueryCount, QueryId } from './ids.js';

export const AuditEntry = z.object({
  id: Count,
  at: IsoTime,
  actor: z.string(),
  /** The id of the API or enrollment token that acted (names are unique, ids never reused); null in entries older than hub migration 4. */
  actorId: z.string().nullable(),
  action: z.string(),
  target: z.string(),
  reason: z.string().nullable(),
  details: z.unknown(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
/** The most entries one GET /audit answers (`?limit=`); 500 when not given. */
export const AUDIT_PAGE_MAX = 10000;
export const AUDIT_PAGE_DEFAULT = 500;
/**
 * GET /audit: a page of entries in id order, and `next`, the cursor of the following page (pass it as
 * `after`, or as `before` with `order=desc`), null when no matching entry is left. Ids are the audit
 * table's own and never reused, so paging by them loses and repeats nothing (timestamps are shared).
 */
export const AuditList = z.object({ entries: z.array(AuditEntry), next: Count.nullable() });
export type AuditList = z.infer<typeof AuditList>;
export const AuditQuery = z.object({
  actor: z.string().optional(),
  actorId: z.string().optional(),
  action: z.string().optional(),
  target: z.string().optional(),
  since: IsoTime.optional(),
  /** Only entries with a higher id (the previous page's `next`, oldest first). */
  after: QueryId('after', 'audit entry').optional(),
  /** Only entries with a lower id (the previous page's `next` with `order=desc`). */
  before: QueryId('before', 'audit entry').optional(),
  /** `asc` (default): oldest first; `desc`: newest first. */
  order: z.enum(['asc', 'desc'], { error: (iss) => `order "${String(iss.input)}" (query parameter order): expected asc (oldest first) or desc (newest first)` }).default('asc'),
  limit: QueryCount('limit', AUDIT_PAGE_MAX).default(AUDIT_PAGE_DEFAULT),
}).strict();
export type AuditQuery = z.infer<typeof AuditQuery>;
