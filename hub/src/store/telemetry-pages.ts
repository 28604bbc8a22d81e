// One page of stored windows or events in (time, device, seq) order (or newest first), read by keyset: each page
// continues after the last row of the one before, so a row stored before the first page is read exactly
// once even when others arrive between pages, and no page costs more than its own rows. A page is bounded
// twice: by a count of rows and by the characters of their JSON (docs/hub.md "REST API"), the second
// measured before any body is read (as the capture chunk pages, capture/repo.ts), so one page never holds
// more than its budget (and one row) however large the stored rows are.
import type { Db } from './db.js';

/** Where a row sits in the order: its time as stored, its device and its device seq. */
export interface RowKey {
  time: string;
  deviceId: string;
  seq: number;
}

/** Characters of stored JSON one page holds at most (one row more than this is still a page of one). */
export const PAGE_CHARS = 8 * 1024 * 1024;

/** The two telemetry tables: the column with each row's time, and the one with its JSON. */
const TABLES = {
  windows: { table: 'device_windows', time: 'start', body: 'window' },
  events: { table: 'device_events', time: 'at', body: 'event' },
} as const;

export interface PageQuery {
  /** Equality filters by column (undefined: no filter). */
  eq: Record<'device_id' | 'model' | 'version', string | undefined>;
  /** Rows whose time is at or after this (canonical UTC, shared QueryTime). */
  since?: string | undefined;
  /** Rows after this one in the order. */
  after?: RowKey | undefined;
  limit: number;
  maxChars: number;
  /** Newest first (`after` then means older than that row). */
  newest?: boolean | undefined;
}

export interface Page {
  rows: Array<RowKey & { body: string }>;
  /** The last row's key when more rows follow; null after the last page. */
  next: RowKey | null;
}

export function telemetryPage(db: Db, what: keyof typeof TABLES, q: PageQuery): Page {
  const { table, time, body } = TABLES[what];
  const parts: string[] = [];
  const args: unknown[] = [];
  for (const [col, v] of Object.entries(q.eq)) {
    if (v === undefined) continue;
    parts.push(`${col} = ?`);
    args.push(v);
  }
  if (q.since !== undefined) {
    parts.push(`${time} >= ?`);
    args.push(q.since);
  }
  // Past a key in the page order, and up to one: the comparisons of the order, turned for newest first.
  const [past, before, pastOr, upToOr] = q.newest ? ['<', '>', '<=', '>='] : ['>', '<', '>=', '<='];
  const a = q.after;
  // `time >= ?` first, so the (model, version, start) index bounds the scan.
  if (a) {
    parts.push(`${time} ${pastOr} ? AND (${time} ${past} ? OR device_id ${past} ? OR (device_id = ? AND seq ${past} ?))`);
    args.push(a.time, a.time, a.deviceId, a.deviceId, a.seq);
  }
  const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
  const dir = q.newest ? ' DESC' : '';
  const order = `ORDER BY ${time}${dir}, device_id${dir}, seq${dir}`;
  // Keys and sizes first (one row more than the limit says whether another page follows).
  const keys = db.prepare(`SELECT device_id, seq, ${time} AS t, length(${body}) AS size FROM ${table} ${where} ${order} LIMIT ?`)
    .all(...args, q.limit + 1) as Array<{ device_id: string; seq: number; t: string; size: number }>;
  let n = 0;
  let chars = 0;
  for (const k of keys.slice(0, q.limit)) {
    if (n > 0 && chars + Number(k.size) > q.maxChars) break;
    chars += Number(k.size);
    n++;
  }
  const last = keys[n - 1];
  if (!last) return { rows: [], next: null };
  // Then the bodies up to the page's last key; only the keys counted (a row stored in between waits for
  // a later read, as any row stored behind a cursor).
  const taken = new Set(keys.slice(0, n).map((k) => `${k.device_id}\n${k.seq}`));
  const upTo = `${time} ${upToOr} ? AND (${time} ${before} ? OR device_id ${before} ? OR (device_id = ? AND seq ${upToOr} ?))`;
  const rows = db.prepare(`SELECT device_id, seq, ${time} AS t, ${body} AS body FROM ${table} WHERE ${[...parts, upTo].join(' AND ')} ${order}`)
    .all(...args, last.t, last.t, last.device_id, last.device_id, last.seq) as Array<{ device_id: string; seq: number; t: string; body: string }>;
  return {
    rows: rows.filter((r) => taken.has(`${r.device_id}\n${r.seq}`)).map((r) => ({ time: r.t, deviceId: r.device_id, seq: Number(r.seq), body: r.body })),
    next: n < keys.length ? { time: last.t, deviceId: last.device_id, seq: Number(last.seq) } : null,
  };
}
