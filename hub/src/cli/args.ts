// The operator CLI's argument helpers: the shared command-line convention
// (@edgefleet/shared/cli, docs/cli.md) re-exported for the commands, and the
// value parsers only `edgefleet` needs (expiry, role=N). main.ts holds the
// command table; adding a command is adding one entry there.
import { parsePositiveInt, UsageError } from '@edgefleet/shared/cli';

export {
  optBool, optInt, optString, optStrings, parsePositiveInt, problemOf, reqString, usageProblem, UsageError,
  type Command, type CommandTable, type OptionSpec, type OptionValue, type ParsedArgs, type PositionalSpec,
} from '@edgefleet/shared/cli';

/** Parses "role=N" (threshold) for the given roles. */
export function parseRoleNumber<R extends string>(text: string, roles: readonly R[], what: string): [R, number] {
  const m = /^([a-z]+)=(\d+)$/.exec(text);
  if (!m) throw new UsageError(`${what}: expected ROLE=N (${roles.join('|')}), got "${text}"`);
  const role = m[1] as R;
  if (!roles.includes(role)) throw new UsageError(`${what}: unknown role "${m[1]}", expected one of ${roles.join(', ')}`);
  return [role, parsePositiveInt(m[2] as string, `${what} ${role}`)];
}

/** Parses an expiry: a duration from `now` ("365d", "12h", "30m", "8w") or an ISO 8601 date-time. */
export function parseExpiry(text: string, now: Date, what = '--expires'): Date {
  const m = /^(\d+)([mhdw])$/.exec(text);
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    const n = Number(m[1]);
    if (n <= 0) throw new UsageError(`${what}: expected a positive duration, got "${text}"`);
    return new Date(now.getTime() + n * unit);
  }
  if (/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(text)) {
    const d = new Date(text);
    if (!Number.isNaN(d.getTime())) {
      if (d.getTime() <= now.getTime()) throw new UsageError(`${what}: ${text} is in the past; expected a future date`);
      return d;
    }
  }
  throw new UsageError(`${what}: expected a duration such as 365d, 12h, 8w or an ISO date such as 2027-01-31T00:00:00Z, got "${text}"`);
}
