// `edgefleet-agent summaries [--model m] [--since T] [--json]`: the stored
// summary windows. Text: per model version the latest window, one line per
// feature with a sparkline of its bin counts (under | bins | over), errors by kind
// (invalid input, shed load, model failures: docs/agent-summaries.md "Error kinds");
// --json: the windows, each with model, version, start, lengthSec, count, errors and errorKinds.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, errorKindCounts, escapeText, formatErrorKinds } from '@edgefleet/shared/core';
import type { SummaryWindow } from '@edgefleet/shared';
import { optBool, optString, parseTimeOption, timeCheck, type CliContext, type Command } from '@edgefleet/shared/cli';
import { configOf, dataDirOptions } from '../cli/common.js';
import { ensureSummaryTables } from './migration.js';
import { refuseEmpty, refuseNotAFile } from '../store/db-file.js';
import { SummaryStore, type StoredWindow } from './store.js';

const BARS = '▁▂▃▄▅▆▇█';

/** One character per count, scaled to the largest; an empty bin is a space-like low bar. */
export function sparkline(counts: readonly number[]): string {
  const max = Math.max(0, ...counts);
  if (max === 0) return BARS[0]!.repeat(counts.length);
  return counts.map((c) => (c === 0 ? '·' : BARS[Math.min(7, Math.floor((c / max) * 7.999))]!)).join('');
}

/** --since (shared/src/cli/time.ts: a duration ago, a date or an ISO date-time) in ms. */
export function parseSince(s: string, now: number): number {
  return parseTimeOption(s, new Date(now), '--since').getTime();
}

/** textView's line for no windows; `none` says why (nothing stored yet, or none in the range asked). */
function textView(rows: StoredWindow[], none: string): string {
  const latest = new Map<string, SummaryWindow>();
  const totals = new Map<string, { windows: number; count: number; errors: Record<string, number> }>();
  for (const r of rows) {
    const k = `${r.window.model}@${r.window.version}`;
    latest.set(k, r.window); // rows are in start order: the last one wins
    const t = totals.get(k) ?? { windows: 0, count: 0, errors: {} };
    t.windows++;
    t.count += r.window.count;
    for (const [c, n] of Object.entries(r.window.errors)) t.errors[c] = (t.errors[c] ?? 0) + n;
    totals.set(k, t);
  }
  const out: string[] = [];
  for (const [k, w] of latest) {
    const t = totals.get(k)!;
    out.push(`${k}  ${t.windows} windows, ${t.count} predictions, errors: ${formatErrorKinds(t.errors)}`);
    out.push(`  latest ${w.start} (${w.lengthSec}s): ${w.count} predictions, errors: ${formatErrorKinds(w.errors)}`);
    const width = Math.max(4, ...w.features.map((f) => f.name.length), ...w.outputs.map((o) => o.name.length + 4));
    for (const f of w.features) {
      if (f.kind === 'numeric') {
        const h = f.hist;
        const mean = f.moments.n > 0 ? f.moments.mean.toPrecision(4) : '-';
        const bars = h ? `${h.under} |${sparkline(h.counts)}| ${h.over}` : '(no reference bins)';
        out.push(`  ${f.name.padEnd(width)}  ${bars}  n=${f.moments.n} mean=${mean} nan=${f.nans}`);
      } else {
        const vals = Object.entries(f.cat.counts);
        out.push(`  ${f.name.padEnd(width)}  |${sparkline(vals.map(([, c]) => c))}| other ${f.cat.other}  ${vals.map(([v, c]) => `${v}:${c}`).join(' ')}`);
      }
    }
    for (const o of w.outputs) {
      const bars = o.hist ? `${o.hist.under} |${sparkline(o.hist.counts)}| ${o.hist.over}` : '';
      out.push(`  ${`out ${o.name}`.padEnd(width)}  ${bars}  n=${o.moments.n} mean=${o.moments.n > 0 ? o.moments.mean.toPrecision(4) : '-'}`);
    }
    for (const i of w.inputs) {
      out.push(`  ${`in ${i.name}`.padEnd(width)}  n=${i.moments.n} mean=${i.moments.n > 0 ? i.moments.mean.toPrecision(4) : '-'} nan=${i.nans}`);
    }
  }
  // Feature and output names come from bundles: printed escaped (shared/src/text.ts).
  return out.length === 0 ? `${escapeText(none)}\n` : `${out.map(escapeText).join('\n')}\n`;
}

export const summariesCommand: Command = {
  summary: 'Show the stored prediction summaries: per model version the latest window, or every window as JSON',
  options: {
    model: { type: 'string', value: 'NAME', description: 'only this model' },
    since: { type: 'string', value: 'WHEN', description: 'windows from this time on: a duration ago (90s, 15m, 2h, 7d), a date (2026-01-01) or an ISO time', check: timeCheck('--since') },
    json: { type: 'boolean', description: 'print {windows: [...]} as JSON' },
    ...dataDirOptions,
  },
  async run(args, ctx) {
    const since = optString(args, 'since');
    const sinceMs = since === undefined ? 0 : parseSince(since, ctx.now().getTime());
    return showSummaries(configOf(args, ctx).dataDir, { model: optString(args, 'model'), since, sinceMs, json: optBool(args, 'json') }, ctx);
  },
};

/** What the text view says when no window matched: none stored yet, or none in the range asked (naming it). */
function noneText(store: SummaryStore, q: { model: string | undefined; since: string | undefined; sinceMs: number }): string {
  const of = q.model === undefined ? '' : ` of model ${JSON.stringify(q.model)}`;
  if (q.since === undefined || store.listWindows({ model: q.model, limit: 1 }).length === 0) return `no summary windows${of} yet`;
  return `no summary windows${of} start at or after ${new Date(q.sinceMs).toISOString()} (--since ${q.since}): the stored ones are older; a longer --since shows them`;
}

function showSummaries(dataDir: string, q: { model: string | undefined; since: string | undefined; sinceMs: number; json: boolean }, ctx: CliContext): number {
  const path = join(dataDir, 'agent.db');
  if (!existsSync(path)) {
    throw new AppError('NOT_FOUND', `no agent database at ${path}: expected --data-dir to point at an agent's data directory`);
  }
  refuseNotAFile(path);
  const db = new Database(path);
  try {
    refuseEmpty(db, path); // an emptied agent.db is refused, not given tables (store/db-file.ts)
    db.pragma('busy_timeout = 5000');
    ensureSummaryTables(db);
    const store = new SummaryStore(db);
    const rows = store.listWindows({ model: q.model, sinceMs: q.sinceMs });
    if (q.json) {
      const windows = rows.map((r) => ({ resolution: r.resolution, ...r.window, errorKinds: errorKindCounts(r.window.errors) }));
      ctx.stdout.write(`${JSON.stringify({ windows }, null, 2)}\n`);
    } else {
      ctx.stdout.write(textView(rows, rows.length === 0 ? noneText(store, q) : ''));
    }
    return 0;
  } finally {
    db.close();
  }
}
