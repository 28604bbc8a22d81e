// What a view loaded from the hub, kept when a refetch of it fails (a 503, the hub restarting): the view
// shows it marked "could not refresh … (shown as of TIME): CODE: …" with Retry instead of replacing it,
// and any form open on it, with an error (docs/console.md "Using it"). Only the newest request's answer
// counts. A 404 (the hub no longer has it) replaces it, with what the hub says is missing (ui/missing.tsx).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorText } from '../api.js';
import { missingOf, type Missing } from './missing.js';

export interface Refetched<T> {
  /** The latest value loaded (null before the first, or after a 404). */
  value: T | null;
  /** When `value` was loaded (ISO). */
  at: string | null;
  /** Why the latest request failed ("CODE: message"), else null. */
  error: string | null;
  /** What the hub's 404 named as missing ({kind, id}), else null. */
  missing: Missing | null;
  retry(): void;
  /** Shows `value`, as the hub answered a write with it (a capture stopped); an older load under way no longer counts. */
  set(value: T): void;
}

/**
 * `load` runs again whenever `deps` change; `what` names what is loaded (a filter's value): when it changes,
 * what was shown is dropped rather than shown as another filter's answer.
 */
export function useRefetched<T>(load: () => Promise<T>, deps: unknown[], what: unknown = null): Refetched<T> {
  const [s, setS] = useState<{ value: T | null; at: string | null; error: string | null; missing: Missing | null }>({ value: null, at: null, error: null, missing: null });
  const [n, setN] = useState(0);
  const latest = useRef(0);
  const shown = useRef(what);
  useEffect(() => {
    const mine = ++latest.current;
    if (shown.current !== what) {
      shown.current = what;
      setS({ value: null, at: null, error: null, missing: null });
    }
    load().then(
      (value) => { if (mine === latest.current) setS({ value, at: new Date().toISOString(), error: null, missing: null }); },
      (e: unknown) => {
        if (mine !== latest.current) return;
        const error = errorText(e);
        setS((p) => (e instanceof ApiError && e.status === 404 ? { value: null, at: null, error, missing: missingOf(e) } : { ...p, error }));
      });
  }, [...deps, what, n]);
  return { ...s, retry: () => setN((x) => x + 1), set: (value) => { latest.current++; setS({ value, at: new Date().toISOString(), error: null, missing: null }); } };
}
