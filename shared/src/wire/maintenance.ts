// Maintenance windows (docs/rollouts.md "Maintenance windows"): when a device may switch to a new model
// version. A window opens at each time a 5-field cron matches in an IANA time zone and stays open
// durationSec; devices download at any time and switch only inside it. The hub signs it into the desired
// document beside the model (`models[].maintenance`); the agent evaluates it on its own clock.
import { z } from 'zod';
import { checkTimeZone, parseCron, parseDurationSec } from '../cron.js';

/** Shortest and longest window: a minute (cron's resolution) to a week. */
export const WINDOW_MIN_SEC = 60;
export const WINDOW_MAX_SEC = 7 * 86400;

const Cron = z.string().superRefine((s, ctx) => {
  try {
    parseCron(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const TimeZone = z.string().superRefine((s, ctx) => {
  try {
    checkTimeZone(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const DurationSec = z.number({ error: 'expected a number of seconds or a duration such as "2h"' }).int('expected whole seconds')
  .min(WINDOW_MIN_SEC, `expected a window of at least ${WINDOW_MIN_SEC} s`).max(WINDOW_MAX_SEC, `expected a window of at most ${WINDOW_MAX_SEC} s (7 days)`);

/** As signed into desired documents: every field explicit. */
export const MaintenanceWindow = z.object({ cron: Cron, durationSec: DurationSec, timeZone: TimeZone }).strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

/** As an operator writes it (rollout and deployment bodies): durationSec may be "2h", timeZone defaults to UTC. */
export const MaintenanceWindowInput = z.object({
  cron: Cron,
  durationSec: z.preprocess((v) => (typeof v === 'string' ? (parseDurationSec(v) ?? v) : v), DurationSec),
  timeZone: TimeZone.default('UTC'),
}).strict();
export type MaintenanceWindowInput = z.input<typeof MaintenanceWindowInput>;
