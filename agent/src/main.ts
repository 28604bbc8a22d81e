// Composition root of the daemon (`edgefleet-agent run`): config -> build
// parts -> start() -> SIGTERM/SIGINT -> stop() (stop accepting, finish
// in-flight requests, write the open summary window, close sessions and DB).
// The process is gone within 10 s of the signal in every state (docs/agent.md
// "Stopping"): each stop step has a deadline, and a watchdog exits by force.
import { AppError, RESTART_EXIT_CODE } from '@edgefleet/shared/core';
import { createAgent, STOP_EXIT_MS, type Agent } from './agent.js';
import { mergeConfig, type ConfigFlags } from './config-merge.js';
import { beginRemoteStart, confirmRemoteConfig, endRemoteStart, failRemoteConfig, readPreviousRemoteConfig, readRemoteConfig } from './config-remote.js';
import { modelsNotLoadedWith, startConfig, type StartedModels } from './config-start.js';
import type { ModelManager } from './install/manager.js';
import { RestartGate, restartSpacing, systemRestartClock } from './config-restarts.js';
import { pauseFromEnv } from './install/pause.js';
import { takeRunLock } from './run-lock.js';
import { agentVersionFrom } from './version.js';
import { createLogger } from './log.js';
import { damagedDb } from './store/db.js';
import { missingInstallFile } from './install-files.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

export async function runDaemon(env: NodeJS.ProcessEnv, flags: ConfigFlags): Promise<Agent> {
  const merged = mergeConfig(env, flags);
  // The last good remote settings over the local config (docs/agent.md "Remote configuration"), decided
  // as every command that loads the config decides it (config-start.ts); here it is also recorded.
  const { config, remote, killed, problems } = await startConfig(merged);
  // One daemon per data dir, refused before anything there is read or written (run-lock.ts); the lock
  // goes with the process (a stale one, its process gone, is taken over at the next start).
  const madeDataDir = !existsSync(config.dataDir);
  const lock = takeRunLock(config.dataDir);
  process.once('exit', () => lock.release());
  if (killed) {
    failRemoteConfig(config.dataDir, { sha256: killed.remote.sha256, code: 'INTERNAL', message: killed.message });
  } else if (remote && !remote.confirmed) {
    // Counted before anything else runs: a start killed outright runs no error path.
    beginRemoteStart(config.dataDir, remote);
  }
  const logger = createLogger(config.log.level);
  for (const p of problems) logger.warn(p);
  // Said, as a data dir on a disk of its own that did not mount is made on the disk below it (docs/agent.md "Database").
  if (madeDataDir) logger.info({ dataDir: config.dataDir }, 'the data dir did not exist: made it, and this box starts as a new one');
  let exiting = false;
  // Spaced so that config restarts never trip the unit's start limit (config-restarts.ts, decision 0061).
  const gate = new RestartGate({
    dataDir: config.dataDir,
    clock: systemRestartClock(),
    spacing: restartSpacing(STOP_EXIT_MS),
    log: (level, obj, msg) => logger[level](obj, msg),
    exit: () => {
      logger.info({ exitCode: RESTART_EXIT_CODE }, 'restarting for the remote configuration: stopping cleanly, the service manager starts the agent again');
      shutdown('restart', RESTART_EXIT_CODE);
    },
  });
  const restart = () => {
    if (!exiting) gate.request();
  };
  const agent = createAgent(config, { logger, pause: pauseFromEnv(env), agentVersion: agentVersionFrom(env), localConfig: merged, ...(remote ? { remoteConfig: remote } : {}), restart, withdrawRestart: () => gate.withdraw(),
    // New runtime settings with which an active model did not load: a start that failed (config-start.ts),
    // found before the API listens and the hub hears the settings applied.
    // A model that does not load with the settings before either is its own failure (tried once, bounded).
    modelsLoaded: async (a, loadsWith, fellBack) => {
      const notLoaded = remote && await modelsNotLoadedWith(merged, remote, readPreviousRemoteConfig(config.dataDir), startedModels(a, loadsWith, fellBack), { warn: (msg) => logger.warn(msg) });
      if (notLoaded) throw notLoaded;
    },
  });
  const shutdown = (signal: string, code = 0) => {
    if (exiting) {
      // A second signal (Ctrl-C twice, a supervisor's kill): exit now, the stop is crash-safe anyway.
      logger.warn({ signal }, 'second signal while stopping: exiting now');
      process.exit(1);
    }
    exiting = true;
    gate.cancel(); // a restart waiting for its turn is dropped: the stored settings apply at the next start
    logger.info({ signal }, 'stopping');
    // Unref'd: exits by force only if the stop itself is stuck past its own deadlines.
    setTimeout(() => {
      logger.error({ ms: STOP_EXIT_MS }, 'stop did not finish in time: exiting');
      process.exit(1);
    }, STOP_EXIT_MS).unref();
    agent.stop().then(
      () => process.exit(code),
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
  } catch (thrown) {
    // A file of the install itself missing (install-files.ts) is named as such, here and in the record below.
    const err = missingInstallFile(thrown, config.dataDir) ?? thrown;
    gate.cancel(); // a restart asked for during the start and waiting for its turn must not hold the process
    await agent.stop().catch(() => undefined);
    if (remote && !remote.confirmed && exiting) endRemoteStart(config.dataDir); // stopped by a signal: not the configuration's doing
    if (remote && !remote.confirmed && !exiting) {
      // Started with new remote settings and failed (not stopped by a signal or a restart under way): the next start goes back to the configuration before
      // them, and the agent reports this one failed instead of applying it again (docs/agent.md).
      const e = err instanceof AppError ? err : new AppError('INTERNAL', (err as Error).message);
      failRemoteConfig(config.dataDir, { sha256: remote.sha256, code: e.code, message: `the agent did not start with it: ${e.message}` });
      logger.error({ sha256: remote.sha256, err: e.message }, 'the agent did not start with the remote configuration: the next start goes back to the one before');
    }
    const damaged = damagedDb(err, join(config.dataDir, 'agent.db'));
    if (damaged !== err) throw damaged;
    throw err instanceof AppError ? err : new AppError('INTERNAL', `agent failed to start: ${(err as Error).message}`, { cause: err });
  }
  if (remote && !remote.confirmed) {
    try {
      // Unless a newer configuration was stored while starting (read and written synchronously: no message in between).
      const now = readRemoteConfig(config.dataDir);
      if (now?.sha256 === remote.sha256) confirmRemoteConfig(config.dataDir, now);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not record that the agent started with its remote configuration');
    }
  }
  return agent;
}

/** What modelsNotLoadedWith reads of a started agent: the store's active models, the runtime, the load errors. */
function startedModels(agent: Agent, loadsWith: StartedModels['loadsWith'], fellBack: Pick<ModelManager, 'fellBack' | 'undoFallback'>): StartedModels {
  return {
    loadsWith,
    fellBackFrom: (name) => fellBack.fellBack.get(name)?.from,
    undoFallback: (name) => fellBack.undoFallback(name),
    active: () => agent.models.listActive().map((e) => e.name),
    served: (name) => agent.runtime.active(name) !== undefined,
    lastError: (name) => agent.db.prepare("SELECT code, message FROM events WHERE kind = 'error' AND model = ? AND code IS NOT NULL ORDER BY seq DESC LIMIT 1")
      .get(name) as { code: string; message: string } | undefined,
  };
}
