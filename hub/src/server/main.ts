#!/usr/bin/env node
// `edgefleet-hub`, the hub server's program: `run` loads the config, starts the Hub and stops it on
// SIGTERM/SIGINT (server/run.ts); `mosquitto-config` writes the configuration for an external Mosquitto
// broker; `backup` and `restore` (server/backup.ts, server/restore.ts). Parsing, --help, errors and exit
// codes follow the shared convention (@edgefleet/shared/cli, docs/cli.md). The table holds what --help
// shows; a command's code is imported when that command runs, so --help and the small commands do not
// load the server (docs/decisions/0144-hub-entry-loads-per-command.md).
import { dispatch, processContext, type CliContext, type Command, type OptionSpec, type Program } from '@edgefleet/shared/cli';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';
import { RUN_FLAGS } from '../config-load.js';
import { mosquittoConfigCommand, type MosquittoConfigDeps } from '../mqtt/mosquitto-config.js';
import { HUB_VERSION } from '../version.js';

const runOptions: Record<string, OptionSpec> = Object.fromEntries(
  Object.entries(RUN_FLAGS).map(([flag, f]) => [flag, {
    type: f.kind === 'int' ? 'integer' : 'string', value: f.value, description: f.description, ...(f.kind === 'list' ? { multiple: true } : {}),
  } satisfies OptionSpec]),
);

const runCommand: Command = {
  summary: 'Run the hub: HTTP API, MQTT broker (or a link to an external one), fleet sync; stops on SIGTERM/SIGINT',
  details:
    'On first start it creates DATA/hub.key unless --hub-key is given, stores the --trust document (which must\n'
    + 'list the hub key; a --trust without --hub-key or DATA/hub.key is refused, as no new key is in it) and\n'
    + 'prints a new admin token once (saved in DATA/admin.token). It creates\n'
    + 'DATA/content-keys.key unless --content-keys is given: the key file wrapping the content keys of sealed\n'
    + 'models in the database (mode 0600; never in the database). A --content-keys file must exist, and\n'
    + 'every hub on one database needs a copy of the same one (docs/hub.md "Several hubs"). The files it makes\n'
    + 'are never replaced: hubs started at once on one new data dir all use the first one\'s. The log line\n'
    + '"msg":"hub ready" carries the HTTP and MQTT addresses. A bad config exits 1 naming the field; a trust\n'
    + 'document or TLS files it cannot use exit 1 before anything is made in the data dir.',
  usage: '[--data-dir DIR] [--config FILE] [--http-port PORT] [--mqtt-port PORT] [--trust FILE] [--hub-key FILE] [more options below]',
  options: runOptions,
  run: async (args, ctx) => (await import('./run.js')).runHub(args, ctx),
};

const backupCommand: Command = {
  summary: 'Back up a hub data dir while the hub runs: hub.db (SQLite online backup), blobs, keys and trust',
  details:
    'Writes hub.db, the blob files it lists, the other files of the data dir and backup.json (every file\n'
    + 'with its sha256) into --out, a new or empty directory (0700: it holds the hub key if the data dir does).\n'
    + 'Restore it with `edgefleet-hub restore`. See docs/operations.md "Backup and restore".',
  options: {
    'data-dir': { type: 'string', required: true, value: 'DIR', description: 'the hub\'s data directory (the hub may be running)' },
    out: { type: 'string', required: true, value: 'DIR', description: 'a new or empty directory for the backup' },
    database: { type: 'string', value: 'URL', description: 'refused: a hub on PostgreSQL is backed up with pg_dump (docs/operations.md)' },
  },
  run: async (args, ctx) => (await import('./backup.js')).runBackup(args, ctx),
};

const restoreCommand: Command = {
  summary: 'Restore a backup into a new or empty data dir, after checking every file and the schema',
  details:
    'Checks every file against backup.json, hub.db with SQLite\'s integrity check, and that this hub knows\n'
    + 'its schema (a backup from a newer hub is refused with SCHEMA_TOO_NEW), then fills --data-dir.\n'
    + 'Start the hub on it as usual; a backup from an older hub is migrated at that start. Run as root into an\n'
    + 'existing data dir another user owns (the service\'s), the restored files get that owner.',
  options: {
    from: { type: 'string', required: true, value: 'DIR', description: 'a directory written by edgefleet-hub backup' },
    'data-dir': { type: 'string', required: true, value: 'DIR', description: 'the new or empty data directory to fill' },
  },
  run: async (args, ctx) => (await import('./restore.js')).runRestore(args, ctx),
};

/** mosquitto-config's devices: none without --data-dir and --database; else read from the hub's store. */
const listDevices: MosquittoConfigDeps['listDevices'] = async (dataDir, database) =>
  dataDir === undefined && database === undefined ? [] : (await import('./store-devices.js')).storeDevices(dataDir, database);

/** The program; tests pass their own device list to mosquitto-config. */
export function hubServerProgram(deps: MosquittoConfigDeps = { listDevices }): Program {
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
