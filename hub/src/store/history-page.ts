// A page of a newest-first list that grows with history (GET /captures, /deployments, /rollouts;
// docs/hub.md "REST API"): the repositories read one row more than `limit`, and that row says whether an
// older page exists; `next` is the cursor of the page's last row, null after the last page.

export function pageOf<T, C>(rows: readonly T[], limit: number, cursor: (last: T) => C): { rows: T[]; next: C | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next: rows.length > limit && last !== undefined ? cursor(last) : null };
}
