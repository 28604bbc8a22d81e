// The steps of one Hub.stop() (hub.ts; docs/hub.md "Stopping"): each awaited within its own deadline cut to
// what is left of HUB_STOP_MS (StopBudget), a miss or a failure logged and passed, and the HTTP server's close.
import type { ServerType } from '@hono/node-server';
import { settleWithin } from '@edgefleet/shared';
import type { LoggerPort } from '../mqtt/ports.js';
import { HUB_STOP_BROKER_FLOOR_MS, StopBudget } from './stop-deadlines.js';

/** Awaits `work` within `ms`; past it, or when `work` fails, logs a warning naming `what` and goes on. */
export type StopStep = (work: Promise<unknown> | undefined, ms: number, what: string) => Promise<void>;

/** One stop's budget: `cut(ms)` is a step's deadline (a step before the broker's keeps the broker's floor; the broker's takes what is left). */
export function stopSteps(logger: LoggerPort): { cut: (ms: number, keep?: number) => number; step: StopStep } {
  const budget = new StopBudget();
  return {
    cut: (ms, keep = HUB_STOP_BROKER_FLOOR_MS) => budget.ms(ms, keep),
    step: (work, ms, what) => settleWithin(work, ms, what, (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, `stopping: ${what}`)),
  };
}

/**
 * No new connection; idle keep-alive ones close now, and a request under way gets its answer (one held by a
 * database that stopped answering fails with DATABASE_UNAVAILABLE) until the step's deadline `ms`, when
 * whatever is left is cut.
 */
export async function closeHttpServer(http: ServerType, step: StopStep, ms: number): Promise<void> {
  const server = http as unknown as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  await step(new Promise<void>((resolve) => {
    http.close(() => resolve());
    server.closeIdleConnections?.();
  }), ms, 'closing the HTTP server');
  server.closeAllConnections?.();
}
