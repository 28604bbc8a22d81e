// The banner saying the hub is unreachable or failing (hub-health.ts), and the note marking the view's data
// stale with its age; both render again every second while shown, and only then (docs/console.md "When the hub is unreachable").
import { hubDown, ageText, sinceText, type HubDown } from '../hub-health.js';
import { RETRY_MS } from '../live.js';
import { useClock } from './states.js';

const KIND = {
  unreachable: 'The hub is unreachable',
  failing: 'The hub answers, but with errors (it is running and cannot serve)',
} as const;

function Banner({ d, retryNow }: { d: HubDown; retryNow(): void }) {
  const now = useClock(1000);
  const wait = Math.ceil((d.retryAt - now) / 1000);
  return (
    // Only what does not tick is announced (what it is and since when; the last error, again when it changes): the
    // age and the countdown render every second, and in a live region a screen reader would read each one out.
    <div class={`hub-down is-${d.kind}`} role="region" aria-label="Hub status" data-testid="hub-down">
      <p><span role="alert"><strong>{KIND[d.kind]}</strong> since {sinceText(d.since)}</span> ({ageText(now - d.since)}). <span role="alert">Last error: {d.error}</span></p>
      <p>{wait > 0 ? `Retrying in ${wait} s (attempt ${d.attempt + 1}, backing off up to ${RETRY_MS.max / 1000} s).` : 'Retrying now…'} Actions are not sent until it answers.{' '}
        <button type="button" onClick={retryNow}>Retry now</button></p>
    </div>
  );
}

function Stale({ d }: { d: HubDown }) {
  const now = useClock(1000);
  return <p class="stale-note" data-testid="stale">Stale: shown as of {sinceText(d.since)}, {ageText(now - d.since)} old. It is refreshed when the hub is back.</p>;
}

export function HubDownBanner({ retryNow }: { retryNow(): void }) {
  const d = hubDown.value;
  return d ? <Banner d={d} retryNow={retryNow} /> : null;
}

/**
 * Said under a form's submit while the hub is down (its button disabled: a send would fail at once, NOT_SENT): the
 * action forms (ui/action.tsx) and Undeploy; `hubIsDown()` is when.
 */
export function NotSentWhileDown({ label }: { label: string }) {
  return <p class="error" role="status">{label}: not sent while the hub is down (the banner at the top says why); it can be sent once the hub is back</p>;
}

export const hubIsDown = (): boolean => hubDown.value !== null;

export function StaleNote() {
  const d = hubDown.value;
  return d ? <Stale d={d} /> : null;
}
