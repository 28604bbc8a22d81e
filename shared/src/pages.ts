// Reading a paged hub list (GET /devices/{id}/windows and /events: docs/hub.md "REST API") by
// following each page's `next` as `?after=` until it is null, or until `maxRows` rows are held. No zod,
// no Node modules: the console's renderer uses it too (@edgefleet/shared/browser).

/**
 * GET /devices/{id}/windows and /events answer a page at a time: at most `limit` rows (default and most
 * here) and at most the hub's budget of characters; `next` continues after the page's last row (its
 * time as stored and its seq, `TIME,SEQ`) and is null after the last page.
 */
export const TELEMETRY_PAGE = { defaultLimit: 500, maxLimit: 5000 } as const;

/** One page as the hub answers it, its rows under their list's name. */
export interface RowPage<R> {
  rows: R[];
  next: string | null;
}

/** `path` (which may hold a query) with `?after=` set to a page's `next`; unchanged for null. */
export function pagePath(path: string, after: string | null): string {
  return after === null ? path : `${path}${path.includes('?') ? '&' : '?'}after=${encodeURIComponent(after)}`;
}

/**
 * Every row from the first page on, a page at a time, stopping after the page that brings `maxRows`
 * or more; `next` is where the rows left off (null: these are all of them).
 */
export async function readPages<R>(page: (after: string | null) => Promise<RowPage<R>>, maxRows = Number.POSITIVE_INFINITY): Promise<RowPage<R>> {
  const rows: R[] = [];
  let after: string | null = null;
  do {
    const p = await page(after);
    rows.push(...p.rows);
    after = p.rows.length > 0 ? p.next : null; // an empty page ends it, whatever it says
  } while (after !== null && rows.length < maxRows);
  return { rows, next: after };
}

/**
 * The hub's lists that grow with history (GET /captures, /deployments, /rollouts: docs/hub.md "REST
 * API") answer newest first, at most `limit` a page (default and most here); `next` is the cursor of
 * the following (older) page, passed back as `?before=`, null after the last page.
 */
export const HISTORY_PAGE = { defaultLimit: 100, maxLimit: 1000 } as const;

/** `path` with `?before=` set to a page's `next` (the older page of a newest-first list); unchanged for null. */
export function olderPagePath(path: string, before: string | number | null): string {
  return before === null ? path : `${path}${path.includes('?') ? '&' : '?'}before=${encodeURIComponent(String(before))}`;
}

/**
 * GET /devices answers a page at a time by device id, ascending: at most `limit` devices (default and
 * most here; ~450 bytes each with a model reported, so a page is about 0.5 MB); `next` is the page's
 * last id, passed back as `?after=`, and null after the last page (docs/hub.md "REST API").
 */
export const DEVICE_PAGE = { defaultLimit: 1000, maxLimit: 1000 } as const;
