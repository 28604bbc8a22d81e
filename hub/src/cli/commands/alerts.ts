// `edgefleet alerts rules add|ls|rm`, `edgefleet alerts ls` and `alerts ack|unack` (docs/drift.md "Alerts").
import { AlertMetric, AppError, Severity, escapeLines, type Alert, type AlertRule, type AlertRuleCreate } from '@edgefleet/shared';
import { UsageError, optBool, optString, optStrings, problemOf, reqString, usageProblem, type Command, type ParsedArgs } from '../args.js';
import { table } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { choiceProblem, durationCheck, numberProblem, parseBoundedInt, parseChoice, parseDuration, parseTagOptions, tagCheck, tagKeysProblem } from './parse.js';

const ACTIONS = ['webhook', 'retrain'] as const;

/** The rule's actions from --webhook and --retrain (those of `types`), each signed with --secret. */
function actionsOf(args: ParsedArgs, types: ReadonlyArray<(typeof ACTIONS)[number]> = ACTIONS): AlertRuleCreate['actions'] {
  const secret = optString(args, 'secret');
  const actions: AlertRuleCreate['actions'] = [];
  for (const type of types) {
    const url = optString(args, type);
    if (url === undefined) continue;
    if (!secret) throw new UsageError(`--${type} needs --secret S (the HMAC key the receiver checks)`);
    actions.push({ type, url, secret });
  }
  return actions;
}

/** A secret signs an action's requests: given without an action URL it would be dropped, and the rule would send nothing. */
function secretHasAction(args: ParsedArgs): void {
  if (optString(args, 'secret') !== undefined && ACTIONS.every((t) => optString(args, t) === undefined)) {
    throw new UsageError('--secret signs the requests of --webhook URL or --retrain URL: give the URL it is for');
  }
}

export const alertsRulesAdd: Command = {
  summary: 'Add an alert rule: a metric, a threshold, how long it must hold, and webhook or retrain actions',
  usage: '--name N --metric M --threshold X | --schedule CRON [--model NAME] [--version V] [--tag K=V]... [--for 5m] [--keep-firing-for 10m] [--window 1h] [--severity S] [--webhook URL] [--retrain URL] [--secret S] [--reason TEXT] [--json]',
  options: {
    ...HUB_OPTIONS,
    name: { type: 'string', required: true, value: 'N', description: 'rule name (unique)' },
    metric: { type: 'string', required: true, value: 'M', description: `one of ${AlertMetric.options.join(', ')}`, check: choiceProblem(AlertMetric.options) },
    threshold: { type: 'string', value: 'X', check: numberProblem, description: 'breached while the value is >= X (rates as fractions, latency in ms; accuracy and disk_free: below X, disk_free a share of the disk); not for schedule' },
    schedule: { type: 'string', value: 'CRON', description: 'metric schedule: send the --retrain URL the drift report at these minutes (5 fields, UTC, e.g. "0 3 * * 1")' },
    model: { type: 'string', value: 'NAME', description: 'the model (needed by every metric but devices_offline, disk_free and rollout_failed)' },
    version: { type: 'string', value: 'V', description: 'one version (default: each version that reported)' },
    tag: { type: 'string', multiple: true, value: 'K=V', description: 'only devices with this tag (repeatable); a key no device carries is refused, a value none has yet is taken', check: tagCheck },
    for: { type: 'string', value: 'DUR', description: 'breached this long before it fires (default 0s)', check: durationCheck('for') },
    'keep-firing-for': { type: 'string', value: 'DUR', description: 'a firing alert resolves once the breach has been over this long (default 0s)', check: durationCheck('keep-firing-for') },
    window: { type: 'string', value: 'DUR', description: 'range the metric is computed over, whole hours (1h to 744h; default 1h)', check: durationCheck('window') },
    severity: { type: 'string', value: 'S', description: `${Severity.options.join(', ')} (default warning)`, check: choiceProblem(Severity.options) },
    webhook: { type: 'string', value: 'URL', description: 'POST signed alert events to this URL' },
    retrain: { type: 'string', value: 'URL', description: 'POST a signed retraining request with the drift report to this URL' },
    secret: { type: 'string', value: 'S', description: 'HMAC secret for --webhook/--retrain (at least 16 characters)' },
    reason: { type: 'string', value: 'TEXT', description: 'why (kept in the audit log)' },
  },
  // With the parser's checks of each value, one usage error names every mistake (docs/cli.md "Exit codes and errors").
  check: (args) => [
    optString(args, 'metric') !== 'schedule' && optString(args, 'threshold') === undefined ? 'missing --threshold X (every metric but schedule has one)' : undefined,
    ...ACTIONS.map((type) => usageProblem(() => actionsOf(args, [type]))),
    usageProblem(() => secretHasAction(args)),
    tagKeysProblem(args),
  ],
  async run(args, ctx) {
    const metric = parseChoice(reqString(args, 'metric'), AlertMetric.options, '--metric');
    const schedule = optString(args, 'schedule');
    // A schedule has no value to compare: its threshold is stored as 0 and not used.
    const threshold = metric === 'schedule' && optString(args, 'threshold') === undefined ? 0 : Number(reqString(args, 'threshold'));
    const given = optString(args, 'severity');
    const severity = given === undefined ? undefined : parseChoice(given, Severity.options, '--severity');
    const actions = actionsOf(args);
    secretHasAction(args);
    const tags = parseTagOptions(optStrings(args, 'tag'));
    const body: Record<string, unknown> = {
      name: reqString(args, 'name'), metric, threshold, actions,
      ...(optString(args, 'model') ? { model: optString(args, 'model') } : {}),
      ...(optString(args, 'version') ? { version: optString(args, 'version') } : {}),
      ...(Object.keys(tags).length ? { scope: { tags } } : {}),
      ...(optString(args, 'for') ? { forSec: parseDuration(optString(args, 'for') as string, '--for') } : {}),
      ...(optString(args, 'keep-firing-for') ? { keepFiringForSec: parseDuration(optString(args, 'keep-firing-for') as string, '--keep-firing-for') } : {}),
      ...(optString(args, 'window') ? { windowSec: parseDuration(optString(args, 'window') as string, '--window') } : {}),
      ...(severity ? { severity } : {}),
      ...(schedule !== undefined ? { schedule } : {}),
      ...(optString(args, 'reason') !== undefined ? { reason: optString(args, 'reason') } : {}),
    };
    const r = await HubClient.from(args, ctx).request<AlertRule>('POST', '/alert-rules', body);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : escapeLines(`added alert rule ${r.id} "${r.name}"\n`));
    return 0;
  },
};

export const alertsRulesLs: Command = {
  summary: 'List alert rules', usage: '[--json]', options: HUB_OPTIONS,
  async run(args, ctx) {
    const r = await HubClient.from(args, ctx).request<{ rules: AlertRule[] }>('GET', '/alert-rules');
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : table(['ID', 'NAME', 'METRIC', 'MODEL', 'SCOPE', '>=', 'FOR', 'KEEP', 'WINDOW', 'SEVERITY', 'ACTIONS'],
      r.rules.map((x) => [String(x.id), x.name, x.metric, x.model ? `${x.model}${x.version ? `@${x.version}` : ''}` : '-',
        Object.entries(x.scope?.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || 'all', String(x.threshold), `${x.forSec}s`, `${x.keepFiringForSec ?? 0}s`, `${x.windowSec}s`, x.severity,
        x.actions.map((a) => `${a.type} ${a.url}`).join(', ') || '-'])));
    return 0;
  },
};

export const alertsRulesRm: Command = {
  summary: 'Remove an alert rule (its open alerts resolve)', usage: 'ID [--reason TEXT] [--json]',
  options: { ...HUB_OPTIONS, reason: { type: 'string', value: 'TEXT', description: 'why (kept in the audit log)' } },
  positionals: [{ name: 'ID', description: 'rule id', required: true }],
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`ID: expected a positive integer, got "${id}"`);
    const reason = optString(args, 'reason');
    const r = await HubClient.from(args, ctx).request<AlertRule>('DELETE', `/alert-rules/${id}${reason ? `?reason=${encodeURIComponent(reason)}` : ''}`);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : escapeLines(`removed alert rule ${r.id} "${r.name}"\n`));
    return 0;
  },
};

/** The most alerts `GET /alerts` answers at once (AlertListQuery in shared/src/wire/alerts.ts). */
const ALERTS_LIMIT_MAX = 1000;
const ALERTS_LIMIT_DEFAULT = 100;
const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
const parseLimit = (raw: string) => parseBoundedInt(raw, 'limit', ALERTS_LIMIT_MAX, 'alerts (narrow with --state or --rule)');

/** The id of the rule `--rule` names (digits: an id as given; else a name, looked up). */
async function ruleId(hub: HubClient, text: string | undefined): Promise<string | undefined> {
  if (text === undefined || /^[1-9]\d*$/.test(text)) return text;
  const { rules } = await hub.request<{ rules: AlertRule[] }>('GET', '/alert-rules');
  const found = rules.find((x) => x.name === text);
  if (!found) throw new AppError('NOT_FOUND', `--rule: no alert rule named "${text}" (expected a rule id or name from \`edgefleet alerts rules ls\`)`);
  return String(found.id);
}

export const alertsLs: Command = {
  summary: 'List alerts, newest first', usage: `[--state pending|firing|resolved] [--rule ID|NAME] [--limit N] [--json]`,
  options: {
    ...HUB_OPTIONS,
    state: { type: 'string', value: 'S', description: `only alerts in this state: ${ALERT_STATES.join(', ')}`, check: choiceProblem(ALERT_STATES) },
    rule: { type: 'string', value: 'ID|NAME', description: 'only alerts of this rule (its id or name, from `alerts rules ls`)' },
    limit: { type: 'string', value: 'N', description: `the newest N (default ${ALERTS_LIMIT_DEFAULT}, at most ${ALERTS_LIMIT_MAX}); a note on stderr says when older ones were left out`, check: problemOf(parseLimit) },
  },
  async run(args, ctx) {
    // --state and --limit were checked by the parser, before --rule NAME is looked up on the hub.
    const state = optString(args, 'state');
    const hub = HubClient.from(args, ctx);
    const rule = await ruleId(hub, optString(args, 'rule'));
    const rawLimit = optString(args, 'limit');
    const limit = rawLimit === undefined ? ALERTS_LIMIT_DEFAULT : parseLimit(rawLimit);
    // One more than shown, so the note knows whether older alerts were left out (the hub answers at most ALERTS_LIMIT_MAX).
    const q = new URLSearchParams({ ...(state ? { state } : {}), ...(rule ? { rule } : {}), limit: String(Math.min(limit + 1, ALERTS_LIMIT_MAX)) });
    const r = await hub.request<{ alerts: Alert[] }>('GET', `/alerts?${q}`);
    const more = r.alerts.length > limit || (limit === ALERTS_LIMIT_MAX && r.alerts.length === limit);
    const alerts = r.alerts.slice(0, limit);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify({ alerts }, null, 2)}\n` : table(['ID', 'RULE', 'KEY', 'STATE', 'SEVERITY', 'VALUE', '>=', 'SINCE', 'FIRED', 'RESOLVED', 'REPORT', 'ACKNOWLEDGED'],
      alerts.map((a) => [String(a.id), a.rule, a.key, a.state, a.severity, a.value === null ? '-' : a.value.toPrecision(3), String(a.threshold), a.startedAt, a.firedAt ?? '-', a.resolvedAt ?? '-', a.reportId ? String(a.reportId) : '-',
        a.acknowledged ? `${a.acknowledged.by} at ${a.acknowledged.at}` : '-'])));
    if (more) ctx.stderr.write(`older alerts not shown (the newest ${limit} are): ${limit < ALERTS_LIMIT_MAX ? `--limit up to ${ALERTS_LIMIT_MAX}, or ` : ''}narrow with --state or --rule\n`);
    return 0;
  },
};

/** `alerts ack` and its inverse `alerts unack`: one alert, a reason, the alert as the hub answers. */
function ackCommand(undo: boolean): Command {
  return {
    summary: undo
      ? 'Take back the acknowledgement of a firing alert (acknowledged by mistake, or handed on): it reads not taken again; audited with who had taken it'
      : 'Acknowledge a firing alert: say you are on it (who, when and why show in `alerts ls` and the console; nothing is silenced)',
    usage: 'ID --reason TEXT [--json]',
    options: { ...HUB_OPTIONS, reason: { type: 'string', required: true, value: 'TEXT', description: undo ? 'why it is taken back (kept in the audit log)' : 'what you are doing about it (kept on the alert and in the audit log)' } },
    positionals: [{ name: 'ID', description: 'alert id (from `alerts ls`)', required: true }],
    async run(args, ctx) {
      const id = args.positionals[0] as string;
      if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`ID: expected a positive integer, got "${id}"`);
      const a = await HubClient.from(args, ctx).request<Alert>('POST', `/alerts/${id}/${undo ? 'unack' : 'ack'}`, { reason: reqString(args, 'reason') });
      const line = undo ? `alert ${a.id} (${a.rule} ${a.key}) is not acknowledged now\n` : `acknowledged alert ${a.id} (${a.rule} ${a.key}) as ${a.acknowledged?.by ?? '?'}\n`;
      ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(a, null, 2)}\n` : escapeLines(line));
      return 0;
    },
  };
}

export const alertsAck = ackCommand(false);
export const alertsUnack = ackCommand(true);
