#!/usr/bin/env node
// `edgefleet-hub`, the hub server's composition root: `run` loads the config,
// starts the Hub and stops it on SIGTERM/SIGINT; `mosquitto-config` writes the
// configuration for an external Mosquitto broker; `backup` and `restore` (server/backup.ts, server/restore.ts). Parsing, --help, errors and
// exit codes follow the shared convention (@edgefleet/shared/cli, docs/cli.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { AppError } from '@edgefleet/shared';
import { dispatch, UsageError, processContext, type CliContext, type Command, type OptionSpec, type Program } from '@edgefleet/shared/cli';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';
import { configFileFrom, loadConfig, RUN_FLAGS } from '../config-load.js';
import { systemClock } from '../clock.js';
import { Store } from '../store/index.js';
import { isPostgresUrl } from '../store/db.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { mosquittoConfigCommand, type MosquittoConfigDeps } from '../mqtt/mosquitto-config.js';
import { HUB_VERSION } from '../version.js';
import { Hub } from './hub.js';
import { adminTokenLine } from './first-start.js';
import { HUB_STOP_EXIT_MS, HUB_STOP_STEP_MS } from './stop-deadlines.js';
import { backupCommand } from './backup.js';
import { restoreCommand } from './restore.js';

const runOptions: Record<string, OptionSpec> = Object.fromEntries(
  Object.entries(RUN_FLAGS).map(([flag, f]) => [flag, {
    type: f.kind === 'int' ? 'integer' : 'string', value: f.value, description: f.description, ...(f.kind === 'list' ? { multiple: true } : {}),
  } satisfies OptionSpec]),
);

const runCommand: Command = {
  summary: 'Run the hub: HTTP API, MQTT broker (or a link to an external one), fleet sync; stops on SIGTERM/SIGINT',
  details:
    'On first start it creates DATA/hub.key unless --hub-key is given, stores the --trust document (which must\n'
    + 'list the hub key) and prints a new admin token once (saved in DATA/admin.token). It creates\n'
    + 'DATA/content-keys.key unless --content-keys is given: the key file wrapping the content keys of sealed\n'
    + 'models in the database (mode 0600; never in the database). A --content-keys file must exist, and\n'
    + 'every hub on one database needs a copy of the same one (docs/hub.md "Several hubs"). The files it makes\n'
    + 'are never replaced: hubs started at once on one new data dir all use the first one\'s. The log line\n'
    + '"msg":"hub ready" carries the HTTP and MQTT addresses. A bad config exits 1 naming the field.',
  usage: '[--data-dir DIR] [--config FILE] [--http-port PORT] [--mqtt-port PORT] [--trust FILE] [--hub-key FILE] [more options below]',
  options: runOptions,
  async run(args, ctx) {
    const cfg = loadConfig(configFileFrom(args.values, ctx.env), ctx.cwd);
    const logger = pino({ level: cfg.logLevel, base: { svc: 'edgefleet-hub' } });
    const hub = new Hub(cfg, logger, systemClock);
    // Listened for from the start: a hub waiting for its broker (externalBroker.waitMs) stops on a signal too.
    const signal = stopSignal(logger);
    const started = hub.start().then(() => true as const, (err: unknown) => ({ err }));
    const first = await Promise.race([started, signal.then(() => null)]);
    if (first === null) return stoppedWhileStarting(hub, started, logger);
    if (first !== true) {
      await hub.stop('failed start');
      throw first.err;
    }
    const tokenLine = adminTokenLine(cfg.dataDir, hub.newAdminToken);
    if (tokenLine) ctx.stdout.write(`${tokenLine}\n`);
    await signal;
    await hub.stop();
    return 0;
  },
};

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
      setTimeout(() => {
        logger.error({ ms: HUB_STOP_EXIT_MS }, 'still running after stop: exiting');
        process.exit(1);
      }, HUB_STOP_EXIT_MS).unref();
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
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

/**
 * The devices of the hub in `dataDir` (none without one), for mosquitto-config: from its hub.db, or from
 * `database` for a hub on PostgreSQL. Never creates either: a new, empty hub.db would list no device (and
 * a later `backup` would copy it as though it were the hub's).
 */
function storeDevices(dataDir: string | undefined, database?: string): Array<{ id: string }> {
  if (database !== undefined && !isPostgresUrl(database)) throw new UsageError(`--database ${database}: expected a PostgreSQL URL, postgres://USER[:PASSWORD]@HOST:PORT/DB`);
  if (!dataDir) {
    if (database !== undefined) throw new UsageError('--database needs --data-dir: the hub\'s data directory');
    return [];
  }
  if (!existsSync(dataDir)) throw new AppError('NOT_FOUND', `--data-dir ${dataDir} does not exist: expected the hub's data directory`);
  if (database === undefined && !existsSync(join(dataDir, 'hub.db'))) {
    throw new AppError('NOT_FOUND', `--data-dir ${dataDir} holds no hub.db: expected the data directory of a hub on SQLite, or for a hub run with --database that URL too (--database postgres://…)`);
  }
  const store = Store.open(dataDir, HUB_MIGRATIONS, database === undefined ? {} : { database });
  try {
    return store.devices.list().filter((d) => !d.revoked).map((d) => ({ id: d.id }));
  } finally {
    store.close();
  }
}

/** The program; tests pass their own device list to mosquitto-config. */
export function hubServerProgram(deps: MosquittoConfigDeps = { listDevices: storeDevices }): Program {
  return {
    name: 'edgefleet-hub',
    summary: 'The edgefleet hub server.',
    version: HUB_VERSION,
    commands: { run: runCommand, 'mosquitto-config': mosquittoConfigCommand(deps), backup: backupCommand, restore: restoreCommand },
  };
}

export const hubServerCli = hubServerProgram();

/** Runs the program with `argv` (without node and the script) and resolves to the exit code. */
export function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  return dispatch(hubServerCli, argv, ctx);
}

if (isEntryPoint(import.meta.url)) await runMain('edgefleet-hub', main);
