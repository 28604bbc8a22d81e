// What retention (retention.ts) merges: rows of finer windows grouped by the hour or day they fall in,
// and one group merged into one coarser window (mergeWindows: every count stays exact).
// SQLite finds the groups from the rows' columns and a few JSON fields (json_extract); only the rows of a
// group being merged are parsed here. Parsing every finer row on each pass made a pass cost what the
// store holds, not what it merges (docs/performance.md "Retention passes").
import type Database from 'better-sqlite3';
import { alignWindowStart, mergeWindows } from '@edgefleet/shared/core';
import type { SummaryWindow } from '@edgefleet/shared';
import { OUTBOX_LEN, OUTBOX_START } from './migration.js';
import { prepared } from '../store/statements.js';

/** A stored window: its row id or outbox seq, and its JSON. */
export interface Row { key: number; json: string }

const LEN: Record<'hour' | 'day', number> = { hour: 3600, day: 86_400 };

/**
 * Where the finer windows are: the windows shorter than the target (@len, s) starting in [@from, @to)
 * (ms), with `params`. `first` selects the earliest such start (ms) as `ms`; `rows` selects key (row id or
 * outbox seq), ord (the order rows are merged in), ms (the window's start), model, version and doc (its
 * JSON). `doc` fetches one row's JSON by key.
 */
export interface WindowSource { first: string; rows: string; params: unknown[]; doc: string }

/** The stored table's windows of the given resolutions, oldest first (index summary_windows_by_time). */
export function tableSource(resolutions: readonly string[]): WindowSource {
  const where = `resolution IN (${resolutions.map(() => '?').join(',')}) AND start_ms >= @from AND start_ms < @to AND length_sec < @len`;
  return {
    first: `SELECT start_ms AS ms FROM summary_windows WHERE ${where} ORDER BY start_ms LIMIT 1`,
    rows: `SELECT id AS key, ROW_NUMBER() OVER (ORDER BY start_ms, id) AS ord, start_ms AS ms, model, version, json AS doc FROM summary_windows WHERE ${where}`,
    params: [...resolutions],
    doc: 'SELECT json FROM summary_windows WHERE id = ?',
  };
}

/** The outbox windows above `floor` (never sent), in seq order (index outbox_windows_by_start, migration.ts). */
export function outboxSource(floor: number): WindowSource {
  const where = `kind = 'window' AND ${OUTBOX_START} >= @from / 1000 AND ${OUTBOX_START} < @to / 1000 AND ${OUTBOX_LEN} < @len AND seq > ?`;
  return {
    first: `SELECT ${OUTBOX_START} * 1000 AS ms FROM outbox WHERE ${where} ORDER BY ${OUTBOX_START} LIMIT 1`,
    rows: `SELECT seq AS key, seq AS ord, ${OUTBOX_START} * 1000 AS ms, json_extract(payload, '$.model') AS model, json_extract(payload, '$.version') AS version, payload AS doc
      FROM outbox WHERE ${where}`,
    params: [floor],
    doc: 'SELECT payload FROM outbox WHERE seq = ?',
  };
}

// One period's groups by model, version, reference and clock mark. Windows stamped by different clocks
// stay apart: the hub places each by its own clock (clock-mark.ts). A start SQLite cannot read is NULL:
// such a row is never selected.
const groupsSql = (rows: string) => `WITH c AS (${rows})
  SELECT group_concat(key, ',' ORDER BY ord) AS keys FROM c
  GROUP BY model, version, json_extract(doc, '$.referenceId'), json_extract(doc, '$.clock')
  HAVING COUNT(*) > 1
  ORDER BY MIN(ord)`;

/**
 * The groups of `source` whose period has ended, oldest period first (then by their first row), each
 * row in merge order; groups of one row are left out (nothing to merge). A generator that reads one
 * period at a time: a pass that reaches its budget reads no further.
 */
export function* mergeableGroups(db: Database.Database, source: WindowSource, target: 'hour' | 'day', now: number): Generator<Row[]> {
  const lenMs = LEN[target] * 1000;
  const cutoff = alignWindowStart(now, LEN[target]);
  const first = prepared(db, source.first, true);
  const groups = prepared(db, groupsSql(source.rows), true);
  const doc = prepared(db, source.doc, true);
  for (let from = Number.MIN_SAFE_INTEGER; ;) {
    const ms = first.get(...source.params, { len: LEN[target], from, to: cutoff }) as number | undefined;
    if (ms === undefined || ms === null) return;
    const period = alignWindowStart(ms, LEN[target]);
    for (const keys of groups.all(...source.params, { len: LEN[target], from: period, to: period + lenMs }) as string[]) {
      yield keys.split(',').map((k) => ({ key: Number(k), json: doc.get(Number(k)) as string }));
    }
    from = period + lenMs;
  }
}

/** One window of the target resolution holding the whole group. */
export function mergeGroup(g: Row[], target: 'hour' | 'day'): SummaryWindow {
  const ws = g.map((row) => JSON.parse(row.json) as SummaryWindow);
  let m = ws[0]!;
  for (const w of ws.slice(1)) m = mergeWindows(m, w);
  return { ...m, start: new Date(alignWindowStart(Date.parse(m.start), LEN[target])).toISOString(), lengthSec: LEN[target] };
}
