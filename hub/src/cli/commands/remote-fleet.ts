// Remote commands on devices, enrollment tokens and API tokens (the audit log: remote-audit.ts):
// tables for people, --json for scripts.
import { resolve } from 'node:path';
import { DEVICE_STATUSES, EnrollmentTokenCreate, escapeLines, writeFileAtomic, type DeviceCredentials, type DeviceInfo, type EnrollmentTokenCreated, type EnrollmentTokenInfo, type TokenCreated, type TokenInfo } from '@edgefleet/shared';
import { UsageError, optBool, optString, optStrings, problemOf, reqString, usageProblem, type Command, type ParsedArgs } from '../args.js';
import { checkOutFile } from '../out-file.js';
import { printResult, table, type CliContext } from '../output.js';
import { HUB_OPTIONS, HubClient, everyPage } from '../remote-client.js';
import { choiceProblem, parseBoundedInt, parseChoice, parseDuration, parseTagOptions, tagCheck, tagKeysProblem } from './parse.js';
import { HISTORY_OPTIONS, HISTORY_USAGE, readHistory } from './history-page.js';
import { clockCell, deviceText, modelCells, tagsText } from './device-text.js';

const parseTags = (list: string[]) => parseTagOptions(list);
const TAGS = { type: 'string', multiple: true, value: 'k=v', check: tagCheck } as const;
const TOKEN_ROLES = ['viewer', 'operator', 'admin'] as const;

// The hub's bounds of an enrollment token (EnrollmentTokenCreate), said in the flags' words: its answer names ttlSec in seconds.
const ENROLL_TTL_MAX = EnrollmentTokenCreate.shape.ttlSec.unwrap().maxValue ?? Number.MAX_SAFE_INTEGER;
const ENROLL_USES_MAX = EnrollmentTokenCreate.shape.maxUses.unwrap().maxValue ?? Number.MAX_SAFE_INTEGER;
function parseTtl(text: string): number {
  const sec = parseDuration(text, '--ttl');
  if (sec > ENROLL_TTL_MAX) throw new UsageError(`--ttl ${text}: expected at most ${ENROLL_TTL_MAX / 86_400}d (${ENROLL_TTL_MAX} s), the longest an enrollment token lives`);
  return sec;
}
const parseMaxUses = (text: string) => parseBoundedInt(text, 'max-uses', ENROLL_USES_MAX, 'devices for one enrollment token');

/** devices tag: new tags, or --clear, asked for by name (a forgotten --tag would otherwise wipe every tag). */
function tagsOrClear(args: ParsedArgs): void {
  const given = optStrings(args, 'tag').length > 0;
  if (given === optBool(args, 'clear')) throw new UsageError(given ? '--tag and --clear: expected one of them' : 'expected --tag KEY=VALUE (repeatable) for the new tags, or --clear to remove every tag');
}

/** tokens create: the name as NAME or --name, not two different ones. */
function oneName(args: ParsedArgs): string | undefined {
  const [given] = args.positionals;
  const name = optString(args, 'name');
  if (given !== undefined && name !== undefined && given !== name) throw new UsageError(`two names given ("${given}" and --name "${name}"): expected one`);
  return given ?? name;
}

// Text for people is escaped line by line (shared/src/text.ts): names, tags and reasons come from others.
const print = (ctx: CliContext, json: boolean, value: unknown, text: () => string) => printResult(ctx.stdout, json, value, text);

export const devicesLs: Command = {
  summary: 'List devices (every page of GET /devices), filtered by the hub', usage: '[--search TEXT] [--tag KEY=VALUE] [--status online|offline|revoked] [--version NAME@VERSION] [--replaced] [--json]',
  options: {
    ...HUB_OPTIONS,
    search: { type: 'string', value: 'TEXT', description: 'only devices whose id, a tag key or value, or a version holds TEXT (any case)' },
    tag: { type: 'string', value: 'KEY=VALUE', description: 'only devices with this tag', check: (t) => (/^[^=]+=/.test(t) ? undefined : `--tag "${t}": expected KEY=VALUE`) },
    status: {
      type: 'string', value: 'S', description: `only devices ${DEVICE_STATUSES.join(', ')} (online and offline: not revoked)`,
      check: (s) => ((DEVICE_STATUSES as readonly string[]).includes(s) ? undefined : `expected ${DEVICE_STATUSES.join(', ')}, got "${s}"`),
    },
    version: { type: 'string', value: 'NAME@VERSION', description: 'only devices running this model version' },
    replaced: { type: 'boolean', description: 'only old ids of boxes enrolled again (enroll --force); with --status offline, those rollouts leave out' },
  },
  async run(args, ctx) {
    // The hub filters (GET /devices ?q= &tag= &status= &version= &replaced=, docs/hub.md) and names a bad value (exit 1);
    // a malformed --status or --tag the parser named already, both at once (exit 2).
    const [q, tag, status, version] = [optString(args, 'search'), optString(args, 'tag'), optString(args, 'status'), optString(args, 'version')];
    const query = new URLSearchParams({ ...(q !== undefined ? { q } : {}), ...(tag !== undefined ? { tag } : {}), ...(status ? { status } : {}), ...(version !== undefined ? { version } : {}), ...(optBool(args, 'replaced') ? { replaced: 'true' } : {}) }).toString();
    const r = { devices: await everyPage<DeviceInfo>(HubClient.from(args, ctx), query ? `/devices?${query}` : '/devices', 'devices') };
    // What each box runs (its reported active version per model), apart from what it only holds installed.
    print(ctx, optBool(args, 'json'), r, () => table(['ID', 'ONLINE', 'LAST SEEN', 'CLOCK', 'TAGS', 'ACTIVE', 'INSTALLED', 'REVOKED', 'REPLACED BY'], r.devices.map((d) => [
      d.id, d.online ? 'yes' : 'no', d.lastSeen ?? '-', clockCell(d.clock), tagsText(d.tags), ...modelCells(d.models), d.revoked ? 'yes' : '', d.replaced?.by ?? '',
    ])));
    return 0;
  },
};

export const devicesShow: Command = {
  summary: 'Show one device: state, agent, runtime and capabilities, models, trust, config, backlog, parked windows, disk, clock, last refusal', usage: 'ID [--json]', options: HUB_OPTIONS, positionals: [{ name: 'ID', description: 'device id', required: true }],
  async run(args, ctx) {
    const d = await HubClient.from(args, ctx).request<DeviceInfo>('GET', `/devices/${encodeURIComponent(args.positionals[0] as string)}`);
    print(ctx, optBool(args, 'json'), d, () => deviceText(d, ctx.now()));
    return 0;
  },
};

export const devicesAdd: Command = {
  summary: 'Add a device directly and write its credentials file', usage: '[--id ID] [--tag k=v ...] --out credentials.json [--force] [--json]',
  options: {
    ...HUB_OPTIONS, id: { type: 'string', description: 'device id (default: assigned by the hub)' }, tag: { ...TAGS, description: 'a tag (repeatable)' },
    out: { type: 'string', required: true, value: 'FILE', description: 'where to write the credentials (mode 0600); checked before the device is added' },
    force: { type: 'boolean', description: 'replace an existing --out file' },
  },
  check: (args) => [tagKeysProblem(args)],
  async run(args, ctx) {
    const id = optString(args, 'id');
    const tags = parseTags(optStrings(args, 'tag'));
    // The hub shows the secret once: a file that cannot be written, or another device's credentials in the
    // way, is refused before the device exists (docs/cli.md "Nothing is written when a command fails").
    const out = resolve(ctx.cwd, reqString(args, 'out'));
    checkOutFile(out, '--out', { force: optBool(args, 'force') });
    const c = await HubClient.from(args, ctx).request<DeviceCredentials>('POST', '/devices', { ...(id ? { deviceId: id } : {}), tags });
    writeFileAtomic(out, `${JSON.stringify(c, null, 2)}\n`, 0o600);
    // --json: the device and where its credentials went (never the secret: it is in the file).
    print(ctx, optBool(args, 'json'), { deviceId: c.deviceId, out }, () => `added ${c.deviceId}; credentials in ${out}\n`);
    return 0;
  },
};

export const devicesRevoke: Command = {
  summary: 'Revoke a device (disconnects it)', usage: 'ID --reason TEXT [--json]', positionals: [{ name: 'ID', description: 'device id', required: true }],
  options: { ...HUB_OPTIONS, reason: { type: 'string', required: true, description: 'why (kept in the audit log)' } },
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    const r = await HubClient.from(args, ctx).request<{ disconnected: boolean; enrollmentToken?: EnrollmentTokenInfo | null }>(
      'POST', `/devices/${encodeURIComponent(id)}/revoke`, { reason: reqString(args, 'reason') });
    const t = r.enrollmentToken;
    // A revoked box's enrollment token may still enroll: whoever holds it comes back as a new device (docs/operations.md "Keys").
    const still = t
      ? `the enrollment token ${t.id} that enrolled it can still enroll a box (${t.maxUses - t.uses} of ${t.maxUses} uses left, until ${t.expires}): ` +
        `whoever holds it can enroll a new device; unless other boxes still need it: edgefleet enroll-token revoke ${t.id} --reason TEXT\n`
      : '';
    print(ctx, optBool(args, 'json'), r, () => `revoked ${id}${r.disconnected ? ' (disconnected)' : ''}\n${still}`);
    return 0;
  },
};

export const devicesTag: Command = {
  summary: "Replace a device's tags", usage: 'ID --tag k=v ... | --clear [--reason TEXT] [--json]', positionals: [{ name: 'ID', description: 'device id', required: true }],
  options: { ...HUB_OPTIONS, tag: { ...TAGS, description: 'a tag (repeatable): the device\'s tags become exactly these' }, clear: { type: 'boolean', description: 'remove every tag' }, reason: { type: 'string', description: 'why' } },
  check: (args) => [usageProblem(() => tagsOrClear(args)), tagKeysProblem(args)],
  async run(args, ctx) {
    const reason = optString(args, 'reason');
    tagsOrClear(args);
    const d = await HubClient.from(args, ctx).request<DeviceInfo>('PUT', `/devices/${encodeURIComponent(args.positionals[0] as string)}/tags`, { tags: parseTags(optStrings(args, 'tag')), ...(reason ? { reason } : {}) });
    print(ctx, optBool(args, 'json'), d, () => `${d.id}: ${tagsText(d.tags, ' ') || '(no tags)'}\n`);
    return 0;
  },
};

export const enrollTokenCreate: Command = {
  summary: 'Create an enrollment token', usage: '[--tag k=v ...] [--ttl DURATION] [--max-uses N] [--json]',
  options: {
    ...HUB_OPTIONS, tag: { ...TAGS, description: 'tags given to devices that enroll with it (repeatable)' },
    ttl: { type: 'string', value: 'DURATION', description: `lifetime: seconds or 30m, 12h, 7d (default 1d, at most ${ENROLL_TTL_MAX / 86_400}d)`, check: problemOf(parseTtl) },
    'max-uses': { type: 'string', value: 'N', description: `how many devices may use it (default 1, at most ${ENROLL_USES_MAX})`, check: problemOf(parseMaxUses) },
  },
  check: (args) => [tagKeysProblem(args)],
  async run(args, ctx) {
    const ttl = optString(args, 'ttl');
    const max = optString(args, 'max-uses');
    const ttlSec = ttl === undefined ? undefined : parseTtl(ttl);
    const maxUses = max === undefined ? undefined : parseMaxUses(max);
    const t = await HubClient.from(args, ctx).request<EnrollmentTokenCreated>('POST', '/enrollment-tokens', {
      tags: parseTags(optStrings(args, 'tag')), ...(ttlSec !== undefined ? { ttlSec } : {}), ...(maxUses !== undefined ? { maxUses } : {}),
    });
    // The token alone on stdout, so `T=$(edgefleet enroll-token create …)` takes it (as keys generate's keyId).
    print(ctx, optBool(args, 'json'), t, () => `${t.token}\n`);
    if (!optBool(args, 'json')) ctx.stderr.write(`enrollment token ${t.id}: expires ${t.expires}, ${t.maxUses} use(s); give it to "edgefleet-agent enroll --token"\n`);
    return 0;
  },
};

/** Whether a token still enrolls: `revoked` (with when and by whom), `expired`, `used up` or `valid`. */
function enrollTokenState(t: EnrollmentTokenInfo, now: Date): string {
  if (t.revoked) return `revoked ${t.revoked.at} by ${t.revoked.by}`;
  if (Date.parse(t.expires) <= now.getTime()) return 'expired';
  return t.uses >= t.maxUses ? 'used up' : 'valid';
}

export const enrollTokenLs: Command = {
  summary: 'List enrollment tokens, newest first (revoked, expired and used-up ones marked so)', usage: HISTORY_USAGE, options: { ...HUB_OPTIONS, ...HISTORY_OPTIONS },
  async run(args, ctx) {
    const r = await readHistory<EnrollmentTokenInfo>(args, ctx, '/enrollment-tokens', 'tokens', 'enroll-token ls');
    print(ctx, optBool(args, 'json'), r.json, () => table(['ID', 'STATE', 'USES', 'EXPIRES', 'TAGS', 'BY'], r.rows.map((t) => [
      t.id, enrollTokenState(t, ctx.now()), `${t.uses}/${t.maxUses}`, t.expires, tagsText(t.tags), t.createdBy,
    ])));
    return 0;
  },
};

export const enrollTokenRevoke: Command = {
  summary: 'Revoke an enrollment token (enrollments with it are refused at once; devices it enrolled keep working)', usage: 'ID --reason TEXT [--json]',
  positionals: [{ name: 'ID', description: 'enrollment token id (edgefleet enroll-token ls)', required: true }],
  options: { ...HUB_OPTIONS, reason: { type: 'string', required: true, description: 'why (kept in the audit log)' } },
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    const t = await HubClient.from(args, ctx).request<EnrollmentTokenInfo>('POST', `/enrollment-tokens/${encodeURIComponent(id)}/revoke`, { reason: reqString(args, 'reason') });
    print(ctx, optBool(args, 'json'), t, () => `revoked enrollment token ${t.id} (${t.uses} of ${t.maxUses} uses taken); devices it enrolled keep their credentials: edgefleet audit --action device.enroll --actor-id ${t.id} lists them\n`);
    return 0;
  },
};

export const tokensCreate: Command = {
  summary: 'Create an API token', usage: '[NAME] --role viewer|operator|admin [--name N] [--json]',
  positionals: [{ name: 'NAME', description: 'name shown in the audit log (the same as --name)', required: false }],
  options: { ...HUB_OPTIONS, role: { type: 'string', required: true, value: 'R', description: 'viewer, operator or admin', check: choiceProblem(TOKEN_ROLES) }, name: { type: 'string', description: 'name shown in the audit log (unique; default ROLE-YYYYMMDD-HHMMSS)' } },
  check: (args) => [usageProblem(() => oneName(args))],
  async run(args, ctx) {
    const role = parseChoice(reqString(args, 'role'), TOKEN_ROLES, '--role');
    // Names are unique on the hub: the default carries the time to the second, e.g. viewer-20260301-120000.
    const name = oneName(args) ?? `${role}-${ctx.now().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
    const t = await HubClient.from(args, ctx).request<TokenCreated>('POST', '/tokens', { name, role });
    print(ctx, optBool(args, 'json'), t, () => `${t.token}\n`);
    if (!optBool(args, 'json')) ctx.stderr.write(escapeLines(`${t.role} token "${t.name}" (shown once: keep it)\n`));
    return 0;
  },
};

export const tokensLs: Command = {
  summary: 'List API tokens, newest first (names, roles, revoked; never the token values)', usage: HISTORY_USAGE, options: { ...HUB_OPTIONS, ...HISTORY_OPTIONS },
  async run(args, ctx) {
    const r = await readHistory<TokenInfo>(args, ctx, '/tokens', 'tokens', 'tokens ls');
    print(ctx, optBool(args, 'json'), r.json, () => table(['ID', 'NAME', 'ROLE', 'CREATED', 'BY', 'REVOKED'], r.rows.map((t) => [t.id, t.name, t.role, t.created, t.createdBy, t.revoked ? 'yes' : ''])));
    return 0;
  },
};

export const tokensRevoke: Command = {
  summary: 'Revoke an API token (it stops working at once)', usage: 'ID --reason TEXT [--json]', positionals: [{ name: 'ID', description: 'token id (edgefleet tokens ls)', required: true }],
  options: { ...HUB_OPTIONS, reason: { type: 'string', required: true, description: 'why (kept in the audit log)' } },
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    const t = await HubClient.from(args, ctx).request<TokenInfo>('POST', `/tokens/${encodeURIComponent(id)}/revoke`, { reason: reqString(args, 'reason') });
    print(ctx, optBool(args, 'json'), t, () => `revoked API token ${t.id} ("${t.name}", ${t.role})\n`);
    return 0;
  },
};

export const devicesRotateSecret: Command = {
  summary: "Give a device a new secret (the old one stops working; it is disconnected)", usage: 'ID --out FILE [--force] [--reason TEXT] | ID --json',
  positionals: [{ name: 'ID', description: 'device id', required: true }],
  options: {
    ...HUB_OPTIONS, reason: { type: 'string', description: 'why (kept in the audit log)' },
    out: { type: 'string', value: 'FILE', description: 'write the new credentials file here (mode 0600); needed unless --json' },
    force: { type: 'boolean', description: 'replace an existing --out file' },
  },
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    const reason = optString(args, 'reason');
    const json = optBool(args, 'json');
    const outArg = optString(args, 'out');
    // The old secret stops working and the new one is shown once: without a place to keep it the device
    // would be locked out, so nothing is done until that place is known to be writable.
    if (outArg === undefined && !json) {
      throw new UsageError(`missing --out FILE: the new secret is shown once and ${id}'s old one stops working; give --out FILE (or --json to print the credentials)`);
    }
    const out = outArg === undefined ? undefined : resolve(ctx.cwd, outArg);
    if (out) checkOutFile(out, '--out', { force: optBool(args, 'force') });
    const creds = await HubClient.from(args, ctx).request<DeviceCredentials>('POST', `/devices/${encodeURIComponent(id)}/rotate-secret`, reason ? { reason } : {});
    if (out) writeFileAtomic(out, `${JSON.stringify(creds, null, 2)}\n`, 0o600);
    print(ctx, json, creds, () => `${id}: new secret issued; credentials written to ${out} (copy it to the device's data dir as credentials.json)\n`);
    return 0;
  },
};
