// The operator actions on a rollout (docs/rollouts.md "Operator actions", docs/cli.md): promote (--accept GATE,
// --full) | unaccept --gate GATE | pause | resume | abort | rollback, each with --reason.
import { GateName, RolloutId, type Rollout } from '@edgefleet/shared';
import { UsageError, optBool, optStrings, reqString, usageProblem, type Command, type ParsedArgs } from '../args.js';
import { printResult } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { choiceProblem } from './parse.js';

/** A rollout id given as ID (`rollout show`, the actions): of the wrong form, a bad command line, not the hub's NOT_FOUND. */
export function rolloutIdArg(raw: string): string {
  if (!RolloutId.safeParse(raw).success) throw new UsageError(`rollout id "${raw}": expected a rollout id like ro-1a2b3c4d5e (see edgefleet rollout ls)`);
  return raw;
}

/** A Command's check: the ID positional's form (rolloutIdArg). */
export const rolloutIdProblem = (args: ParsedArgs) => [args.positionals[0] === undefined ? undefined : usageProblem(() => rolloutIdArg(args.positionals[0] as string))];

/** `--accept GATE` / `--gate GATE`: a gate's name, checked before anything is sent, with the one likely meant. */
const gateCheck = choiceProblem(GateName.options);

type Action = 'promote' | 'unaccept' | 'pause' | 'resume' | 'abort' | 'rollback';
const AIMS: Record<Action, Rollout['state']> = { promote: 'running', unaccept: 'running', pause: 'paused', resume: 'running', abort: 'aborted', rollback: 'rolled_back' };

/**
 * The line an action prints. The hub judges a resumed or promoted wave at once, so the rollout may answer in
 * another state than the action aims at (a failed wave resumed pauses again): then the line says why.
 */
export function actionLine(action: Action, r: Rollout, given?: string): string {
  const wave = r.state === 'running' ? `, wave ${r.waves[r.currentWave]?.name} ${r.waves[r.currentWave]?.state}` : '';
  // A rollback's reason adds the devices it had nothing to return to (hub/src/rollouts/judge.ts), an abort's
  // the told devices that still switch (hub/src/rollouts/actions.ts).
  const why = (r.state !== AIMS[action] || ((action === 'rollback' || action === 'abort') && r.stateReason !== given)) && r.stateReason ? ` (${r.stateReason})` : '';
  // promote --full: which wave opens the rest of the fleet once the current one passes.
  const full = r.waves[r.currentWave]?.full && r.state === 'running' ? `; once it passes, wave ${r.waves.at(-1)?.name} opens (every remaining device)` : '';
  return `rollout ${r.id}: ${r.state}${wave}${why}${full}\n`;
}

const PROMOTE_OPTIONS = {
  accept: { type: 'string', multiple: true, value: 'GATE', check: gateCheck, description: 'accept this blocking gate of the current wave, pending or failed on a paused rollout (repeatable): it no longer blocks the wave, judged again now' },
  full: { type: 'boolean', description: 'once the current wave passes (its gates still judge, unless accepted), open the last wave at once: every remaining device; the waves between are skipped' },
} as const;
const UNACCEPT_OPTIONS = {
  gate: { type: 'string', multiple: true, value: 'GATE', required: true, check: gateCheck, description: 'a gate accepted on the current wave (repeatable): it blocks the wave again, judged now' },
} as const;

function actionCmd(action: Action, summary: string, usage = 'ID --reason R [--json]'): Command {
  return {
    summary, usage,
    positionals: [{ name: 'ID', description: 'rollout id (edgefleet rollout ls)', required: true }],
    options: {
      ...HUB_OPTIONS, reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' },
      // promote --accept GATE (docs/rollouts.md "Accepting a gate"), --full ("Promoting to the full fleet").
      ...(action === 'promote' ? PROMOTE_OPTIONS : action === 'unaccept' ? UNACCEPT_OPTIONS : {}),
    },
    check: rolloutIdProblem,
    async run(args, ctx) {
      const id = args.positionals[0] as string;
      const reason = reqString(args, 'reason');
      const body: Record<string, unknown> = { reason };
      if (action === 'promote') {
        const gates = optStrings(args, 'accept');
        if (gates.length) body.acceptGates = gates;
        if (optBool(args, 'full')) body.full = true;
      }
      if (action === 'unaccept') {
        const gates = optStrings(args, 'gate');
        if (!gates.length) throw new UsageError('--gate: expected a gate accepted on the current wave, e.g. --gate latency_p95');
        body.gates = gates;
      }
      const r = await HubClient.from(args, ctx).request<Rollout>('POST', `/rollouts/${encodeURIComponent(id)}/${action}`, body);
      printResult(ctx.stdout, optBool(args, 'json'), r, () => actionLine(action, r, reason));
      return 0;
    },
  };
}

export const rolloutPromote = actionCmd('promote', "Skip the rest of the current wave's bake, or move a passed wave on (manual advance); --accept GATE: accept a held or failed gate of the current wave; --full: once the current wave passes, send the rest of the fleet at once",
  'ID [--accept GATE]... [--full] --reason R [--json]');
export const rolloutUnaccept = actionCmd('unaccept', 'Take back a gate accepted on the current wave while it is still judged: it blocks the wave again', 'ID --gate GATE... --reason R [--json]');
export const rolloutPause = actionCmd('pause', 'Pause a running rollout');
export const rolloutResume = actionCmd('resume', 'Resume a paused rollout (a failed or stuck wave is judged again)');
export const rolloutAbort = actionCmd('abort', 'Stop a rollout: devices not told never start; told ones keep what they were told (one not switched yet still switches when it can)');
export const rolloutRollback = actionCmd('rollback', 'Give every device the rollout switched its previous version');
