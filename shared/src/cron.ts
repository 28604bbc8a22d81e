// A small 5-field cron parser (minute hour day-of-month month day-of-week, UTC):
// numbers, '*', ranges a-b, lists a,b and steps */n or a-b/n; day-of-week 0-7
// (0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted
// a time matches if either does.
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

export function parseCron(expr: string): Cron {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) bad(expr, `has ${parts.length} fields: expected 5 (minute hour day-of-month month day-of-week)`);
  const [mi, h, d, mo, w] = parts.map((p, i) => parseField(expr, p, FIELDS[i]!)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return { source: expr, minutes: mi, hours: h, days: d, months: mo, weekdays: w, dayRestricted: parts[2] !== '*', weekdayRestricted: parts[4] !== '*' };
}

/** Whether the minute holding `ms` (UTC) matches. */
export function cronMatches(c: Cron, ms: number): boolean {
  const t = new Date(ms);
  if (!c.minutes.has(t.getUTCMinutes()) || !c.hours.has(t.getUTCHours()) || !c.months.has(t.getUTCMonth() + 1)) return false;
  const dom = c.days.has(t.getUTCDate());
  const dow = c.weekdays.has(t.getUTCDay());
  if (c.dayRestricted && c.weekdayRestricted) return dom || dow;
  return dom && dow;
}

/** The first matching minute strictly after `ms` (within ~5 years), or null. */
export function nextRun(c: Cron, ms: number): number | null {
  let t = Math.floor(ms / 60_000) * 60_000 + 60_000;
  const limit = t + 5 * 366 * 86_400_000;
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
    t += 60_000;
  }
  return null;
}

const ALL_MIN = new Set(Array.from({ length: 60 }, (_, i) => i));
const ALL_HOUR = new Set(Array.from({ length: 24 }, (_, i) => i));
