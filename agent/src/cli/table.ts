// The agent's whole command table (every command, for dispatch and --help); cli/main.ts loads it for
// anything but `run`.
import type { Program } from '@edgefleet/shared/cli';
import { AGENT_VERSION } from '../version.js';
import { batchCommand } from '../batch/cli.js';
import { summariesCommand } from '../summaries/cli.js';
import { enrollCommand } from './enroll.js';
import { activate, install, keyShow, models, rollback, status, trustSet } from './local.js';
import { checkingDataDir } from './options.js';
import { run } from './run.js';

export const agentCli: Program = {
  name: 'edgefleet-agent',
  summary: 'The edgefleet agent: the daemon and the local admin commands on its data dir.',
  version: AGENT_VERSION,
  // A missing data dir is named with the command line's other mistakes (./options.ts).
  commands: checkingDataDir({
    run,
    enroll: enrollCommand,
    status,
    'trust set': trustSet,
    install,
    'key show': keyShow,
    models,
    activate,
    rollback,
    summaries: summariesCommand,
    batch: batchCommand,
  }),
};

