#!/usr/bin/env node
// edgefleet-agent: the daemon (`run`) and the local admin commands on a data dir.
// The composition root: the command table and the process glue. Parsing, --help,
// errors and exit codes follow the shared convention (@edgefleet/shared/cli, docs/cli.md).
import { dispatch, optString, processContext, type CliContext, type Command, type Program } from '@edgefleet/shared/cli';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';
import { runDaemon } from '../main.js';
import { AGENT_VERSION } from '../version.js';
import { batchCommand } from '../batch/cli.js';
import { summariesCommand } from '../summaries/cli.js';
import { dataDirOptions } from './common.js';
import { enrollCommand } from './enroll.js';
import { activate, install, models, rollback, status, trustSet } from './local.js';

const run: Command = {
  summary: 'run the daemon: the local OIP v2 API, and the hub link when enrolled; stops on SIGTERM/SIGINT',
  details: 'Logs {"msg":"ready","api":"http://127.0.0.1:8701"} when serving. A bad config exits 1 naming the field.',
  options: {
    ...dataDirOptions,
    'api-host': { type: 'string', value: 'HOST', description: 'address of the local API (default 127.0.0.1)' },
    'api-port': { type: 'integer', value: 'PORT', description: 'port of the local API, 0 for any free one (default 8701)' },
    'log-level': { type: 'string', value: 'LEVEL', description: 'trace, debug, info, warn, error, fatal or silent (default info)' },
    broker: { type: 'string', value: 'URL', description: 'MQTT broker URL instead of the one in credentials.json' },
  },
  async run(args, ctx) {
    await runDaemon(ctx.env, {
      dataDir: optString(args, 'data-dir'), config: optString(args, 'config'), apiHost: optString(args, 'api-host'),
      apiPort: optString(args, 'api-port'), logLevel: optString(args, 'log-level'), broker: optString(args, 'broker'),
    });
    return -1; // keep running until a signal
  },
};

export const agentCli: Program = {
  name: 'edgefleet-agent',
  summary: 'The edgefleet agent: the daemon and the local admin commands on its data dir.',
  version: AGENT_VERSION,
  commands: {
    run,
    enroll: enrollCommand,
    status,
    'trust set': trustSet,
    install,
    models,
    activate,
    rollback,
    summaries: summariesCommand,
    batch: batchCommand,
  },
};

/** Runs the program with `argv` (without node and the script) and resolves to the exit code. */
export function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  return dispatch(agentCli, argv, ctx);
}

if (isEntryPoint(import.meta.url)) await runMain('edgefleet-agent', main);
