// Loading, empty and error states: every view shows one of these rather than a blank area.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Refetched } from './refetched.js';
import { MissingBox } from './missing.js';
import type { Loaded, Read } from '../store.js';

export function Loading({ what }: { what: string }) {
  return <p class="state loading" role="status" aria-live="polite">Loading {what}…</p>;
}

/** A write sent and not yet answered (`what`: the action), said where its button is; nothing when `what` is empty. */
export function Busy({ what }: { what: string | false | null }) {
  return what ? <span class="muted" role="status" aria-busy="true">{what}: waiting for the hub…</span> : null;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

export function ErrorBox({ error, retry }: { error: string; retry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <span>{error}</span>
      {retry ? <button type="button" onClick={retry}>Retry</button> : null}
    </div>
  );
}

/**
 * Why the latest load of `what` ("the alerts", "audio-energy@1.0.0") failed, with Retry (ui/refetched.ts): what was loaded
 * before stays shown below it, with any form open on it; nothing loaded yet, it says so instead; the hub saying it does
 * not have it (a 404 naming its kind), which thing is missing, with a link to its list (ui/missing.tsx).
 */
export function RefetchFailed<T>({ what, r }: { what: string; r: Refetched<T> }) {
  if (r.missing) return <MissingBox m={r.missing} />;
  if (!r.error) return null;
  return <ErrorBox error={r.value ? `could not refresh ${what} (shown as of ${time(r.at)}): ${r.error}` : `could not load ${what}: ${r.error}`} retry={r.retry} />;
}

/**
 * A list the store keeps (models, deployments) where a view shows it: loading, why it could not be loaded, or, above
 * the list read before, why its reload failed (the list and a form open on it stay); nothing once it is read.
 */
export function ListLoad<T>({ what, list, read, retry }: { what: string; list: Loaded<T>; read: Read; retry(): void }) {
  return list === null ? <Loading what={what} /> : 'error' in (list as object) ? <ErrorBox error={`could not load ${what}: ${(list as { error: string }).error}`} retry={retry} />
    : read.error ? <ErrorBox error={`could not refresh the ${what} (shown as of ${time(read.at)}): ${read.error}`} retry={retry} /> : null;
}

/** A deprecated version (`edgefleet model deprecate`), said first on its page in the models view and in the drift view. */
export function Deprecated({ at, reason, testid }: { at?: string; reason: string | null; testid: string }) {
  return <p class="warn" data-testid={testid}>⚠ Deprecated{at ? ` at ${time(at)}` : ''} ({reason ?? 'no reason given'}): no longer assignable; the devices running it keep it until moved to another version.</p>;
}

/** How often a view showing "5m ago" renders again, so the text stays true while nothing else changes. */
export const AGO_REFRESH_MS = 10_000;

/** Renders the calling view again every `ms`; returns the time of the latest render. */
export function useClock(ms = AGO_REFRESH_MS): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), ms); return () => clearInterval(t); }, [ms]);
  return now;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function time(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—';
}
