// Bounds on agent settings that the shared schema (shared/src/wire/agent-config.ts) accepts but the
// agent cannot honour: checked after the schema (config.ts) and by the quick check (config-fast.ts),
// so a local file, the daemon's start and a remote configuration (sync/config-apply.ts) all refuse
// them naming the field. zod-free: it runs on the daemon's start-up path.
import type { AgentConfig } from './config.js';

/**
 * Node's longest timer: a setTimeout or setInterval past it fires after 1 ms
 * (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args). sync.reconnectMs would
 * reconnect every millisecond, api.requestTimeoutMs time out every gRPC call at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;
/** The slowest send rate: one message per 1000 s (a token bucket's wait must fit a timer too). */
export const MIN_RATE_PER_SEC = 0.001;
/**
 * The longest summary window: a day, the coarsest window the agent's compaction makes
 * (summaries/retention-groups.ts); the hub refuses windows past its ingest.maxLengthSec (31 days).
 */
export const MAX_WINDOW_SEC = 86_400;

const DURATIONS_MS = [
  'api.headersTimeoutMs', 'api.requestTimeoutMs', 'api.keepAliveTimeoutMs', 'api.stopGraceMs', 'sync.reconnectMs', 'sync.outbox.resendAfterMs',
] as const;
const RATES = ['sync.outbox.messagesPerSec', 'capture.uploadsPerSec'] as const;

const at = (c: AgentConfig, path: string): number => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c) as number;

/** The first setting out of the agent's bounds, or undefined. */
export function configProblem(c: AgentConfig): { field: string; message: string } | undefined {
  for (const field of DURATIONS_MS) {
    const v = at(c, field);
    if (v > MAX_TIMER_MS) return { field, message: `expected at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer), got ${v}` };
  }
  for (const field of RATES) {
    const v = at(c, field);
    if (v < MIN_RATE_PER_SEC) return { field, message: `expected at least ${MIN_RATE_PER_SEC} per second, got ${v}` };
  }
  if (c.summaries.windowSec > MAX_WINDOW_SEC) return { field: 'summaries.windowSec', message: `expected at most ${MAX_WINDOW_SEC} s (a day), got ${c.summaries.windowSec}` };
  return undefined;
}
