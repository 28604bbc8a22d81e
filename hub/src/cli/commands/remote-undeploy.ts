// `edgefleet undeploy ID --reason TEXT [--yes] [--dry-run]` (docs/cli.md, docs/hub.md "Undeploy"): a dry
// run first names how many devices stop serving the model; more than 10 need --yes, which sends that
// count as confirmDevices (the hub refuses the undeploy if the count changed in between).
import type { UndeployResult } from '@edgefleet/shared';
import { UsageError, optBool, reqString, type Command } from '../args.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { deploymentIdArg } from './remote-deploy.js';

/** Above this many devices --yes is needed (the hub's CONFIRMATION_REQUIRED bound, hub/src/deployments/undeploy.ts). */
const CONFIRM_ABOVE = 10;

function describe(r: UndeployResult, done: boolean): string {
  const verb = done ? 'undeployed' : 'would undeploy';
  const superseded = r.superseded ? `; ${r.superseded} device(s) had moved on to a newer deployment (no change for them)` : '';
  return `deployment ${r.deploymentId}: ${verb}: ${r.devices} device(s) ${done ? 'told' : 'to be told'} to stop serving the model${superseded}\n`;
}

export const undeployCmd: Command = {
  summary: 'Take a deployment\'s model off the devices it is the effective assignment of (audited, with a reason)',
  usage: 'ID --reason TEXT [--yes] [--dry-run] [--json]',
  details: 'Each device whose current assignment of the model is this deployment gets a desired document telling it to\n'
    + 'stop serving the model (the box keeps the files for a while; a later deploy of the model wins).\n'
    + 'A dry run is done first; more than 10 devices need --yes. A deployment a running or paused rollout owns is refused.',
  positionals: [{ name: 'ID', description: 'deployment id (edgefleet deployments ls)', required: true }],
  options: {
    ...HUB_OPTIONS,
    reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log, shown to callers of the box\'s API)' },
    yes: { type: 'boolean', short: 'y', description: 'confirm an undeploy reaching more than 10 devices' },
    'dry-run': { type: 'boolean', description: 'print how many devices it reaches and change nothing' },
  },
  async run(args, ctx) {
    const id = deploymentIdArg(args.positionals[0] as string);
    const reason = reqString(args, 'reason');
    const json = optBool(args, 'json');
    const client = HubClient.from(args, ctx);
    const path = (extra: string) => `/deployments/${id}?reason=${encodeURIComponent(reason)}${extra}`;
    const dry = await client.request<UndeployResult>('DELETE', path('&dryRun=true'));
    const show = (r: UndeployResult, done: boolean) => ctx.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : describe(r, done));
    if (optBool(args, 'dry-run')) {
      show(dry, false);
      return 0;
    }
    if (dry.devices > CONFIRM_ABOVE && !optBool(args, 'yes')) {
      throw new UsageError(`undeploying deployment ${id} reaches ${dry.devices} devices (more than ${CONFIRM_ABOVE}): add --yes to confirm`);
    }
    const r = await client.request<UndeployResult>('DELETE', path(dry.devices > CONFIRM_ABOVE ? `&confirmDevices=${dry.devices}` : ''));
    show(r, true);
    return 0;
  },
};
