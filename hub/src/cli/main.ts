#!/usr/bin/env node
// `edgefleet`, the operator CLI (bin of @edgefleet/hub). The composition root:
// the command table keyed by the full command words, and the process glue.
// Adding a command is adding one entry to `commands`; parsing, --help, errors
// and exit codes follow the shared convention (@edgefleet/shared/cli, docs/cli.md).
import { dispatch, processContext, type CliContext, type CommandTable, type Program } from '@edgefleet/shared/cli';
import { keysGenerate } from './commands/keys.js';
import { trustInit, trustRotate } from './commands/trust.js';
import { modelInspect, modelPack, modelSign, modelVerify } from './commands/model-offline.js';
import { modelRekey, modelSeal } from './commands/model-sealed.js';
import {
  devicesAdd, devicesLs, devicesRevoke, devicesRotateSecret, devicesShow, devicesTag, enrollTokenCreate, enrollTokenLs, enrollTokenRevoke, tokensCreate, tokensLs, tokensRevoke,
} from './commands/remote-fleet.js';
import { auditCmd } from './commands/remote-audit.js';
import { modelDelete, modelDeprecate, modelLs, modelPush, modelShow, modelTotals } from './commands/remote-models.js';
import { deployCmd, deploymentsLs, deploymentsShow } from './commands/remote-deploy.js';
import { undeployCmd } from './commands/remote-undeploy.js';
import { rolloutCreate, rolloutLs, rolloutShow } from './commands/remote-rollout.js';
import { rolloutAbort, rolloutPause, rolloutPromote, rolloutResume, rolloutRollback, rolloutUnaccept } from './commands/remote-rollout-actions.js';
import { alertsAck, alertsUnack, alertsLs, alertsRulesAdd, alertsRulesLs, alertsRulesRm } from './commands/alerts.js';
import { configDiff, configSet, configShow } from './commands/remote-config.js';
import { driftCmd, driftReportCreate, driftReportLs, driftReportShow, metricsCmd } from './commands/drift.js';
import { captureFetch, captureKeygen, captureLs, captureShow, captureStart, captureStop, capturePurge } from './commands/capture.js';
import { retrainRequest } from './commands/retrain.js';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';
import { checkingHub } from './remote-client.js';
import { HUB_VERSION } from '../version.js';

// A remote command's missing --hub/--token is named with its other mistakes (checkingHub).
export const commands: CommandTable = checkingHub({
  'keys generate': keysGenerate,
  'trust init': trustInit,
  'trust rotate': trustRotate,
  'model pack': modelPack,
  'model sign': modelSign,
  'model verify': modelVerify,
  'model inspect': modelInspect,
  'model seal': modelSeal,
  'model rekey': modelRekey,
  // remote (talk to a hub: --hub URL --token T or EDGEFLEET_HUB / EDGEFLEET_TOKEN)
  'devices ls': devicesLs,
  'devices show': devicesShow,
  'devices add': devicesAdd,
  'devices revoke': devicesRevoke,
  'devices tag': devicesTag,
  'devices rotate-secret': devicesRotateSecret,
  'enroll-token create': enrollTokenCreate,
  'enroll-token ls': enrollTokenLs,
  'enroll-token revoke': enrollTokenRevoke,
  'model push': modelPush,
  'model ls': modelLs,
  'model show': modelShow,
  'model deprecate': modelDeprecate,
  'model delete': modelDelete,
  'model totals': modelTotals,
  'tokens create': tokensCreate,
  'tokens ls': tokensLs,
  'tokens revoke': tokensRevoke,
  audit: auditCmd,
  deploy: deployCmd,
  'deployments ls': deploymentsLs,
  'deployments show': deploymentsShow,
  undeploy: undeployCmd,
  'rollout create': rolloutCreate,
  'rollout ls': rolloutLs,
  'rollout show': rolloutShow,
  'rollout promote': rolloutPromote,
  'rollout unaccept': rolloutUnaccept,
  'rollout pause': rolloutPause,
  'rollout resume': rolloutResume,
  'rollout abort': rolloutAbort,
  'rollout rollback': rolloutRollback,
  metrics: metricsCmd,
  drift: driftCmd,
  'drift-reports create': driftReportCreate,
  'drift-reports ls': driftReportLs,
  'drift-reports show': driftReportShow,
  'alerts rules add': alertsRulesAdd,
  'alerts rules ls': alertsRulesLs,
  'alerts rules rm': alertsRulesRm,
  'alerts ls': alertsLs,
  'alerts ack': alertsAck,
  'alerts unack': alertsUnack,
  'capture keygen': captureKeygen,
  'capture start': captureStart,
  'capture ls': captureLs,
  'capture show': captureShow,
  'capture stop': captureStop,
  'capture fetch': captureFetch,
  'capture purge': capturePurge,
  'config show': configShow,
  'config set': configSet,
  'config diff': configDiff,
  'retrain-request': retrainRequest,
});

export const operatorCli: Program = {
  name: 'edgefleet',
  summary: 'The edgefleet operator CLI: keys, trust documents, signed model bundles, and a hub\'s devices, models and deployments.',
  version: HUB_VERSION,
  commands,
};

/** Runs the CLI with `argv` (without node and the script) and resolves to the exit code. */
export function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  return dispatch(operatorCli, argv, ctx);
}

if (isEntryPoint(import.meta.url)) await runMain('edgefleet', main);
