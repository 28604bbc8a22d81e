#!/usr/bin/env node
// `edgefleet`, the operator CLI (bin of @edgefleet/hub). The composition root:
// the command table keyed by the full command words, and the process glue.
// Adding a command is adding one entry to `commands`; see args.ts for Command.
// Exit codes: 0 success, 1 the operation failed, 2 bad command line (docs/cli.md).
import { dispatch, type CommandTable } from './args.js';
import type { CliContext } from './output.js';
import { keysGenerate } from './commands/keys.js';
import { trustInit, trustRotate } from './commands/trust.js';
import { modelInspect, modelPack, modelSign, modelVerify } from './commands/model-offline.js';
import {
  auditCmd, devicesAdd, devicesLs, devicesRevoke, devicesRotateSecret, devicesShow, devicesTag, enrollTokenCreate, enrollTokenLs, tokensCreate, tokensLs, tokensRevoke,
} from './commands/remote-fleet.js';
import { modelDeprecate, modelLs, modelPush, modelShow, modelTotals } from './commands/remote-models.js';
import { deployCmd, deploymentsLs, deploymentsShow } from './commands/remote-deploy.js';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';

export const commands: CommandTable = {
  'keys generate': keysGenerate,
  'trust init': trustInit,
  'trust rotate': trustRotate,
  'model pack': modelPack,
  'model sign': modelSign,
  'model verify': modelVerify,
  'model inspect': modelInspect,
  // remote (talk to a hub: --hub URL --token T or EDGEFLEET_HUB / EDGEFLEET_TOKEN)
  'devices ls': devicesLs,
  'devices show': devicesShow,
  'devices add': devicesAdd,
  'devices revoke': devicesRevoke,
  'devices tag': devicesTag,
  'devices rotate-secret': devicesRotateSecret,
  'enroll-token create': enrollTokenCreate,
  'enroll-token ls': enrollTokenLs,
  'model push': modelPush,
  'model ls': modelLs,
  'model show': modelShow,
  'model deprecate': modelDeprecate,
  'model totals': modelTotals,
  'tokens create': tokensCreate,
  'tokens ls': tokensLs,
  'tokens revoke': tokensRevoke,
  audit: auditCmd,
  deploy: deployCmd,
  'deployments ls': deploymentsLs,
  'deployments show': deploymentsShow,
};

export function processContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
  };
}

/** Runs the CLI with `argv` (without node and the script) and resolves to the exit code. */
export function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  return dispatch(commands, argv, ctx);
}

if (isEntryPoint(import.meta.url)) await runMain('edgefleet', main);
