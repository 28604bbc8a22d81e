// Composition root of the daemon (`edgefleet-agent run`): config -> build
// parts -> start() -> SIGTERM/SIGINT -> stop() (stop accepting, finish
// in-flight requests, write the open summary window, close sessions and DB).
import { AppError } from '@edgefleet/shared/core';
import { createAgent, type Agent } from './agent.js';
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
    if (exiting) return;
    exiting = true;
    logger.info({ signal }, 'stopping');
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
