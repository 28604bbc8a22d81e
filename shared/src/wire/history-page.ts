// The query of the hub's lists that grow with history (GET /captures, /deployments, /rollouts, /tokens,
// /enrollment-tokens; docs/hub.md "REST API"): newest first, `limit` a page (HISTORY_PAGE) and `before`,
// the previous page's `next`. Numeric ids page by id; records whose ids are drawn at random (rollouts,
// API and enrollment tokens) by (created time, id).
import { z } from 'zod';
import { IsoTime } from './common.js';
import { QueryCount, QueryId, shownId } from './ids.js';
import { HISTORY_PAGE } from '../pages.js';

const limit = QueryCount('limit', HISTORY_PAGE.maxLimit).default(HISTORY_PAGE.defaultLimit);

/** `?limit=&before=ID` of a list of numbered records (`what` names one in errors, e.g. "capture"). */
export function HistoryQuery(what: string) {
  return z.object({ limit, before: QueryId('before', what).optional() }).strict();
}
export type HistoryQuery = z.output<ReturnType<typeof HistoryQuery>>;

/** A page of records with random ids ends at this one: the next page holds those created before it (ties: a lower id). */
export function createdCursor(created: string, id: string): string {
  return `${created},${id}`;
}

/**
 * `?before=` of a list paged by (created time, id): a page's `next`, read back into the (created, id)
 * of the row the next page follows. `what` names a record in the error, `id` matches its ids and
 * `example` is one (e.g. "rollout", /ro-[0-9a-f]{10}/, "ro-1a2b3c4d5e").
 */
export function CreatedCursor(what: string, id: RegExp, example: string) {
  const re = new RegExp(`^(.+),(${id.source})$`);
  const expected = `expected the \`next\` of the page before (${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what}'s created time as stored and its id, e.g. 2026-10-01T00:05:00.000Z,${example})`;
  return z.string().transform((raw, ctx) => {
    const m = re.exec(raw);
    if (m && IsoTime.safeParse(m[1]).success) return { created: m[1] as string, id: m[2] as string };
    ctx.addIssue({ code: 'custom', message: `before "${shownId(raw)}" (query parameter before): ${expected}` });
    return z.NEVER;
  });
}
export type CreatedCursor = z.output<ReturnType<typeof CreatedCursor>>;

/** `?limit=&before=CREATED,ID` of a list paged by (created time, id) (CreatedCursor). */
export function CreatedListQuery(what: string, id: RegExp, example: string) {
  return z.object({ limit, before: CreatedCursor(what, id, example).optional() }).strict();
}
export type CreatedListQuery = z.output<ReturnType<typeof CreatedListQuery>>;

export const RolloutListQuery = CreatedListQuery('rollout', /ro-[0-9a-f]{10}/, 'ro-1a2b3c4d5e');
export type RolloutListQuery = CreatedListQuery;
/** GET /tokens?limit=&before= */
export const TokenListQuery = CreatedListQuery('API token', /tok_[0-9a-f]{16}/, 'tok_1a2b3c4d5e6f7a8b');
/** GET /enrollment-tokens?limit=&before= */
export const EnrollmentTokenListQuery = CreatedListQuery('enrollment token', /et_[0-9a-f]{16}/, 'et_1a2b3c4d5e6f7a8b');
