// A small 5-field cron matcher (minute hour day-of-month month day-of-week) in UTC or in an IANA time
// zone (through Intl, no dependency): numbers, '*', ranges a-b, lists a,b and steps */n or a-b/n;
// day-of-week 0-7 (0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted a time
// matches if either does. Used by the agent's batch jobs (UTC) and by maintenance windows
// (docs/rollouts.md "Maintenance windows"), which the hub checks and the agent evaluates on its clock.
//
// In a time zone, an expression names local wall-clock minutes; each becomes one instant the way
// Temporal's "compatible" disambiguation does (and RFC 5545): a local time skipped by a spring-forward
// gap happens that much later (02:30 on the day Berlin jumps 02:00 → 03:00 is 03:30), and a local time
// repeated by a fall-back happens at its first occurrence only. So "0 2 * * *" opens once every day.
import { AppError } from './errors.js';

export interface Cron {
  source: string;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  dayRestricted: boolean;
  weekdayRestricted: boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const MINUTE = 60_000;

/** The most days each month has (February in a leap year). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function bad(expr: string, msg: string): never {
  throw new AppError('CONFIG_INVALID', `invalid cron expression "${expr}": ${msg}`);
}

function parseField(expr: string, text: string, f: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) bad(expr, `${f.name} "${part}": expected a number, *, a range a-b, a list a,b or a step */n`);
    let lo: number = f.min;
    let hi: number = f.max;
    if (m[2] !== undefined) {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : lo;
    }
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi) bad(expr, `${f.name} "${part}": expected values in ${f.min}-${f.max}, low to high`);
    if (step < 1) bad(expr, `${f.name} "${part}": expected a step of at least 1`);
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return out;
}

/** Parses a 5-field expression; CONFIG_INVALID naming the field and what was expected. */
export function parseCron(expr: string): Cron {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) bad(expr, `has ${parts.length} fields: expected 5 (minute hour day-of-month month day-of-week)`);
  const [mi, h, d, mo, w] = parts.map((p, i) => parseField(expr, p, FIELDS[i]!)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  // Only days of the month restricted (a restricted weekday would match on its own): "0 2 30 2 *"
  // would be accepted and then never run (a maintenance window that never opens holds a rollout for ever).
  if (parts[2] !== '*' && parts[4] === '*' && ![...mo].some((m) => [...d].some((day) => day <= DAYS_IN_MONTH[m - 1]!))) {
    bad(expr, `never matches: no month it names (${parts[3]}) has day ${parts[2]}: expected a day-of-month those months have (February has 29 at most)`);
  }
  return { source: expr, minutes: mi, hours: h, days: d, months: mo, weekdays: w, dayRestricted: parts[2] !== '*', weekdayRestricted: parts[4] !== '*' };
}

/** Whether the minute holding `ms` (read as UTC wall-clock time) matches. */
export function cronMatches(c: Cron, ms: number): boolean {
  const t = new Date(ms);
  if (!c.minutes.has(t.getUTCMinutes()) || !c.hours.has(t.getUTCHours()) || !c.months.has(t.getUTCMonth() + 1)) return false;
  const dom = c.days.has(t.getUTCDate());
  const dow = c.weekdays.has(t.getUTCDay());
  if (c.dayRestricted && c.weekdayRestricted) return dom || dow;
  return dom && dow;
}

const ALL_MIN = new Set(Array.from({ length: 60 }, (_, i) => i));
const ALL_HOUR = new Set(Array.from({ length: 24 }, (_, i) => i));
const HORIZON_MS = 5 * 366 * 86_400_000;
/** Openings followed while they overlap (windowAt). */
const MAX_CHAINED = 1500;

/** The first matching minute strictly after `ms` in UTC wall-clock time (within ~5 years), or null. */
export function nextRun(c: Cron, ms: number): number | null {
  let t = Math.floor(ms / MINUTE) * MINUTE + MINUTE;
  const limit = t + HORIZON_MS;
  while (t < limit) {
    const d = new Date(t);
    if (!c.months.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    if (!cronMatches({ ...c, minutes: ALL_MIN, hours: ALL_HOUR }, t)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!c.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (c.minutes.has(d.getUTCMinutes())) return t;
    t += MINUTE;
  }
  return null;
}

// ---- time zones ----

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      throw new AppError('CONFIG_INVALID', `unknown time zone "${timeZone}": expected an IANA name such as UTC, Europe/Berlin or America/New_York`);
    }
    if (formatters.size >= 64) formatters.clear(); // bounded: names come from documents
    formatters.set(timeZone, f);
  }
  return f;
}

/** Checks an IANA time zone name (CONFIG_INVALID naming it otherwise). */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

/** The zone's offset from UTC at instant `ms`, in ms (local wall time = ms + offset). */
export function zoneOffset(timeZone: string, ms: number): number {
  if (timeZone === 'UTC') return 0;
  const at = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!, p['second']!) - at;
}

/**
 * The instant of local wall-clock time `local` (ms, read as UTC fields) in `timeZone`: a time in a
 * spring-forward gap is shifted later by the gap, a time repeated by a fall-back is its first occurrence.
 */
export function localToInstant(timeZone: string, local: number): number {
  if (timeZone === 'UTC') return local;
  // Offsets a day either side: before and after any transition near `local` (zones change at most once a day).
  const before = zoneOffset(timeZone, local - 86_400_000);
  const after = zoneOffset(timeZone, local + 86_400_000);
  const a = local - before;
  const b = local - after;
  const aOk = zoneOffset(timeZone, a) === before;
  const bOk = zoneOffset(timeZone, b) === after;
  if (aOk && bOk) return Math.min(a, b); // repeated (or no transition: a === b): the first occurrence
  if (aOk) return a;
  if (bOk) return b;
  return a; // in the gap: with the offset before it, i.e. later by the gap's length
}

/**
 * The first minute matching `c` in `timeZone` at an instant strictly after `ms` (within ~5 years), or
 * null. With timeZone UTC this is nextRun().
 */
export function nextRunIn(c: Cron, ms: number, timeZone = 'UTC'): number | null {
  if (timeZone === 'UTC') return nextRun(c, ms);
  // Local matches from a little before `ms`'s local time: after a fall-back the local clock reads an
  // hour earlier, and a match up to that far back can still be later than `ms` (DST shifts are at most 2 h).
  let local: number | null = ms + zoneOffset(timeZone, ms) - 3 * 3600_000;
  const limit = ms + HORIZON_MS;
  while (local !== null && local < limit) {
    local = nextRun(c, local);
    if (local === null) return null;
    const at = localToInstant(timeZone, local);
    if (at > ms) return at;
  }
  return null;
}

/** A maintenance window: opens at each time `cron` matches in `timeZone` and stays open `durationSec`. */
export interface WindowSpec {
  cron: string;
  durationSec: number;
  timeZone: string;
}

export interface WindowState {
  open: boolean;
  /** While open: when this opening closes; while closed: when the next one opens (null: never). */
  until: number | null;
}

/** Whether a window is open at `ms` and until when (or when it opens next). */
export function windowAt(w: WindowSpec, ms: number, cron: Cron = parseCron(w.cron)): WindowState {
  const d = w.durationSec * 1000;
  // The first opening after ms - d: if it is not later than ms, ms is inside it.
  const o = nextRunIn(cron, ms - d, w.timeZone);
  if (o !== null && o <= ms) {
    // Overlapping openings (a window longer than the cron's period) keep it open; looked at up to a
    // bound (a window open around the clock reports the end of what was looked at).
    let last = o;
    let end = o + d;
    for (let i = 0; i < MAX_CHAINED; i++) {
      const n = nextRunIn(cron, last, w.timeZone);
      if (n === null || n >= end) break;
      last = n;
      end = n + d;
    }
    return { open: true, until: end };
  }
  return { open: false, until: o };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `30m`, `2h`, `1d`, `1h30m` or a number of seconds; null when it is none of these. */
export function parseDurationSec(text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (!/^(\d+[dhms])+$/.test(t)) return null;
  let sec = 0;
  for (const m of t.matchAll(/(\d+)([dhms])/g)) sec += Number(m[1]) * (UNITS[m[2]!] as number);
  return sec;
}

/** `"0 2 * * *" for 2h in Europe/Berlin`: how a window reads in messages. */
export function describeWindow(w: WindowSpec): string {
  const s = w.durationSec;
  const dur = s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
  return `"${w.cron}" for ${dur} in ${w.timeZone}`;
}
