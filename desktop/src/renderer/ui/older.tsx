// The end of a newest-first list the hub pages (captures, deployments, rollouts; docs/console.md): when
// the hub says older records exist (`next`), the view says so and "Show older" loads the next page
// (`?before=next`), as the audit log does. A view's refetch keeps the older pages loaded (paging.ts).
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import { refreshNewest, type Page } from '../paging.js';

export function OlderNote({ what, next, load }: { what: string; next: string | number | null; load: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (next === null) return null;
  const more = () => {
    setBusy(true);
    setError(null);
    load().then(() => setBusy(false), (e: unknown) => { setBusy(false); setError(errorText(e)); });
  };
  return (
    <p class="muted" role="status" aria-label={`Older ${what}`}>
      Older {what} are not shown.{' '}
      <button type="button" disabled={busy} onClick={more}>Show older</button>
      {error ? <> Could not load them: {error}</> : null}
    </p>
  );
}

/**
 * A view's paged list: `fetchPage(before)` (null: the newest page) runs again whenever `deps` change or
 * `retry` is called, keeping the older pages loaded; `showOlder` appends the next page; `patch` changes rows in place.
 */
export function usePaged<T, C>(fetchPage: (before: C | null) => Promise<Page<T, C>>, older: (a: T, b: T) => boolean, deps: unknown[]) {
  const [list, setList] = useState<Page<T, C> | { error: string } | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    fetchPage(null).then((p) => setList((s) => refreshNewest(s && 'rows' in s ? s : null, p, older)), (e: unknown) => setList({ error: errorText(e) }));
  }, [...deps, n]);
  const showOlder = async () => {
    const before = list && 'rows' in list ? list.next : null;
    if (before === null) return;
    const p = await fetchPage(before);
    // Appended only where it was asked for: a refetch in between that dropped the older pages moved the cursor.
    setList((s) => (s && 'rows' in s && s.next === before ? { rows: [...s.rows, ...p.rows], next: p.next } : s));
  };
  // A row changed where the view knows it (an older row is not fetched again with the newest page).
  const patch = (f: (row: T) => T) => setList((s) => (s && 'rows' in s ? { ...s, rows: s.rows.map(f) } : s));
  return { list, showOlder, patch, retry: () => setN((x) => x + 1) };
}
