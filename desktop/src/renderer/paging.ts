// The newest-first lists the hub pages (captures, deployments, rollouts; docs/console.md "Using it"): a live
// event or a retry fetches the newest page again, and the older pages the operator loaded with "Show
// older" stay below it, their cursor unchanged.

/** Rows shown newest first and the cursor of the older rows not loaded (null: every one is). */
export interface Page<T, C> {
  rows: T[];
  next: C | null;
}

/**
 * `page` (the newest rows, fetched again) with the rows of `shown` older than its last row below it,
 * keeping `shown`'s cursor. `older(a, b)`: a comes after b (newest first). When the new page does not
 * reach the newest row shown (more new rows arrived than a page holds), rows between may be missing:
 * then only the new page is shown, with its own cursor ("Show older" loads the rest).
 */
export function refreshNewest<T, C>(shown: Page<T, C> | null, page: Page<T, C>, older: (a: T, b: T) => boolean): Page<T, C> {
  const last = page.rows.at(-1);
  if (!shown || last === undefined || page.next === null) return page;
  const kept = shown.rows.filter((r) => older(r, last));
  const reaches = shown.rows.some((r) => !older(r, last));
  return kept.length && reaches ? { rows: [...page.rows, ...kept], next: shown.next } : page;
}

/** `older` for lists ordered by a numeric id (deployments, captures). */
export const byId = (a: { id: number }, b: { id: number }): boolean => a.id < b.id;
