// Whether the hub is there, as the console knows it from its live stream (live.ts): when the stream is lost
// because the hub is unreachable or answers with errors of its own, `hubDown` says since when (the hub's last
// answer: what the views show is as of then), the last error and the next attempt. The shell shows it as a
// banner with "Retry now" and marks the view stale (ui/hub-down.tsx); a read asked meanwhile is answered
// with the same error without a request, and a write is not sent (docs/console.md "When the hub is unreachable").
import { signal } from '@preact/signals';
import type { After } from './api.js';
import type { LiveState, Offline, Trouble } from './live.js';
import { time } from './ui/states.js';

export interface HubDown extends Trouble {
  /** The hub's last answer (epoch ms): the views' data is as of then. */
  since: number;
  /** When the next attempt starts (epoch ms), and how many failed in a row. */
  retryAt: number;
  attempt: number;
}

export const hubDown = signal<HubDown | null>(null);
let lastContact = Date.now();

/** The session started or the hub answered. */
export function noteContact(at: number): void {
  lastContact = at;
}

/**
 * The stream's state: live clears it; offline because of the hub sets it (keeping `since`), a stream that just
 * ended only once the next attempt fails too; a refusal for the stream's numbers (429) means the hub is there.
 */
export function noteLive(s: LiveState, off?: Offline): void {
  if (s === 'live') hubDown.value = null;
  else if (s === 'offline' && !(off?.trouble?.soft && off.attempt < 2)) {
    const t = off?.trouble;
    hubDown.value = t ? { kind: t.kind, error: t.error, since: hubDown.value?.since ?? lastContact, retryAt: off.retryAt, attempt: off.attempt } : null;
  }
}

export function clearHubDown(): void {
  hubDown.value = null;
  lastContact = Date.now();
}

/** "14:02:11 UTC" style: the day too, as every time in the console. */
export const sinceText = (ms: number): string => time(new Date(ms).toISOString());

/** An age as an operator reads it: `45 s`, `3 min 5 s`, `2 h 10 min`. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** While the hub is down: why a request is not sent (a read: the stream's own error; a write: NOT_SENT), else null. */
export function notNow(after: After): { code: string; message: string } | null {
  const d = hubDown.value;
  if (!d) return null;
  const since = `the hub has not answered since ${sinceText(d.since)}`;
  if (after !== 'write') {
    const i = d.error.indexOf(': ');
    return { code: d.error.slice(0, i), message: `${d.error.slice(i + 2)} (not asked: ${since})` };
  }
  return { code: 'NOT_SENT', message: `${since} (${d.error}): this was not sent; send it once the hub is back (the banner at the top goes)` };
}
