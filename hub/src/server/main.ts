#!/usr/bin/env node
// `edgefleet-hub`, the hub server's composition root: `run` loads the config,
// starts the Hub and stops it on SIGTERM/SIGINT; `mosquitto-config` writes the
// configuration for an external Mosquitto broker. Exit codes: 0 ok, 1 failure
// (bad config, refused trust document, ...), 2 bad command line.
import { pino } from 'pino';
import { toAppError } from '@edgefleet/shared';
import { loadConfig, type HubConfig } from '../config.js';
import { systemClock } from '../clock.js';
import { Store } from '../store/index.js';
import { mosquittoConfigCommand } from '../mqtt/mosquitto-config.js';
import { Hub, HUB_STOP_EXIT_MS } from './hub.js';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';

const USAGE = `usage: edgefleet-hub run --data-dir DIR [--config hub.json] [--http-port 8700] [--mqtt-port 1883]
                         [--mqtts-port 8883 --tls-cert F --tls-key F] [--trust trust.json] [--hub-key FILE]
                         [--host 127.0.0.1] [--broker URL ...] [--log-level info]
       edgefleet-hub mosquitto-config --data-dir DIR --out DIR --hub-user U --hub-password P ...
`;

async function run(argv: string[]): Promise<number> {
  let cfg: HubConfig;
  try {
    cfg = loadConfig(argv);
  } catch (err) {
    process.stderr.write(`error [${toAppError(err).code}]: ${toAppError(err).message}\n`);
    return 1;
  }
  const logger = pino({ level: cfg.logLevel, base: { svc: 'edgefleet-hub' } });
  const hub = new Hub(cfg, logger, systemClock);
  try {
    await hub.start();
  } catch (err) {
    const e = toAppError(err);
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    await hub.stop();
    return 1;
  }
  if (hub.newAdminToken) {
    process.stdout.write(`admin token (shown once, saved in ${cfg.dataDir}/admin.token): ${hub.newAdminToken}\n`);
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, 'stopping');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A second signal while stopping: exit now (the store is SQLite WAL, crash-safe).
      const again = () => process.exit(1);
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Gone within 10 s of the signal in every state (docs/hub.md "Stopping"): the stop's steps have
  // deadlines, and this unref'd timer ends the process if something still holds the event loop.
  setTimeout(() => {
    logger.error({ ms: HUB_STOP_EXIT_MS }, 'still running after stop: exiting');
    process.exit(1);
  }, HUB_STOP_EXIT_MS).unref();
  await hub.stop();
  return 0;
}

async function mosquittoConfig(argv: string[]): Promise<number> {
  // --data-dir is ours: the device list comes from hub.db; the rest goes to the MQTT part's command.
  const i = argv.indexOf('--data-dir');
  const dataDir = i >= 0 ? argv[i + 1] : undefined;
  const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
  let store: Store | null = null;
  try {
    return await mosquittoConfigCommand(rest, {
      listDevices: () => {
        if (!dataDir) return [];
        store ??= Store.open(dataDir);
        return store.devices.list().filter((d) => !d.revoked).map((d) => ({ id: d.id }));
      },
      stdout: (line) => process.stdout.write(`${line}\n`),
      stderr: (line) => process.stderr.write(`${line}\n`),
    });
  } finally {
    (store as Store | null)?.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return run(rest);
    case 'mosquitto-config':
      return mosquittoConfig(rest);
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`error: ${cmd ? `unknown command "${cmd}"` : 'no command given'}\n${USAGE}`);
      return 2;
  }
}

if (isEntryPoint(import.meta.url)) await runMain('edgefleet-hub', main);
