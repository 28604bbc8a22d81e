// `edgefleet audit`: the hub's audit log a page at a time (GET /audit, docs/hub.md "REST API"). Oldest
// first by default, `--newest N` for the latest entries; whenever entries were left out, a note on stderr
// says so and gives the command that shows them (the cursor is the audit entry id, never reused).
import { AUDIT_PAGE_MAX, escapeLines, type AuditEntry, type AuditList } from '@edgefleet/shared';
import { timeCheck } from '@edgefleet/shared/cli';
import { UsageError, optBool, optString, parsePositiveInt, problemOf, usageProblem, type Command, type ParsedArgs } from '../args.js';
import { printResult, table } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { parseSince } from './drift.js';
import { parseBoundedInt } from './parse.js';

/** The audit actor for people: the token's name with its id (`admin#tok_…`), since names alone are not proof. */
export function actorLabel(e: Pick<AuditEntry, 'actor' | 'actorId'>): string {
  return e.actorId && !e.actor.includes(e.actorId) ? `${e.actor}#${e.actorId}` : e.actor;
}

/** Filter options and the query parameter each sets. */
const FILTERS = [['actor', 'actor'], ['actor-id', 'actorId'], ['action', 'action'], ['target', 'target'], ['since', 'since']] as const;

/** A word for a shell: quoted unless it is plain (the note's command is meant to be pasted). */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A page size (--limit, --newest) or an entry id (--after, --before). */
const parseCount = (name: string) => (raw: string): number => (name === 'limit' || name === 'newest'
  ? parseBoundedInt(raw, name, AUDIT_PAGE_MAX, 'entries a page (page on with --after or --before)')
  : parsePositiveInt(raw, `--${name}`));

function count(args: ParsedArgs, name: string): number | undefined {
  const raw = optString(args, name);
  return raw === undefined ? undefined : parseCount(name)(raw);
}

function oneSize(limit: unknown, newest: unknown): void {
  if (limit !== undefined && newest !== undefined) throw new UsageError('give --limit N (oldest first) or --newest N, not both');
}

/** What was left out and the command that shows it, or null when the page holds every matching entry. */
/** The filter options given, `--since` as the ISO time it means (so a note's command pages the same range). */
function filterValues(args: ParsedArgs, now: Date): Array<[opt: string, param: string, value: string]> {
  return FILTERS.flatMap(([opt, param]) => {
    const v = optString(args, opt);
    return v === undefined ? [] : [[opt, param, opt === 'since' ? parseSince(v, now) : v] as [string, string, string]];
  });
}

function leftOutNote(args: ParsedArgs, given: ReturnType<typeof filterValues>, next: number | null, newest: number | undefined, limit: number | undefined): string | null {
  if (next === null) return null;
  const filters = given.flatMap(([opt, , v]) => [`--${opt}`, shellWord(v)]);
  const after = optString(args, 'after');
  if (newest !== undefined) {
    return `older entries not shown (the newest ${newest} are): edgefleet audit ${[...filters, '--newest', String(newest), ...(after ? ['--after', after] : []), '--before', String(next)].join(' ')}\n`;
  }
  const before = optString(args, 'before');
  const page = limit === undefined ? [] : ['--limit', String(limit)];
  return `more entries after #${next} not shown: edgefleet audit ${[...filters, ...page, '--after', String(next), ...(before ? ['--before', before] : [])].join(' ')}`
    + ` (or --newest N for the latest)\n`;
}

export const auditCmd: Command = {
  summary: 'Show the audit log (oldest first, or the newest N), saying when entries were left out and how to see them',
  usage: '[--actor A] [--actor-id ID] [--action X] [--target T] [--since AGO|DATE|ISO] [--limit N | --newest N] [--after ID] [--before ID] [--json]',
  options: {
    ...HUB_OPTIONS,
    actor: { type: 'string', value: 'A', description: 'only entries by this actor (its name, as the ACTOR column shows it before #)' }, 'actor-id': { type: 'string', value: 'ID', description: 'only entries by this token id (the #ID of the ACTOR column)' },
    action: { type: 'string', value: 'X', description: 'only this action, e.g. deployment.create or device.enroll' }, target: { type: 'string', value: 'T', description: 'only entries on this target, e.g. a device id or NAME@VERSION' }, since: { type: 'string', value: 'AGO|DATE|ISO', description: 'entries from this time on: a duration ago (30m, 24h, 7d), a date (2026-01-01, from 00:00 UTC) or an ISO time', check: timeCheck('--since') },
    limit: { type: 'string', value: 'N', description: `at most N entries, oldest first (default 500, at most ${AUDIT_PAGE_MAX})`, check: problemOf(parseCount('limit')) },
    newest: { type: 'string', value: 'N', description: 'the newest N entries instead (printed oldest to newest; --json: newest first)', check: problemOf(parseCount('newest')) },
    after: { type: 'string', value: 'ID', description: 'only entries after this id (the cursor the note or `next` gives)', check: problemOf(parseCount('after')) },
    before: { type: 'string', value: 'ID', description: 'only entries before this id (with --newest: the older page)', check: problemOf(parseCount('before')) },
  },
  check: (args) => [usageProblem(() => oneSize(optString(args, 'limit'), optString(args, 'newest')))],
  async run(args, ctx) {
    const limit = count(args, 'limit');
    const newest = count(args, 'newest');
    oneSize(limit, newest);
    const given = filterValues(args, ctx.now());
    const q = new URLSearchParams();
    for (const [, param, v] of given) if (v) q.set(param, v);
    for (const k of ['after', 'before']) { const v = count(args, k); if (v !== undefined) q.set(k, String(v)); }
    if (newest !== undefined) q.set('order', 'desc');
    const size = newest ?? limit;
    if (size !== undefined) q.set('limit', String(size));
    const r = await HubClient.from(args, ctx).request<AuditList>('GET', `/audit${q.size ? `?${q}` : ''}`);
    // --newest reads newest first; people read a log top to bottom, so the latest entry prints last.
    const shown = newest === undefined ? r.entries : [...r.entries].reverse();
    printResult(ctx.stdout, optBool(args, 'json'), r, () => table(['ID', 'AT', 'ACTOR', 'ACTION', 'TARGET', 'REASON'], shown.map((e) => [String(e.id), e.at, actorLabel(e), e.action, e.target, e.reason ?? ''])));
    const note = leftOutNote(args, given, r.next, newest, limit);
    if (note) ctx.stderr.write(escapeLines(note));
    return 0;
  },
};
