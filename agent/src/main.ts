// Composition root of the daemon (`edgefleet-agent run`): config -> build
// parts -> start() -> SIGTERM/SIGINT -> stop() (stop accepting, finish
// in-flight requests, write the open summary window, close sessions and DB).
// The process is gone within 10 s of the signal in every state (docs/agent.md
// "Stopping"): each stop step has a deadline, and a watchdog exits by force.
import { AppError } from '@edgefleet/shared/core';
import { createAgent, STOP_EXIT_MS, type Agent } from './agent.js';
import { fastConfig } from './config-fast.js';
import { mergeConfig, type ConfigFlags } from './config-merge.js';
import { pauseFromEnv } from './install/manager.js';
import { createLogger } from './log.js';

export async function runDaemon(env: NodeJS.ProcessEnv, flags: ConfigFlags): Promise<Agent> {
  const merged = mergeConfig(env, flags);
  // The schema (and zod, ~15 MB of RSS) is loaded only when the quick check does not accept the config.
  const config = fastConfig(merged) ?? (await import('./config.js')).validateConfig(merged);
  const logger = createLogger(config.log.level);
  const agent = createAgent(config, { logger, pause: pauseFromEnv(env) });
  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) {
      // A second signal (Ctrl-C twice, a supervisor's kill): exit now, the stop is crash-safe anyway.
      logger.warn({ signal }, 'second signal while stopping: exiting now');
      process.exit(1);
    }
    exiting = true;
    logger.info({ signal }, 'stopping');
    // Unref'd: exits by force only if the stop itself is stuck past its own deadlines.
    setTimeout(() => {
      logger.error({ ms: STOP_EXIT_MS }, 'stop did not finish in time: exiting');
      process.exit(1);
    }, STOP_EXIT_MS).unref();
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => undefined);
    throw err instanceof AppError ? err : new AppError('INTERNAL', `agent failed to start: ${(err as Error).message}`, { cause: err });
  }
  return agent;
}
