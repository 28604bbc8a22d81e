// `--window "MIN HOUR DOM MON DOW DURATION [TIME_ZONE]"` of `rollout create` and `deploy`
// (docs/rollouts.md "Maintenance windows"): a 5-field cron, how long each opening lasts, and an IANA
// time zone (default UTC), e.g. --window "0 2 * * 1-5 2h Europe/Berlin". Checked again by the hub.
import { MaintenanceWindowInput, parseDurationSec, type MaintenanceWindow } from '@edgefleet/shared';
import { UsageError, problemOf, type Command } from '../args.js';

export const WINDOW_OPTION = {
  window: { type: 'string', value: '"CRON(5 fields) DURATION [TZ]"', description: 'switch only inside this maintenance window, e.g. "0 2 * * * 2h Europe/Berlin" (devices download at once)', check: problemOf((t) => parseWindowOption(t)) },
} as const satisfies Command['options'];

export function parseWindowOption(text: string): MaintenanceWindow {
  const parts = text.trim().split(/\s+/);
  const usage = `--window "${text}": expected "MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK DURATION [TIME_ZONE]", e.g. "0 2 * * * 2h Europe/Berlin"`;
  if (parts.length < 6 || parts.length > 7) throw new UsageError(`${usage} (got ${parts.length} parts)`);
  const dur = parseDurationSec(parts[5]!);
  if (dur === null) throw new UsageError(`${usage}: duration "${parts[5]}" is not one such as 90m, 2h or 1d`);
  const r = MaintenanceWindowInput.safeParse({ cron: parts.slice(0, 5).join(' '), durationSec: dur, ...(parts[6] ? { timeZone: parts[6] } : {}) });
  if (!r.success) throw new UsageError(`--window "${text}": ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}
