// What `edgefleet-hub run` does (its options and help are in main.ts, which imports this file only when
// `run` runs: docs/decisions/0144-hub-entry-loads-per-command.md): loads the config, starts the Hub and
// stops it on SIGTERM/SIGINT (docs/hub.md "Stopping").
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { ExitCode, reportFailure, type CliContext, type ParsedArgs } from '@edgefleet/shared/cli';
import { configFileFrom, loadConfig } from '../config-load.js';
import { systemClock } from '../clock.js';
import { Hub } from './hub.js';
import { adminTokenLine } from './first-start.js';
import { HUB_STOP_EXIT_MS, HUB_STOP_STEP_MS } from './stop-deadlines.js';

export async function runHub(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const cfg = loadConfig(configFileFrom(args.values, ctx.env), ctx.cwd);
  const logger = pino({ level: cfg.logLevel, base: { svc: 'edgefleet-hub' } });
  const hub = new Hub(cfg, logger, systemClock);
  // Listened for from the start: a hub waiting for its broker (externalBroker.waitMs) stops on a signal too.
  const signal = stopSignal(logger);
  const started = hub.start().then(() => true as const, (err: unknown) => ({ err }));
  const first = await Promise.race([started, signal.then(() => null)]);
  if (first === null) return stoppedWhileStarting(hub, started, logger);
  if (first !== true) {
    // Gone within HUB_STOP_EXIT_MS as after a signal, with the failure's exit code: told by the CLI once the stop
    // ends, here if the stop itself is stuck (docs/hub.md "Stopping").
    let stopped = false;
    exitIfStillUp(logger, () => (stopped ? process.exitCode ?? ExitCode.FAILED : reportFailure(ctx, first.err)));
    await hub.stop('failed start');
    stopped = true;
    throw first.err;
  }
  const tokenLine = adminTokenLine(cfg.dataDir, hub.newAdminToken);
  if (tokenLine) ctx.stdout.write(`${tokenLine}\n`);
  await signal;
  await hub.stop();
  return 0;
}

/**
 * The first SIGTERM/SIGINT, logged. Gone within 10 s of it in every state (docs/hub.md "Stopping"): the
 * stop's steps have deadlines, an unref'd timer ends the process if something still holds the event loop,
 * and a second signal while stopping exits at once (the store is SQLite WAL, crash-safe).
 */
function stopSignal(logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, 'stopping');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const again = () => process.exit(1);
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      exitIfStillUp(logger, () => 1);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * Ends the process HUB_STOP_EXIT_MS from now with `code()` if something still holds the event loop then (unref'd:
 * it holds nothing itself), after a signal or a failed start.
 */
function exitIfStillUp(logger: Logger, code: () => number | string): void {
  setTimeout(() => {
    logger.error({ ms: HUB_STOP_EXIT_MS }, 'still running after stop: exiting');
    process.exit(code());
  }, HUB_STOP_EXIT_MS).unref();
}

/**
 * A signal before the hub was up: what had started is stopped. A start waiting for the external broker
 * then fails ("stopped while waiting", mqtt/external-connect.ts) and the process ends by itself (0); one
 * that cannot be cut short (waiting for PostgreSQL, server/open-store.ts) or had just finished ends here.
 */
async function stoppedWhileStarting(hub: Hub, started: Promise<true | { err: unknown }>, logger: Logger): Promise<number> {
  await hub.stop();
  const end = await Promise.race([started, sleep(HUB_STOP_STEP_MS.part).then(() => null)]);
  if (end !== null && end !== true) return 0;
  logger.warn({}, 'stopped while starting: exiting');
  process.exit(0);
}
