// The end of a newest-first list the hub pages (captures, deployments, rollouts; docs/console.md): when
// the hub says older records exist (`next`), the view says so and "Show older" loads the next page
// (`?before=next`), as the audit log does.
import { useState } from 'preact/hooks';
import { errorText } from '../api.js';

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
