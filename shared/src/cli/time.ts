// The one reader of the time options of edgefleet and edgefleet-agent (--since, --until; docs/cli.md
// "Times"): a duration back from now, a date, or an ISO date-time. A value that is none of them is a bad
// command line naming the forms accepted.
import { UsageError, problemOf } from './command.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** What every time option accepts, for help texts and errors. */
export const TIME_FORMS = 'a duration ago (90s, 30m, 24h, 7d, 2w), a date (2026-01-01, from 00:00 UTC) or an ISO date-time (2026-01-01T12:00:00Z; without a zone, this machine\'s local time)';

/** Whether y-m-d is a day of the calendar (Date.parse takes 2026-02-30 as March 2). */
function realDay(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** `text` of option `what` (e.g. "--since") as the time it means; UsageError (exit 2) for anything else. */
export function parseTimeOption(text: string, now: Date, what: string): Date {
  const ago = /^(\d{1,9})([smhdw])$/.exec(text);
  if (ago) return new Date(now.getTime() - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS]);
  if (/^-\d+[smhdw]$/.test(text)) throw new UsageError(`${what}: a duration already counts back from now: expected ${text.slice(1)}, got "${text}"`);
  const day = DATE.exec(text) ?? DATE_TIME.exec(text);
  if (day && realDay(Number(day[1]), Number(day[2]), Number(day[3]))) {
    // A date alone is 00:00 UTC (as Date.parse takes it); a date-time without a zone is local time.
    const t = Date.parse(text.replace(' ', 'T'));
    if (Number.isFinite(t)) return new Date(t);
  }
  throw new UsageError(`${what}: expected ${TIME_FORMS}, got "${text}"`);
}

/** An option's check (OptionSpec.check) for a time option: its form only (what it means is read with the command's clock). */
export const timeCheck = (what: string) => problemOf((t) => parseTimeOption(t, new Date(0), what));
