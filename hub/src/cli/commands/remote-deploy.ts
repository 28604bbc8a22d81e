// Remote deployment commands: `deploy` (assign a model version to devices by id,
// tags or all, with a reason), `deployments ls`, and `deployments show ID
// [--watch]` — a per-device table with a progress bar each, redrawn every second
// until every device is settled (issue 5, section 3).
import { DEPLOYMENT_DEVICES_MAX, escapeLines, type Deployment, type DeploymentDevice, type DeploymentDeviceStatus, type DeployTarget } from '@edgefleet/shared';
import { UsageError, optBool, optString, optStrings, problemOf, reqString, usageProblem, type Command, type ParsedArgs } from '../args.js';
import { table, type CliContext, type Writer } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { StreamWaiter } from '../stream-waiter.js';
import { WINDOW_OPTION, parseWindowOption } from './window-option.js';
import { parseList, parseTagOptions, wellFormed } from './parse.js';
import { HISTORY_OPTIONS, HISTORY_USAGE, readHistory } from './history-page.js';

type DeploymentSummary = Omit<Deployment, 'devices'>;

/** Statuses after which a device's part of a deployment no longer changes by itself. */
export const SETTLED: ReadonlySet<DeploymentDeviceStatus> = new Set(['active', 'failed', 'refused', 'rolled_back', 'superseded', 'removed']);

const STATUS_ORDER: DeploymentDeviceStatus[] = ['pending', 'waiting_for_disk', 'downloading', 'activating', 'deferred', 'active', 'failed', 'refused', 'rolled_back', 'superseded', 'removing', 'removed'];

/** Exactly one of --devices a,b | --tag k=v ... | --all, as the API's target. */
/** MODEL VERSION, the positionals of commands that act on a registry version. */
export const MODEL_VERSION: Command['positionals'] = [{ name: 'MODEL', description: 'model name', required: true }, { name: 'VERSION', description: 'version in the registry', required: true }];

const deviceList = (text: string) => parseList(text, '--devices', 'a comma-separated list of device ids');
const targetTags = (list: readonly string[]) => parseTagOptions(list, '--tag', { nonEmpty: true });

/** --devices | --tag | --all, read with targetFrom (deploy, rollout create); each value checked by the parser. */
export const TARGET_OPTIONS = {
  devices: { type: 'string', value: 'ID,ID', description: 'target these device ids', check: problemOf(deviceList) },
  tag: { type: 'string', multiple: true, value: 'k=v', description: 'target devices having every given tag', check: problemOf((t) => targetTags([t])) },
  all: { type: 'boolean', description: 'target every device' },
} as const satisfies Command['options'];

function oneTarget(devices: string | undefined, tags: readonly string[], all: boolean): void {
  const given = [devices !== undefined, tags.length > 0, all].filter(Boolean).length;
  if (given !== 1) throw new UsageError('expected exactly one target: --devices ID,ID... or --tag KEY=VALUE (repeatable) or --all');
}

export function targetFrom(devices: string | undefined, tags: string[], all: boolean): DeployTarget {
  oneTarget(devices, tags, all);
  if (devices !== undefined) return { devices: deviceList(devices) };
  if (tags.length) return { tags: targetTags(tags) };
  return { all: true };
}

/** What is wrong with the target as a whole (a Command's check): not exactly one given, a tag key given twice. */
export function targetProblems(args: ParsedArgs): Array<string | undefined> {
  const tags = optStrings(args, 'tag');
  return [
    usageProblem(() => oneTarget(optString(args, 'devices'), tags, optBool(args, 'all'))),
    usageProblem(() => targetTags(wellFormed(tags, TARGET_OPTIONS.tag.check))),
  ];
}

export function describeTarget(t: DeployTarget): string {
  if (t.devices) return `devices ${t.devices.join(',')}`;
  if (t.tags) return `tags ${Object.entries(t.tags).map(([k, v]) => `${k}=${v}`).join(',')}`;
  return 'all devices';
}

/** Whom a deployment reaches: a rollout's deployment grows wave by wave, so its stored target (the first wave) would mislead. */
export function describeReach(d: Pick<Deployment, 'target' | 'rollout'>): string {
  return d.rollout ? `rollout ${d.rollout}'s waves` : describeTarget(d.target);
}

/** `[#####-----] 50%` for a fraction in [0, 1]; a settled status fills or empties the bar; a removal has none (blank, as wide). */
export function progressBar(d: Pick<DeploymentDevice, 'status' | 'progress'>, width = 20): string {
  if (d.status === 'removing' || d.status === 'removed') return ' '.repeat(width + 7);
  const frac = d.status === 'active' ? 1 : d.status === 'pending' ? 0 : (d.progress ?? (d.status === 'activating' ? 1 : 0));
  const filled = Math.round(Math.max(0, Math.min(1, frac)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%`;
}

/** "3 active, 1 downloading" in a fixed status order, zeros left out. */
export function countsLine(counts: Partial<Record<DeploymentDeviceStatus, number>>): string {
  const parts = STATUS_ORDER.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s.replace('_', ' ')}`);
  return parts.join(', ') || 'no devices';
}

/** Every device settled, by the counts (which cover every device, also when `devices` lists only some). */
export function isSettled(d: Deployment): boolean {
  return Object.entries(d.counts).every(([status, n]) => n === 0 || SETTLED.has(status as DeploymentDeviceStatus));
}

/** How many devices `deployments show` and `rollout show` list unless --devices says otherwise: a screen, not 10,000 rows a second. */
export const SHOW_DEVICES = 50;

/**
 * --watch, --interval and --devices N|all of `deployments show` and `rollout show`, each value checked by the parser;
 * with showProblems as the command's check, one usage error names every mistake.
 */
export const showOptions = (order: string, until: string) => ({
  watch: { type: 'boolean' as const, short: 'w', description: `keep redrawing until ${until}` },
  interval: { type: 'string' as const, value: 'MS', description: 'with --watch: poll interval in milliseconds (default 1000)', check: problemOf(parseInterval) },
  devices: { type: 'string' as const, value: 'N|all', description: `how many devices to list, ${order} (default ${SHOW_DEVICES})`, check: problemOf(devicesQuery) },
});

function parseInterval(iv: string): number {
  if (!/^[1-9]\d*$/.test(iv)) throw new UsageError(`--interval ${iv}: expected a positive number of milliseconds`);
  return Number(iv);
}

/** --watch's poll interval in milliseconds (--interval, default 1000). */
export const intervalMs = (args: ParsedArgs): number => parseInterval(optString(args, 'interval') ?? '1000');

/** The problems of showOptions together, and of the ID (`idOf` reads it). */
export const showProblems = (idOf: (id: string) => unknown) => (args: ParsedArgs) => [
  args.positionals[0] === undefined ? undefined : usageProblem(() => idOf(args.positionals[0] as string)),
  optString(args, 'interval') !== undefined && !optBool(args, 'watch') ? '--interval goes with --watch: expected --watch --interval MS' : undefined,
];

/** `?devices=N` for --devices (default SHOW_DEVICES; `all`: no limit, every device). */
export function devicesQuery(v: string | undefined): string {
  if (v === 'all') return '';
  if (v === undefined) return `?devices=${SHOW_DEVICES}`;
  if (!/^[1-9]\d{0,5}$/.test(v) || Number(v) > DEPLOYMENT_DEVICES_MAX) throw new UsageError(`--devices ${v}: expected a number of devices from 1 to ${DEPLOYMENT_DEVICES_MAX}, or all`);
  return `?devices=${v}`;
}

/** The line under a device table that lists fewer than there are. */
export function moreDevices(listed: number, total: number | undefined, order: string): string {
  return total !== undefined && total > listed ? `(the first ${listed} of ${total} devices, ${order}; --devices N or --devices all for more)\n` : '';
}

const ATTENTION_ORDER = 'those needing attention first';

/** The text of `deployments show`: header, counts, and one row per device. */
export function renderDeployment(d: Deployment): string {
  const head = escapeLines(`deployment ${d.id}: ${d.model} ${d.version} -> ${describeReach(d)}\n`
    + `by ${d.createdBy} at ${d.created}; reason: ${d.reason}\n`
    + (d.allowBackendMismatch ? 'sent whatever the backend (--allow-backend-mismatch)\n' : '')
    + (d.undeployed ? `undeployed by ${d.undeployed.by} at ${d.undeployed.at}; reason: ${d.undeployed.reason}\n` : ''))
    + `${d.devicesTotal ?? d.devices.length} device(s): ${countsLine(d.counts)}\n\n`;
  return head + table(['DEVICE', 'STATUS', 'PROGRESS', 'UPDATED', 'REASON'],
    d.devices.map((x) => [x.deviceId, x.status, progressBar(x), x.updated, x.reason ?? ''])) + moreDevices(d.devices.length, d.devicesTotal, ATTENTION_ORDER);
}

const print = (out: Writer, json: boolean, value: unknown, text: () => string) =>
  out.write(json ? `${JSON.stringify(value, null, 2)}\n` : escapeLines(text()));

export const deployCmd: Command = {
  summary: 'Assign a model version to devices (by ids, tags or all)',
  usage: 'MODEL VERSION (--devices ID,ID... | --tag k=v [--tag k2=v2] | --all) [--window "CRON DURATION [TZ]"] [--allow-backend-mismatch] --reason TEXT [--json]',
  details: 'Each targeted device gets a signed desired-state document naming the version; devices that enroll later\n'
    + 'and match a tag target get it too. Follow it with `edgefleet deployments show ID --watch`.',
  positionals: MODEL_VERSION,
  options: {
    ...HUB_OPTIONS,
    ...TARGET_OPTIONS,
    reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' },
    ...WINDOW_OPTION,
    'allow-backend-mismatch': { type: 'boolean', description: 'send it also to devices whose backend the hub found cannot load it (audited; docs/decisions/0129-model-backends-checked.md)' },
  },
  check: targetProblems,
  async run(args, ctx) {
    const [model, version] = args.positionals as [string, string];
    const target = targetFrom(optString(args, 'devices'), optStrings(args, 'tag'), optBool(args, 'all'));
    const reason = reqString(args, 'reason');
    const win = optString(args, 'window');
    const d = await HubClient.from(args, ctx).request<Deployment>('POST', '/deployments', {
      model, version, target, reason, ...(win !== undefined ? { window: parseWindowOption(win) } : {}), ...(optBool(args, 'allow-backend-mismatch') ? { allowBackendMismatch: true } : {}),
    });
    print(ctx.stdout, optBool(args, 'json'), d, () =>
      `deployment ${d.id}: ${d.model} ${d.version} to ${d.devices.length} device(s) (${describeTarget(d.target)})\n`
      + `follow it: edgefleet deployments show ${d.id} --watch\n`);
    return 0;
  },
};

export const deploymentsLs: Command = {
  summary: 'List deployments, newest first, with per-status device counts', usage: HISTORY_USAGE, options: { ...HUB_OPTIONS, ...HISTORY_OPTIONS },
  async run(args, ctx) {
    const r = await readHistory<DeploymentSummary>(args, ctx, '/deployments', 'deployments', 'deployments ls');
    print(ctx.stdout, optBool(args, 'json'), r.json, () => table(['ID', 'MODEL', 'VERSION', 'TARGET', 'DEVICES', 'CREATED', 'BY', 'REASON'],
      r.rows.map((d) => [String(d.id), d.model, d.version, describeReach(d), countsLine(d.counts), d.created, d.createdBy, d.reason])));
    return 0;
  },
};

export function deploymentIdArg(raw: string): number {
  if (!/^[1-9]\d*$/.test(raw)) throw new UsageError(`deployment id "${raw}": expected a positive integer (see edgefleet deployments ls)`);
  return Number(raw);
}

/**
 * Redraws the deployment whenever the hub's live stream reports progress in it (or a new deployment,
 * which may supersede it), until every device is settled or SIGINT; at most `intervalMs` apart
 * otherwise. A hub without the stream is polled every `intervalMs`.
 * On a terminal the view is redrawn in place; otherwise a line is printed when the counts change,
 * and the full table once at the end.
 */
async function watch(client: HubClient, id: number, query: string, ctx: CliContext, intervalMs: number): Promise<Deployment> {
  const tty = ctx.stdout.isTTY === true;
  let interrupted = false;
  const events = new StreamWaiter(
    (last, signal) => client.openStream(last, signal),
    (e) => (e.type === 'deployment.progress' && e.data.deploymentId === id) || (e.type === 'audit' && e.data.action.startsWith('deployment.')),
  );
  events.start();
  const onInt = () => { interrupted = true; events.poke(); };
  process.once('SIGINT', onInt);
  let lastLines = 0;
  let lastCounts = '';
  try {
    for (;;) {
      const d = await client.request<Deployment>('GET', `/deployments/${id}${query}`);
      const settled = isSettled(d);
      if (tty) {
        const text = `${renderDeployment(d)}\n${settled ? 'settled' : 'watching (Ctrl-C to stop)'} ${ctx.now().toISOString()}\n`;
        // Move up over the previous frame and clear to the end of the screen.
        ctx.stdout.write(`${lastLines ? `\x1b[${lastLines}F` : ''}\x1b[J${text}`);
        lastLines = text.split('\n').length - 1;
      } else {
        const line = countsLine(d.counts);
        if (line !== lastCounts) ctx.stdout.write(`${ctx.now().toISOString()} deployment ${d.id}: ${line}\n`);
        lastCounts = line;
        if (settled || interrupted) ctx.stdout.write(`\n${renderDeployment(d)}`);
      }
      if (settled || interrupted) return d;
      await events.wait(events.live ? Math.max(intervalMs, 10_000) : intervalMs);
    }
  } finally {
    events.stop();
    process.off('SIGINT', onInt);
  }
}

export const deploymentsShow: Command = {
  summary: "Show a deployment's devices with status and progress (--watch: live until settled)",
  usage: 'ID [--devices N|all] [--watch [--interval MS]] [--json]',
  details: '--watch redraws every second until every device is active, failed, refused, rolled back, superseded or removed (or Ctrl-C).\n'
    + 'With --json and --watch, the final state is printed once settled.\n'
    + `Lists the first ${SHOW_DEVICES} devices, ${ATTENTION_ORDER} (the counts cover them all); --devices N lists N, --devices all every one by id.`,
  positionals: [{ name: 'ID', description: 'deployment id (edgefleet deployments ls)', required: true }],
  options: {
    ...HUB_OPTIONS,
    ...showOptions(ATTENTION_ORDER, 'every device has settled'),
  },
  check: showProblems(deploymentIdArg),
  async run(args, ctx) {
    const id = deploymentIdArg(args.positionals[0] as string);
    const query = devicesQuery(optString(args, 'devices'));
    const client = HubClient.from(args, ctx);
    const json = optBool(args, 'json');
    if (optBool(args, 'watch')) {
      const d = await watch(client, id, query, json ? { ...ctx, stdout: { write: () => true } } : ctx, intervalMs(args));
      if (json) ctx.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
      return 0;
    }
    const d = await client.request<Deployment>('GET', `/deployments/${id}${query}`);
    print(ctx.stdout, json, d, () => renderDeployment(d));
    return 0;
  },
};
