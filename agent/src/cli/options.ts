// The options that find the data dir (--data-dir, --config; docs/agent.md), on every command that
// reads it. Apart from common.ts so that `run` can use them without loading the config schema.
import { optString, type CliContext, type Command, type CommandTable, type OptionSpec, type ParsedArgs } from '@edgefleet/shared/cli';

/** --data-dir and --config, on every command that reads the data dir. */
export const dataDirOptions: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', value: 'DIR', description: 'the agent\'s data directory (default: $EDGEFLEET_AGENT_DATA, else "dataDir" of the config file)' },
  config: { type: 'string', value: 'FILE', description: 'agent.json (default: $EDGEFLEET_AGENT_CONFIG)' },
};

/** Where a data dir may come from, said when none does (here and by ../config-merge.ts, for `run`). */
export const DATA_DIR_SOURCES = '--data-dir DIR, "dataDir" in the config file, or EDGEFLEET_AGENT_DATA';

/**
 * The data dir given by none of --data-dir, EDGEFLEET_AGENT_DATA, a config file (--config,
 * EDGEFLEET_AGENT_CONFIG: whether it names one is judged when it is read), or undefined.
 */
export function dataDirProblem(args: ParsedArgs, env: CliContext['env']): string | undefined {
  const given = optString(args, 'data-dir') ?? (env['EDGEFLEET_AGENT_DATA'] || undefined) ?? optString(args, 'config') ?? (env['EDGEFLEET_AGENT_CONFIG'] || undefined);
  return given === undefined ? `missing the data dir: expected ${DATA_DIR_SOURCES}` : undefined;
}

/**
 * `table` with each admin command on the data dir (its --data-dir is dataDirOptions') naming dataDirProblem in its
 * check, with the command line's other mistakes (docs/decisions/0148-usage-errors-name-every-problem.md). Not `run`:
 * the daemon's config, found nowhere, is its exit 1 (docs/agent.md); not `enroll`, whose check names its own.
 */
export function checkingDataDir(table: CommandTable): CommandTable {
  return Object.fromEntries(Object.entries(table).map(([name, cmd]): [string, Command] => [name, name === 'run' || cmd.options['data-dir'] !== dataDirOptions['data-dir'] ? cmd : {
    ...cmd, check: (args, env) => [dataDirProblem(args, env), ...(cmd.check?.(args, env) ?? [])],
  }]));
}
