// Batch schedules use the shared 5-field cron matcher in UTC (shared/src/cron.ts; maintenance windows
// use the same one in a time zone).
export { cronMatches, nextRun, parseCron, type Cron } from '@edgefleet/shared/core';
