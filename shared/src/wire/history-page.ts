// The query of the hub's lists that grow with history (GET /captures, /deployments, /rollouts; docs/hub.md
// "REST API"): newest first, `limit` a page (HISTORY_PAGE) and `before`, the previous page's `next`.
// Numeric ids page by id; rollouts, whose ids are drawn at random, by (created time, id).
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

const ROLLOUT_CURSOR_RE = /^(.+),(ro-[0-9a-f]{10})$/;
const ROLLOUT_CURSOR_EXPECTED = 'expected the `next` of the page before (a rollout\'s created time as stored and its id, e.g. 2026-10-01T00:05:00.000Z,ro-1a2b3c4d5e)';

/** A page of rollouts ends at this one: the next page holds those created before it (ties: a lower id). */
export function rolloutCursor(created: string, id: string): string {
  return `${created},${id}`;
}

/** `?before=` of GET /rollouts: a page's `next`, read back into the (created, id) of the row the next page follows. */
export const RolloutCursor = z.string().transform((raw, ctx) => {
  const m = ROLLOUT_CURSOR_RE.exec(raw);
  if (m && IsoTime.safeParse(m[1]).success) return { created: m[1] as string, id: m[2] as string };
  ctx.addIssue({ code: 'custom', message: `before "${shownId(raw)}" (query parameter before): ${ROLLOUT_CURSOR_EXPECTED}` });
  return z.NEVER;
});
export type RolloutCursor = z.output<typeof RolloutCursor>;

export const RolloutListQuery = z.object({ limit, before: RolloutCursor.optional() }).strict();
export type RolloutListQuery = z.output<typeof RolloutListQuery>;
