// The list commands of records that grow with history (`capture ls`, `deployments ls`, `rollout ls`;
// docs/cli.md "capture ls, deployments ls, rollout ls, tokens ls, enroll-token ls"): a page newest first (`--limit N`, `--before CURSOR`), and
// every older page with `--all-pages`. Whenever older records were left out, a note on stderr says so
// and gives the command that shows them, as `edgefleet audit` does.
import { HISTORY_PAGE, escapeLines, olderPagePath } from '@edgefleet/shared';
import { optBool, optString, problemOf, type Command, type ParsedArgs } from '../args.js';
import type { CliContext } from '../output.js';
import { HubClient } from '../remote-client.js';
import { parseBoundedInt } from './parse.js';

const parseLimit = (raw: string) => parseBoundedInt(raw, 'limit', HISTORY_PAGE.maxLimit, 'a page (page on with --before, or --all-pages)');

export const HISTORY_OPTIONS = {
  limit: { type: 'string', value: 'N', description: `at most N a page, newest first (default ${HISTORY_PAGE.defaultLimit}, at most ${HISTORY_PAGE.maxLimit})`, check: problemOf(parseLimit) },
  before: { type: 'string', value: 'CURSOR', description: 'only older ones than this (the cursor the note or `next` gives)' },
  'all-pages': { type: 'boolean', description: 'follow every older page to the oldest record' },
} as const satisfies Command['options'];

export const HISTORY_USAGE = '[--limit N] [--before CURSOR] [--all-pages] [--json]';

/**
 * Reads `path` (GET, its list under `key`) a page at a time: one page, or with --all-pages every page
 * from --before on. Returns the hub's answer (all rows under `key`, `next` where it left off) and writes
 * the note naming `command` with the cursor of the older page when one was left out.
 */
export async function readHistory<R>(args: ParsedArgs, ctx: CliContext, path: string, key: string, command: string): Promise<{ rows: R[]; next: string | number | null; json: unknown }> {
  const raw = optString(args, 'limit');
  const limit = raw === undefined ? undefined : parseLimit(raw);
  const all = optBool(args, 'all-pages');
  const client = HubClient.from(args, ctx);
  const rows: R[] = [];
  let before: string | number | null = optString(args, 'before') ?? null;
  do {
    const page: Record<string, unknown> & { next: string | number | null } = await client.request('GET', olderPagePath(limit === undefined ? path : `${path}?limit=${limit}`, before));
    rows.push(...(page[key] as R[]));
    before = (page[key] as R[]).length > 0 ? page.next : null; // an empty page ends it, whatever it says
  } while (all && before !== null);
  if (before !== null) {
    const words = [command, ...(limit === undefined ? [] : ['--limit', String(limit)]), '--before', String(before)];
    ctx.stderr.write(escapeLines(`older ${key} not shown: edgefleet ${words.join(' ')} (or --all-pages for all of them)\n`));
  }
  return { rows, next: before, json: { [key]: rows, next: before } };
}
