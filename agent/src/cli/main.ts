#!/usr/bin/env node
// edgefleet-agent: the daemon (`run`) and the local admin commands on a data dir.
// The composition root: the process glue. Parsing, --help, errors and exit codes follow the shared
// convention (@edgefleet/shared/cli, docs/cli.md). `run` dispatches on a table of its own, so the
// daemon loads none of the admin commands; every other command loads the whole table (table.ts).
import { dispatch, processContext, type CliContext, type Program } from '@edgefleet/shared/cli';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';
import { AGENT_VERSION } from '../version.js';
import { loadWire } from '../wire.js';
import { run } from './run.js';

const daemonOnly: Program = {
  name: 'edgefleet-agent',
  summary: 'The edgefleet agent: the daemon and the local admin commands on its data dir.',
  version: AGENT_VERSION,
  commands: { run },
};

/** Runs the program with `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  if (argv[0] === 'run') return dispatch(daemonOnly, argv, ctx);
  // The admin commands parse stored documents (trust, credentials, manifests): schemas loaded first.
  const [{ agentCli }] = await Promise.all([import('./table.js'), loadWire()]);
  return dispatch(agentCli, argv, ctx);
}

if (isEntryPoint(import.meta.url)) await runMain('edgefleet-agent', main);
