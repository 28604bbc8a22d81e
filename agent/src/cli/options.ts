// The options that find the data dir (--data-dir, --config; docs/agent.md), on every command that
// reads it. Apart from common.ts so that `run` can use them without loading the config schema.
import type { OptionSpec } from '@edgefleet/shared/cli';

/** --data-dir and --config, on every command that reads the data dir. */
export const dataDirOptions: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', value: 'DIR', description: 'the agent\'s data directory (default: $EDGEFLEET_AGENT_DATA, else "dataDir" of the config file)' },
  config: { type: 'string', value: 'FILE', description: 'agent.json (default: $EDGEFLEET_AGENT_CONFIG)' },
};
