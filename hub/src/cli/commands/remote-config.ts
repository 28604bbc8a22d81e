// `edgefleet config show|set|diff`: remote agent configuration documents per scope (fleet, tag/KEY=VALUE,
// device/ID), a device's layered configuration, and differences between versions (docs/cli.md, docs/hub.md
// "Agent configuration").
import { AppError, assertRemoteKey, escapeLines, waveLabel, type ConfigDeviceList, type ConfigDocumentInfo, type DeviceConfigView, type Rollout } from '@edgefleet/shared';
import { UsageError, optBool, optInt, optString, optStrings, problemOf, reqString, usageProblem, type Command, type ParsedArgs } from '../args.js';
import type { CliContext } from '../output.js';
import { keyValues, table } from '../output.js';
import { HUB_OPTIONS, HubClient, everyPage } from '../remote-client.js';
import { POLICY_OPTIONS, policyFrom, policyProblems } from './remote-rollout.js';
import { wellFormed } from './parse.js';

const SCOPE = { name: 'SCOPE', description: 'fleet, tag/KEY=VALUE or device/ID', required: true };

/** The REST path of a scope; the hub checks it further. */
function scopePath(scope: string): string {
  if (scope === 'fleet') return '/config/fleet';
  // A tag scope names KEY=VALUE, both non-empty (the hub checks the rest).
  const m = /^(tag\/(?=[^=]+=.)|device\/)(.+)$/.exec(scope);
  if (!m) throw new UsageError(`SCOPE: expected fleet, tag/KEY=VALUE or device/ID, got "${scope}"`);
  return `/config/${(m[1] as string).slice(0, -1)}/${encodeURIComponent(m[2] as string)}`;
}

/** SCOPE's problem, if given (a missing one the parser names); a check of every config command. */
const scopeProblem = (args: ParsedArgs) => (args.positionals[0] === undefined ? undefined : usageProblem(() => scopePath(args.positionals[0] as string)));

/** One `--set KEY=VALUE` as the key and its value. */
function settingOf(p: string): [string, unknown] {
  const i = p.indexOf('=');
  if (i <= 0) throw new UsageError(`--set: expected KEY=VALUE, got "${p}"`);
  const value = parseValue(p.slice(i + 1));
  // JSON.parse reads 1e400 as Infinity, which JSON would send as null.
  if (typeof value === 'number' && !Number.isFinite(value)) throw new UsageError(`--set ${p}: expected a finite number`);
  return [p.slice(0, i), value];
}
const setCheck = problemOf(settingOf);

/**
 * The problems of --set and --unset together: one value per setting (a key given twice, or both set and
 * unset, is refused rather than one dropped), and something to set. `pairs` are those settingOf reads.
 */
function settingsProblems(pairs: readonly string[], unset: readonly string[], replace: boolean): string[] {
  const given = new Map<string, string>();
  const problems: string[] = [];
  for (const p of pairs) {
    const [key] = settingOf(p);
    if (given.has(key)) problems.push(`--set ${key} is given twice (${given.get(key)} and ${p}): expected each key once`);
    else given.set(key, p);
  }
  // An --unset given twice is the parser's (shared/src/cli/repeats.ts): `unset` holds each once.
  for (const key of unset) {
    if (given.has(key)) problems.push(`${key} is given to both --set and --unset: expected one of them`);
  }
  if (!pairs.length && !unset.length && !replace) problems.push('nothing to set: give --set KEY=VALUE, --unset KEY or --replace');
  return problems;
}

/** A value on the command line: JSON when it parses (10, true, "x"), else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const show = (v: unknown): string => JSON.stringify(v);

/** Lines "+ key: v", "- key: v", "~ key: a -> b" from `a` to `b`, sorted by key. */
export function diffSettings(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => {
    if (!(k in a)) return [`+ ${k}: ${show(b[k])}`];
    if (!(k in b)) return [`- ${k}: ${show(a[k])}`];
    return show(a[k]) === show(b[k]) ? [] : [`~ ${k}: ${show(a[k])} -> ${show(b[k])}`];
  });
}

const print = (args: ParsedArgs, ctx: CliContext, data: unknown, text: string): void => {
  ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(data, null, 2)}\n` : escapeLines(text));
};

export const configShow: Command = {
  summary: "Show a configuration document (the newest version, or --version N), a device's layered configuration (--effective), or the devices a scope reaches and whether each applied its configuration (--devices)",
  usage: 'SCOPE [--version N] [--effective | --devices] [--json]',
  options: {
    ...HUB_OPTIONS,
    version: { type: 'integer', value: 'N', description: 'this version of the document' },
    effective: { type: 'boolean', description: 'with device/ID: every setting that reaches the device, where it came from, and what the device reports' },
    devices: { type: 'boolean', description: 'the devices SCOPE reaches: the configuration each is sent, what it reports, applied or not' },
  },
  positionals: [SCOPE],
  check: (args) => [
    scopeProblem(args),
    optInt(args, 'version') === 0 ? '--version 0: expected a document version from 1 (version 0 is no document: no settings)' : undefined,
    optBool(args, 'effective') && !/^device\/./.test(args.positionals[0] ?? 'device/x') ? '--effective: expected SCOPE device/ID' : undefined,
    optBool(args, 'effective') && optBool(args, 'devices') ? 'give --effective or --devices, not both' : undefined,
  ],
  async run(args, ctx) {
    const scope = args.positionals[0] as string;
    const hub = HubClient.from(args, ctx);
    if (optBool(args, 'devices')) {
      scopePath(scope); // checks its form
      const [kind, arg = ''] = scope === 'fleet' ? ['fleet'] : [scope.slice(0, scope.indexOf('/')), scope.slice(scope.indexOf('/') + 1)];
      const [k, v] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
      const all = await everyPage<ConfigDeviceList['devices'][number]>(hub, '/config/devices', 'devices');
      const list = all.filter((d) => kind === 'fleet' || (kind === 'device' ? d.deviceId === arg : d.tags[k] === v));
      print(args, ctx, { devices: list }, table(['DEVICE', 'SENT', 'SOURCES', 'REPORTED', 'STATUS', 'APPLIED'], list.map((d) => [
        d.deviceId, d.sha256?.slice(0, 12) ?? '-', d.sources.map((x) => `${x.scope}@${x.version}`).join(',') || '-', d.reported?.sha256?.slice(0, 12) ?? '-',
        d.reported ? `${d.reported.status}${d.reported.error ? ` (${d.reported.error.code}: ${d.reported.error.field ?? d.reported.error.message})` : ''}` : '-', d.applied ? 'yes' : 'no',
      ])));
      return 0;
    }
    if (optBool(args, 'effective')) {
      const id = /^device\/(.+)$/.exec(scope)?.[1] as string; // the check refused any other scope
      const v = await hub.request<DeviceConfigView>('GET', `/devices/${encodeURIComponent(id)}/config`);
      const r = v.reported;
      print(args, ctx, v, `${keyValues([
        ['device', v.deviceId], ['sha256', v.sha256], ['sources', v.sources.map((s) => `${s.scope}@${s.version}`).join(', ') || '-'],
        ['reported', r ? `${r.sha256 ?? '-'} (${r.status}${r.error ? `: ${r.error.code} ${r.error.message}` : ''})` : '-'], ['applied', v.applied ? 'yes' : 'no'],
      ])}${table(['SETTING', 'VALUE', 'FROM', 'APPLY'], Object.entries(v.settings).map(([k, s]) => [k, show(s.value), `${s.scope}@${s.version}`, s.apply]))}`);
      return 0;
    }
    const version = optInt(args, 'version');
    const d = await hub.request<ConfigDocumentInfo>('GET', `${scopePath(scope)}${version !== undefined ? `?version=${version}` : ''}`);
    print(args, ctx, d, `${keyValues([['scope', d.scope], ['version', String(d.version)], ['at', d.at ?? '-'], ['by', d.by ?? '-'], ['reason', d.reason ?? '-']])}${
      table(['SETTING', 'VALUE'], Object.entries(d.settings).map(([k, v]) => [k, show(v)]))}`);
    return 0;
  },
};

export const configSet: Command = {
  summary: 'Set remote agent settings of a scope (a new version of its document, sent to the devices it reaches at once, or with --rollout wave by wave behind gates)',
  usage: 'SCOPE --set KEY=VALUE... [--unset KEY]... [--replace] --reason TEXT [--rollout [--wave W]... [--gate KEY=N]... [--manual] [--on-failure pause]] [--json]',
  details: '--rollout: the new version goes through a staged rollout (docs/rollouts.md "Configuration rollouts"): devices not yet told keep the\n'
    + 'previous version; a failed gate writes the previous document back. Defaults: --wave canary:5%:bake=30m:min=1 --wave all:100%.\n'
    + 'Follow it with `edgefleet rollout show ID --watch`.',
  options: {
    ...HUB_OPTIONS,
    rollout: { type: 'boolean', description: 'roll the new version through waves and gates instead of sending it to every device at once' },
    ...POLICY_OPTIONS,
    set: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'a remote setting, e.g. summaries.windowSec=30; values are JSON when they parse (repeatable)', check: setCheck },
    reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' },
    unset: { type: 'string', multiple: true, value: 'KEY', description: 'no longer set this setting at this scope (repeatable)' },
    replace: { type: 'boolean', description: 'the document is exactly the KEY=VALUE given (default: change these, keep the rest)' },
  },
  positionals: [SCOPE],
  // The whole command line is checked before the hub is asked anything, every mistake in one usage error
  // (docs/cli.md "Exit codes and errors"); run reads values these checks passed.
  check: (args) => [
    scopeProblem(args),
    ...settingsProblems(wellFormed(optStrings(args, 'set'), setCheck), optStrings(args, 'unset'), optBool(args, 'replace')),
    ...policyProblems(args),
    !optBool(args, 'rollout') && (['wave', 'gate', 'on-failure'].some((o) => optStrings(args, o).length > 0) || optBool(args, 'manual'))
      ? '--wave, --gate, --manual and --on-failure need --rollout' : undefined,
  ],
  async run(args, ctx) {
    const path = scopePath(args.positionals[0] as string);
    const sets = optStrings(args, 'set').map(settingOf);
    const unset = optStrings(args, 'unset');
    const policy = policyFrom(args);
    const rollout = optBool(args, 'rollout');
    const hub = HubClient.from(args, ctx);
    const doc = optBool(args, 'replace') ? undefined : await hub.request<ConfigDocumentInfo>('GET', path);
    const current = doc?.settings ?? {};
    // An --unset the document does not hold: a misspelt setting is refused naming the one likely meant
    // (assertRemoteKey), one merely not set here is said so.
    for (const k of doc ? unset.filter((u) => !(u in current)) : []) {
      try {
        assertRemoteKey(k);
      } catch (err) {
        if (err instanceof AppError) throw new AppError(err.code, `--unset ${err.message}`, { details: err.details });
        throw err;
      }
      ctx.stderr.write(escapeLines(`note: --unset ${k}: ${doc?.scope ?? ''} (version ${doc?.version ?? 0}) does not set it\n`));
    }
    const settings: Record<string, unknown> = { ...current };
    for (const [k, v] of sets) settings[k] = v;
    for (const k of unset) delete settings[k];
    if (rollout) {
      const r = await hub.request<Rollout>('POST', '/rollouts/config', { scope: args.positionals[0] as string, settings, reason: reqString(args, 'reason'), ...policy });
      print(args, ctx, r, `rollout ${r.id}: ${r.config?.scope ?? ''} v${r.config?.fromVersion ?? 0} -> v${r.config?.version ?? 0} over ${r.waves.at(-1)?.devices ?? 0} device(s), waves ${r.waves.map(waveLabel).join(' -> ')}\n`
        + `${diffSettings(current, settings).map((l) => `  ${l}\n`).join('')}follow it: edgefleet rollout show ${r.id} --watch\n`);
      return 0;
    }
    const d = await hub.request<ConfigDocumentInfo & { devices: number; unchanged: boolean }>('PUT', path, { settings, reason: reqString(args, 'reason') });
    print(args, ctx, d, d.unchanged
      ? `${d.scope} is at version ${d.version} with these settings already: nothing stored or sent\n`
      : `${d.scope} is at version ${d.version} (${Object.keys(d.settings).length} settings); sent to ${d.devices} devices\n${diffSettings(current, d.settings).map((l) => `  ${l}\n`).join('')}`);
    return 0;
  },
};

export const configDiff: Command = {
  summary: "Differences between two versions of a document (--from N [--to M], default the newest), or between a device's layered configuration and the fleet default",
  usage: 'SCOPE [--from N] [--to M] [--json]',
  options: {
    ...HUB_OPTIONS,
    from: { type: 'integer', value: 'N', description: 'the older version, 0 for none (needed unless SCOPE is device/ID)' },
    to: { type: 'integer', value: 'M', description: 'the newer version (default the newest)' },
  },
  positionals: [SCOPE],
  check: (args) => [
    scopeProblem(args),
    optString(args, 'from') === undefined && (optString(args, 'to') !== undefined || !/^device\/./.test(args.positionals[0] ?? 'device/x'))
      ? '--from N is needed (or SCOPE device/ID alone: its layered configuration against the fleet default)' : undefined,
    optInt(args, 'to') === 0 ? '--to 0: expected a document version from 1 (version 0 is no document: give it as --from 0)' : undefined,
  ],
  async run(args, ctx) {
    const scope = args.positionals[0] as string;
    const hub = HubClient.from(args, ctx);
    const from = optInt(args, 'from');
    const to = optInt(args, 'to');
    let a: Record<string, unknown>;
    let b: Record<string, unknown>;
    let title: string;
    const device = /^device\/(.+)$/.exec(scope)?.[1];
    if (from === undefined && device !== undefined) {
      const [fleet, view] = await Promise.all([hub.request<ConfigDocumentInfo>('GET', '/config/fleet'), hub.request<DeviceConfigView>('GET', `/devices/${encodeURIComponent(device)}/config`)]);
      a = fleet.settings;
      b = Object.fromEntries(Object.entries(view.settings).map(([k, s]) => [k, s.value]));
      title = `fleet@${fleet.version} -> ${scope} (layered)`;
    } else {
      const path = scopePath(scope);
      // Version 0 is the empty document before the first (what `config show` prints for a scope without one).
      const older = (): Promise<Pick<ConfigDocumentInfo, 'scope' | 'version' | 'settings'>> => from === 0
        ? hub.request<ConfigDocumentInfo>('GET', path).then((d) => ({ scope: d.scope, version: 0, settings: {} }))
        : hub.request<ConfigDocumentInfo>('GET', `${path}?version=${from}`);
      const [x, y] = await Promise.all([older(), hub.request<ConfigDocumentInfo>('GET', `${path}${to !== undefined ? `?version=${to}` : ''}`)]);
      a = x.settings;
      b = y.settings;
      title = `${x.scope}@${x.version} -> ${y.scope}@${y.version}`;
    }
    const lines = diffSettings(a, b);
    print(args, ctx, { title, from: a, to: b, changes: lines }, `${title}\n${lines.length ? lines.map((l) => `  ${l}\n`).join('') : '  (no differences)\n'}`);
    return 0;
  },
};
