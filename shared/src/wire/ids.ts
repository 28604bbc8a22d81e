// The one rule for numeric ids and cursors a client writes into a URL, in a path (`/alerts/12`) or a
// query string (`?rule=12`, `?after=40`): plain positive decimal digits, no sign, spaces, leading zero,
// exponent, radix prefix or fraction, at most a bound. Number() alone takes 1e3, 0x10, " 12", "1.0" and
// "" (as 0), so each would reach a lookup as some other id (docs/decisions/0060-alert-hysteresis-pruning-and-query-ids.md).
import { z } from 'zod';

/** Plain positive decimal digits without a leading zero (the bound is checked apart). */
const ID_DIGITS = /^[1-9]\d*$/;

/** What a bad id was expected to be, in every refusal (path and query). */
export const ID_EXPECTED = 'expected a positive decimal integer (digits only, no leading zero, e.g. 12)';

/** The id as shown in a message: long ones cut at 40 characters. */
export function shownId(raw: string): string {
  return raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
}

/** The id `raw` stands for, or null when it breaks the rule or is over `max` (default: the largest integer a number holds exactly). */
export function parseDecimalId(raw: string, max = Number.MAX_SAFE_INTEGER): number | null {
  if (!ID_DIGITS.test(raw)) return null;
  const n = Number(raw);
  return n <= max ? n : null;
}

/**
 * Why `raw` is not an id: `${what} id "${raw}" (${where}): expected …`, with the bound when the digits
 * are fine but too many; null when it is one. `where` says which parameter, e.g. "path parameter id".
 */
export function idProblem(raw: string, what: string, where: string, max = Number.MAX_SAFE_INTEGER): string | null {
  if (parseDecimalId(raw, max) !== null) return null;
  const over = ID_DIGITS.test(raw) ? ` of at most ${max}` : '';
  return `${what} id "${shownId(raw)}" (${where}): ${ID_EXPECTED}${over}`;
}

/**
 * A count in a query string (`?limit=50`): plain decimal digits from 1 to `max`, by the rule of ids.
 * z.coerce.number() took "0x10", "1e3" and " 5" as 16, 1000 and 5.
 */
export function QueryCount(name: string, max: number) {
  const problem = (raw: string) => `${name} "${shownId(raw)}" (query parameter ${name}): expected a whole number from 1 to ${max} (digits only, no leading zero, e.g. 50)`;
  return z
    .string()
    .regex(ID_DIGITS, { error: (iss) => problem(String(iss.input)) })
    .transform((raw, ctx) => {
      const n = parseDecimalId(raw, max);
      if (n !== null) return n;
      ctx.addIssue({ code: 'custom', message: problem(raw) });
      return z.NEVER;
    });
}

/**
 * A query string parameter holding an id or a cursor (`?rule=`, `?after=`): the same rule and words
 * as a path id, as a zod schema for the route's query (its input is documented as a string of digits,
 * its output is the number). `name` is the parameter, `what` the thing it names.
 */
export function QueryId(name: string, what: string, max = Number.MAX_SAFE_INTEGER) {
  const where = `query parameter ${name}`;
  return z
    .string()
    .regex(ID_DIGITS, { error: (iss) => idProblem(String(iss.input), what, where, max) ?? ID_EXPECTED })
    .transform((raw, ctx) => {
      const problem = idProblem(raw, what, where, max);
      if (problem === null) return Number(raw);
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    });
}
