// Staged rollout commands (docs/rollouts.md, docs/cli.md): `rollout create` (waves from --wave
// NAME:PERCENT%[:bake=DURATION][:min=N], or a staging ring NAME:tag=K=V[:tag=K=V]...[:bake=D][:min=N]), `rollout ls`, `rollout show ID [--watch]` (waves, each gate's
// value against its threshold with sample sizes, device states; redrawn until the rollout ends), and the
// operator actions (remote-rollout-actions.ts).
import { AppError, GateConfig, RolloutId, ShadowStage, describeWindow, escapeLines, gateCondition, gateValue, gateVerdict, promoteWait, promoteWaitText, waveLabel, type GateResult, type Rollout, type RolloutPreview, type Wave } from '@edgefleet/shared';
import { UsageError, optBool, optString, optStrings, problemOf, reqString, usageProblem, type Command, type ParsedArgs } from '../args.js';
import { table, type CliContext, type Writer } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { watchUntil } from '../watch.js';
import { MODEL_VERSION, SHOW_DEVICES, TARGET_OPTIONS, describeTarget, devicesQuery, intervalMs, moreDevices, showOptions, showProblems, targetFrom, targetProblems } from './remote-deploy.js';
import { WINDOW_OPTION, parseWindowOption } from './window-option.js';
import { choiceProblem, parseChoice, parseDuration, wellFormed } from './parse.js';
import { closest } from '@edgefleet/shared/cli';
import { HISTORY_OPTIONS, HISTORY_USAGE, readHistory } from './history-page.js';
import { rolloutIdArg } from './remote-rollout-actions.js';


/**
 * `canary:10%:bake=30m:min=2` → a percent wave; `staging:tag=env=staging:bake=10m` → a staging ring
 * (tag= repeatable). Bake 0 when not given.
 */
export function parseWave(text: string): Wave {
  const [name, first, ...rest] = text.split(':');
  const p = /^(\d+(?:\.\d+)?)%?$/.exec(first ?? '');
  const ring = first?.startsWith('tag=') === true;
  if (!name || (!p && !ring)) throw new UsageError(`--wave ${text}: expected NAME:PERCENT%[:bake=DURATION][:min=N], e.g. canary:10%:bake=30m:min=2, or a staging ring NAME:tag=KEY=VALUE[:bake=DURATION], e.g. staging:tag=env=staging:bake=10m`);
  const w: Wave = { name, bakeSec: 0, ...(p ? { percent: Number(p[1]) } : {}) };
  const once = new Set<string>();
  for (const opt of ring ? [first as string, ...rest] : rest) {
    const [k, ...vs] = opt.split('=');
    if ((k === 'bake' || k === 'min') && once.has(k)) throw new UsageError(`--wave ${text}: ${k}= is given twice: expected it once`);
    if (k) once.add(k);
    const v = vs.join('=');
    const tag = /^([^=]+)=(.*)$/.exec(v);
    if (k === 'bake' && v) w.bakeSec = parseDuration(v, `--wave ${text}: bake`);
    else if (k === 'min' && /^\d+$/.test(v)) w.minDevices = Number(v);
    else if (k === 'tag' && ring && tag && !Object.hasOwn(w.tags ?? {}, tag[1] as string)) w.tags = { ...w.tags, [tag[1] as string]: tag[2] as string };
    else if (k === 'tag' && ring && tag) throw new UsageError(`--wave ${text}: tag ${tag[1]} is given twice: expected each key once`);
    else throw new UsageError(`--wave ${text}: unknown part "${opt}": expected bake=DURATION${ring ? ', min=N or tag=KEY=VALUE' : ' or min=N'}`);
  }
  return w;
}

/**
 * `--gate` / `--shadow` KEY=NUMBER settings: a key outside the request schema's (a typo) or given twice is a
 * bad command line naming the keys expected, rather than the hub's 400 or the last value kept.
 */
function parseSettings(list: readonly string[], what: string, keys: readonly string[], example: string, alt = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) {
    const m = /^([A-Za-z0-9]+)=(-?\d+(?:\.\d+)?)$/.exec(x);
    if (!m) throw new UsageError(`${what} ${x}: expected ${alt}KEY=NUMBER, e.g. ${example}`);
    const k = m[1] as string;
    const meant = keys.includes(k) ? undefined : closest(k, keys);
    if (!keys.includes(k)) throw new UsageError(`${what} ${x}: unknown key "${k}": expected one of ${keys.join(', ')}${meant ? `; did you mean "${meant}"?` : ''}`);
    if (Object.hasOwn(out, k)) throw new UsageError(`${what} ${k} is given twice (${k}=${out[k]} and ${x}): expected each key once`);
    out[k] = Number(m[2]);
  }
  return out;
}

/**
 * The --wave list: each wave parsed, and a wave name given twice (`--wave a:50% --wave a:100%`) a bad command line
 * naming both, with the command line's other problems (docs/cli.md "Options given more than once"), not the hub's 400.
 */
function wavesOf(list: readonly string[]): Wave[] {
  const waves = list.map(parseWave);
  for (const [k, w] of waves.entries()) {
    const first = waves.findIndex((x) => x.name === w.name);
    if (first < k) throw new UsageError(`--wave ${w.name} is given twice (${list[first]} and ${list[k]}): expected each wave name once`);
  }
  return waves;
}

const gatesOf = (list: readonly string[]) => parseSettings(list, '--gate', Object.keys(GateConfig.shape), 'minPredictions=500');
const shadowOf = (list: readonly string[]) => parseSettings(list.filter((x) => x !== 'on'), '--shadow', Object.keys(ShadowStage.shape), 'sampleRate=0.1', '"on" or ');
const ON_FAILURE = ['rollback', 'pause'] as const;

/** The options of a rollout's waves, gates, advance and failure action (rollout create, config set --rollout). */
export const POLICY_OPTIONS = {
  wave: { type: 'string', multiple: true, value: 'NAME:PCT%[:bake=D][:min=N]', description: 'a wave (repeatable, cumulative percents, the last 100%); NAME:tag=K=V[:bake=D] is a staging ring (first)', check: problemOf(parseWave) },
  gate: { type: 'string', multiple: true, value: 'KEY=NUMBER', description: 'a gate threshold, e.g. minPredictions=500 or outputPsi=0.1 (repeatable; docs/rollouts.md)', check: problemOf((x) => gatesOf([x])) },
  manual: { type: 'boolean', description: 'wait for `rollout promote` after each passed wave' },
  'on-failure': { type: 'string', value: 'rollback|pause', description: 'what a failed gate does (default rollback)', check: choiceProblem(ON_FAILURE) },
} as const satisfies Command['options'];

const SHADOW_OPTION = {
  shadow: { type: 'string', multiple: true, value: 'on|KEY=NUMBER', description: 'start with a shadow stage: "on" for its defaults, or a setting such as sampleRate=0.1, bakeSec=600, minAgreement=0.9, threshold=0.5, replay=200 (repeatable; docs/rollouts.md "Shadow stage", "Replay check")', check: problemOf((x) => shadowOf([x])) },
} as const satisfies Command['options'];

const checkId = (id: string) => {
  if (!RolloutId.safeParse(id).success) throw new UsageError(`--id ${id}: expected a rollout id like ro-1a2b3c4d5e, as "rollout create --dry-run" proposes it`);
};

/** POLICY_OPTIONS' problems of several values together (a Command's check): a --wave name or a --gate key given twice. */
export const policyProblems = (args: ParsedArgs) => [
  usageProblem(() => wavesOf(wellFormed(optStrings(args, 'wave'), POLICY_OPTIONS.wave.check))),
  usageProblem(() => gatesOf(wellFormed(optStrings(args, 'gate'), POLICY_OPTIONS.gate.check))),
];

/** The request fields POLICY_OPTIONS give (absent ones left to the hub's defaults). */
export function policyFrom(args: ParsedArgs): { advance: 'auto' | 'manual'; waves?: Wave[]; onFailure?: 'rollback' | 'pause'; gates?: Record<string, number> } {
  const waves = wavesOf(optStrings(args, 'wave'));
  const given = optString(args, 'on-failure');
  const onFailure = given === undefined ? undefined : parseChoice(given, ON_FAILURE, '--on-failure');
  const gates = gatesOf(optStrings(args, 'gate'));
  return {
    advance: optBool(args, 'manual') ? 'manual' : 'auto',
    ...(waves.length ? { waves } : {}), ...(onFailure ? { onFailure } : {}), ...(Object.keys(gates).length ? { gates } : {}),
  };
}

const print = (out: Writer, json: boolean, value: unknown, text: () => string) =>
  out.write(json ? `${JSON.stringify(value, null, 2)}\n` : escapeLines(text()));

const FINAL = new Set(['completed', 'rolled_back', 'aborted']);

function gateLine(g: GateResult): string[] {
  return [`  ${g.name}${g.blocking ? '' : ' (shown)'}`, gateValue(g), gateCondition(g), `${g.samples.wave} / ${g.samples.control}`, g.against, gateVerdict(g), g.note ?? ''];
}

/** What a rollout rolls: `MODEL FROM -> TO`, or `config SCOPE vFROM -> vTO`. */
export function subjectOf(r: Pick<Rollout, 'model' | 'version' | 'fromVersion' | 'config'>): string {
  return r.config ? `config ${r.config.scope} v${r.config.fromVersion} -> v${r.config.version}` : `${r.model} ${r.fromVersion ?? '(none)'} -> ${r.version}`;
}

/**
 * A wave passed under manual advance waits for `promote` (the last one too, to complete): the rollout stays
 * `running` and no state change says so, so `rollout show`, `--watch` and `rollout ls` say it (docs/rollouts.md "CLI";
 * shared/src/rollout-wait.ts, which the console's rollout page says too).
 */
export function waitingForPromote(r: Pick<Rollout, 'id' | 'state' | 'advance' | 'currentWave' | 'waves'>): string | null {
  const p = promoteWait(r);
  return p && promoteWaitText(p, `edgefleet rollout promote ${r.id} --reason "..."`);
}

/**
 * A wave's note: why a skipped wave never ran (the rollout ended, or an earlier wave was promoted to the full
 * fleet), who promoted a wave to the full fleet, when a judged wave pauses if a gate stays pending, else its bake.
 */
function waveNote(r: Rollout, k: number): string {
  const w = r.waves[k]!;
  const full = r.waves.slice(0, k).find((x) => x.full)?.full;
  if (w.state === 'skipped') return full ? `skipped: promoted to the full fleet by ${full.by} at ${full.at}` : 'never started: the rollout ended before it';
  if (w.full && k === r.currentWave) return `promoted to the full fleet by ${w.full.by} (${w.full.reason}): once it passes, wave ${r.waves.at(-1)?.name} opens`;
  if (w.pausesAt) return `pauses at ${w.pausesAt} if a gate is still pending (gates.stuckSec)`;
  return w.bakeUntil ? `bake until ${w.bakeUntil}` : `bake ${w.bakeSec} s`;
}

/** The text of `rollout show`: state, waves with their gates, and the devices. */
export function renderRollout(r: Rollout): string {
  const head = escapeLines(`rollout ${r.id}: ${subjectOf(r)} over ${describeTarget(r.target)}\n`
    + `${r.state}${r.stateBy ? ` by ${r.stateBy} at ${r.stateAt ?? '?'}` : ''}${r.stateReason ? ` (${r.stateReason})` : ''}; advance ${r.advance}, on failure ${r.onFailure}; created by ${r.createdBy}: ${r.reason}\n`
    + (waitingForPromote(r) !== null ? `${waitingForPromote(r)}\n` : '')
    + (r.window ? `switches in the maintenance window ${describeWindow(r.window)}; deferred devices wait ${r.gates.deferTimeoutSec ?? 3600} s\n` : '')
    + (r.allowBackendMismatch ? 'sent whatever the backend (--allow-backend-mismatch)\n' : '') + '\n');
  const rows: string[][] = [];
  for (const [k, w] of r.waves.entries()) {
    rows.push([`${k === r.currentWave && r.state === 'running' ? '>' : ' '} ${waveLabel(w)}`, `${w.notified}/${w.devices} told`, '', '', '', w.state, waveNote(r, k)]);
    for (const g of w.gates) rows.push(gateLine(g));
  }
  const waves = table(['WAVE / GATE', 'VALUE', 'THRESHOLD', 'SAMPLES WAVE/CONTROL', 'AGAINST', 'VERDICT', 'NOTE'], rows);
  // WHY: the hub's reason for a device's status (held back, refused, failed), when any device has one.
  const why = r.devices?.some((d) => d.reason) ?? false;
  const devs = r.devices ? `\n${table(['DEVICE', 'PLACE', 'WAVE', 'PREVIOUS', 'STATUS', ...(why ? ['WHY'] : [])], r.devices.map((d) => [d.deviceId, d.place.toFixed(2), d.wave, d.previous ?? '-', d.status, ...(why ? [d.reason ?? ''] : [])]))}${moreDevices(r.devices.length, r.devicesTotal, 'by place')}` : '';
  return head + waves + devs;
}

/**
 * The hub names a wave by its index (`waves[1].percent: …`); the command line had it as the (k+1)th --wave:
 * the refusal gets which one it was, e.g. `(waves[1] is --wave all:90%)`.
 */
export function namingWaves(err: unknown, waves: readonly string[]): unknown {
  if (!(err instanceof AppError) || waves.length === 0) return err;
  const named = [...new Set([...err.message.matchAll(/\bwaves\[(\d+)\]/g)].map((m) => Number(m[1])))].filter((k) => k < waves.length);
  if (named.length === 0) return err;
  return new AppError(err.code, `${err.message} (${named.map((k) => `waves[${k}] is --wave ${waves[k]}`).join(', ')})`, { cause: err, details: err.details });
}

/**
 * The text of `rollout create --dry-run`: the devices each wave would take (POST /rollouts/preview) and how
 * to create exactly that rollout (docs/rollouts.md "Preview").
 */
export function renderPreview(p: RolloutPreview): string {
  const waves = table(['WAVE', 'DEVICES', 'ADDS'], p.waves.map((w) => [waveLabel(w), String(w.devices), String(w.joiningCount)]));
  const rows = p.waves.flatMap((w) => w.joining.map((d) => [w.name, d.deviceId, d.previous ?? '-']));
  const unlisted = p.waves.reduce((n, w) => n + w.joiningCount - w.joining.length, 0);
  return escapeLines(`dry run, nothing created: rollout ${p.id} would take ${p.model} ${p.fromVersion ?? '(none)'} -> ${p.version} to ${p.devices} device(s)\n\n`)
    + `${waves}\n${table(['WAVE', 'DEVICE', 'RUNS NOW'], rows)}`
    + (unlisted ? `(${unlisted} more device(s) not listed: at most 200 a wave)\n` : '')
    + escapeLines(`to take exactly these devices: the same command without --dry-run, with --id ${p.id}\n`);
}

export const rolloutCreate: Command = {
  summary: 'Start a staged rollout: waves of the target, each judged by gates before the next',
  usage: 'MODEL VERSION (--all | --tag K=V | --devices a,b) [--wave NAME:PCT%[:bake=30m][:min=N] | --wave NAME:tag=K=V[:bake=30m]]... [--gate KEY=N]... [--shadow on|KEY=N]... [--window "CRON DURATION [TZ]"] [--allow-backend-mismatch] --reason R [--manual] [--on-failure pause] [--dry-run] [--id ID] [--json]',
  details: 'Defaults: --wave canary:5%:bake=30m:min=1 --wave all:100%; advance auto; on failure roll back (docs/rollouts.md).\n'
    + '--dry-run shows which devices each wave would take and the id that takes exactly them (--id ID on the same command).\n'
    + 'Follow it with `edgefleet rollout show ID --watch`.',
  positionals: MODEL_VERSION,
  options: {
    ...HUB_OPTIONS,
    ...TARGET_OPTIONS,
    ...POLICY_OPTIONS,
    ...SHADOW_OPTION,
    ...WINDOW_OPTION,
    'allow-backend-mismatch': { type: 'boolean', description: 'send it also to devices whose backend the hub found cannot load it (audited; docs/decisions/0129-model-backends-checked.md)' },
    reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' },
    'dry-run': { type: 'boolean', description: 'show which devices each wave would take, with the rollout id that takes exactly them; create nothing' },
    id: { type: 'string', value: 'ID', description: 'the id a --dry-run proposed: the waves take exactly the devices it showed', check: problemOf(checkId) },
  },
  // With the parser's checks of each value, one usage error names every mistake (docs/cli.md "Exit codes and errors").
  check: (args) => [
    ...targetProblems(args),
    ...policyProblems(args),
    usageProblem(() => shadowOf(wellFormed(optStrings(args, 'shadow'), SHADOW_OPTION.shadow.check))),
  ],
  async run(args, ctx) {
    const [model, version] = args.positionals as [string, string];
    const target = targetFrom(optString(args, 'devices'), optStrings(args, 'tag'), optBool(args, 'all'));
    const win = optString(args, 'window');
    const shadowArgs = optStrings(args, 'shadow');
    const shadow = shadowOf(shadowArgs);
    const id = optString(args, 'id');
    if (id !== undefined) checkId(id);
    const body = {
      model, version, target, reason: reqString(args, 'reason'), ...policyFrom(args),
      ...(win !== undefined ? { window: parseWindowOption(win) } : {}),
      ...(shadowArgs.length ? { shadow } : {}),
      ...(id !== undefined ? { id } : {}),
      ...(optBool(args, 'allow-backend-mismatch') ? { allowBackendMismatch: true } : {}),
    };
    const send = <T>(path: string) => HubClient.from(args, ctx).request<T>('POST', path, body).catch((err: unknown) => { throw namingWaves(err, optStrings(args, 'wave')); });
    if (optBool(args, 'dry-run')) {
      const p = await send<RolloutPreview>('/rollouts/preview');
      print(ctx.stdout, optBool(args, 'json'), p, () => renderPreview(p));
      return 0;
    }
    const r = await send<Rollout>('/rollouts');
    print(ctx.stdout, optBool(args, 'json'), r, () =>
      `rollout ${r.id}: ${r.model} ${r.version} over ${r.waves.at(-1)?.devices ?? 0} device(s), waves ${r.waves.map(waveLabel).join(' -> ')}\n`
      + `follow it: edgefleet rollout show ${r.id} --watch\n`);
    // A target reaching no device (a misspelt tag, say) is taken, since devices may join it later; say so.
    if ((r.waves.at(-1)?.devices ?? 0) === 0) {
      ctx.stderr.write(escapeLines(`note: ${describeTarget(target)} reaches no device now: the first wave waits for devices to join the target (gates.stuckSec then pauses it); if that was a mistake: edgefleet rollout abort ${r.id} --reason "empty target"\n`));
    }
    return 0;
  },
};

export const rolloutLs: Command = {
  summary: 'List rollouts, newest first, with their state and current wave', usage: HISTORY_USAGE, options: { ...HUB_OPTIONS, ...HISTORY_OPTIONS },
  async run(args, ctx) {
    const r = await readHistory<Rollout>(args, ctx, '/rollouts', 'rollouts', 'rollout ls');
    print(ctx.stdout, optBool(args, 'json'), r.json, () => table(['ID', 'SUBJECT', 'FROM', 'TO', 'STATE', 'WAVE', 'CREATED', 'REASON'],
      r.rows.map((x) => [x.id, x.config ? `config ${x.config.scope}` : x.model, x.fromVersion ?? '-', x.version, x.state, `${x.waves[x.currentWave]?.name ?? ''} ${x.waves[x.currentWave]?.state ?? ''}${waitingForPromote(x) !== null ? ', waiting for promote' : ''}`, x.created, x.reason])));
    return 0;
  },
};

/** Polls the rollout (`path`: its URL) every `intervalMs` until it completes, is rolled back or aborted, or SIGINT (cli/watch.ts). */
function watch(client: HubClient, path: string, ctx: CliContext, intervalMs: number): Promise<Rollout> {
  return watchUntil({
    fetch: () => client.request<Rollout>('GET', path),
    done: (r) => FINAL.has(r.state),
    render: renderRollout,
    line: (r) => `rollout ${r.id}: ${r.state} ${r.waves.map((w) => `${w.name}:${w.state}:${w.notified}/${w.devices}`).join(' ')}${waitingForPromote(r) !== null ? ' (waiting for promote)' : ''}`,
    doneText: (r) => r.state,
  }, ctx, intervalMs);
}

export const rolloutShow: Command = {
  summary: 'Show a rollout: waves, each gate against its threshold with sample sizes, devices (--watch: live)',
  usage: 'ID [--devices N|all] [--watch [--interval MS]] [--json]',
  details: '--watch redraws every second until the rollout completes (exit 0), is rolled back or aborted (exit 1, ROLLOUT_NOT_COMPLETED), or Ctrl-C.\n'
    + `Lists the first ${SHOW_DEVICES} devices by place (the waves count them all); --devices N lists N, --devices all every one.`,
  positionals: [{ name: 'ID', description: 'rollout id (edgefleet rollout ls)', required: true }],
  options: {
    ...HUB_OPTIONS,
    ...showOptions('lowest places first', 'the rollout ends'),
  },
  check: showProblems(rolloutIdArg),
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    const client = HubClient.from(args, ctx);
    const json = optBool(args, 'json');
    const path = `/rollouts/${encodeURIComponent(id)}${devicesQuery(optString(args, 'devices'))}`;
    if (optBool(args, 'watch')) {
      const r = await watch(client, path, json ? { ...ctx, stdout: { write: () => true } } : ctx, intervalMs(args));
      if (json) ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      // A script's `rollout show ID --watch && next-step` must not go on past a rollback (as kubectl rollout status).
      if (r.state === 'rolled_back' || r.state === 'aborted') {
        throw new AppError('ROLLOUT_NOT_COMPLETED', `rollout ${r.id} ended ${r.state}${r.stateReason ? ` (${r.stateReason})` : ''}; expected completed`);
      }
      return 0;
    }
    const r = await client.request<Rollout>('GET', path);
    print(ctx.stdout, json, r, () => renderRollout(r));
    return 0;
  },
};
