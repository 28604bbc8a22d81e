// Retention's own records in the outbox (docs/agent-summaries.md "Retention"): the counts a
// `backlog_dropped` carries from the records it replaces, and the folding of unsent records of one kind
// into the next. A box offline for months records a `backlog_compacted` about once an hour of new
// windows and, at its budget, a `backlog_dropped` every pass; kept one by one, those records filled
// the outbox and crowded out the windows they reported on (at a 1 MiB budget, 120 days offline left
// 1,680 records and 83 windows).
import type Database from 'better-sqlite3';
import { prepared } from '../store/statements.js';

/** What a pass dropped (with the counts of earlier passes' dropped records it carried on). */
export type Dropped = { windows: number; outbox: number; predictions: number; unacked: number; unackedPredictions: number; events: number };

/**
 * Takes out of the outbox the events of `kind` above `sentFloor` (never handed to the link, so the hub
 * has none of them) that `fold` accepts, oldest first; `fold` gets each one's payload JSON and adds what
 * it says to the record about to be written. Returns the payload bytes freed.
 */
export function takeUnsentEvents(db: Database.Database, kind: string, sentFloor: number, fold: (json: string) => boolean): number {
  const rows = prepared(db, "SELECT seq, payload FROM outbox WHERE kind = 'event' AND seq > ? AND json_extract(payload, '$.kind') = ? ORDER BY seq")
    .all(sentFloor, kind) as Array<{ seq: number; payload: string }>;
  const del = prepared(db, 'DELETE FROM outbox WHERE seq = ?');
  let freed = 0;
  for (const r of rows) {
    if (!fold(r.payload)) continue;
    del.run(r.seq);
    freed += r.payload.length;
  }
  return freed;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

/** Adds the counts of a dropped `backlog_dropped` event (its outbox JSON) to `d`; false for any other event. */
export function carryDropped(d: Dropped, json: string, firstStart: (s: string) => void): boolean {
  let e: { kind?: unknown; data?: Record<string, unknown> };
  try {
    e = JSON.parse(json) as typeof e;
  } catch {
    return false;
  }
  if (e.kind !== 'backlog_dropped' || !e.data) return false;
  d.windows += count(e.data.droppedWindows);
  d.outbox += count(e.data.droppedOutbox);
  d.predictions += count(e.data.droppedPredictions);
  d.unacked += count(e.data.droppedUnacked);
  d.unackedPredictions += count(e.data.droppedUnackedPredictions);
  d.events += count(e.data.droppedEvents);
  if (typeof e.data.firstStart === 'string') firstStart(e.data.firstStart);
  return true;
}

/** Compactions folded into one `backlog_compacted` record of one resolution. */
export interface Compacted { entries: number; passes: number; since: string | undefined }

/** Adds an unsent `backlog_compacted` record of `resolution` (its outbox JSON) to `c`; false for another resolution or event. */
export function carryCompacted(c: Compacted, resolution: string, json: string): boolean {
  let e: { kind?: unknown; at?: unknown; data?: Record<string, unknown> };
  try {
    e = JSON.parse(json) as typeof e;
  } catch {
    return false;
  }
  if (e.kind !== 'backlog_compacted' || e.data?.resolution !== resolution) return false;
  c.entries += count(e.data.mergedEntries);
  c.passes += Math.max(1, count(e.data.passes));
  // Records come oldest first: the first one's start is the folded record's.
  const since = typeof e.data.since === 'string' ? e.data.since : typeof e.at === 'string' ? e.at : undefined;
  if (c.since === undefined || (since !== undefined && since < c.since)) c.since = since;
  return true;
}
