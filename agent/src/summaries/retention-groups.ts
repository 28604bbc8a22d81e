// What retention (retention.ts) merges: rows of finer windows grouped by the hour or day they fall in,
// and one group merged into one coarser window (mergeWindows: every count stays exact).
import { alignWindowStart, mergeWindows } from '@edgefleet/shared/core';
import type { SummaryWindow } from '@edgefleet/shared';

/** A stored window: its row id or outbox seq, and its JSON. */
export interface Row { key: number; json: string }

const LEN: Record<'hour' | 'day', number> = { hour: 3600, day: 86_400 };

/**
 * Groups rows by model, version, reference, clock mark and target-aligned start (only periods that have ended),
 * oldest period first; groups of one row are left out (nothing to merge).
 */
export function mergeableGroups(rows: Row[], target: 'hour' | 'day', now: number): Row[][] {
  const len = LEN[target];
  const cutoff = alignWindowStart(now, len);
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const w = JSON.parse(row.json) as SummaryWindow;
    if (w.lengthSec >= len) continue;
    const start = alignWindowStart(Date.parse(w.start), len);
    if (start >= cutoff) continue; // the period has not ended yet
    // Windows stamped by different clocks stay apart: the hub places each by its own clock (clock-mark.ts).
    const k = JSON.stringify([start, w.model, w.version, w.referenceId ?? null, w.clock ?? null]);
    const g = groups.get(k);
    if (g) g.push(row);
    else groups.set(k, [row]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (JSON.parse(a) as [number])[0] - (JSON.parse(b) as [number])[0])
    .map(([, g]) => g)
    .filter((g) => g.length > 1);
}

/** One window of the target resolution holding the whole group. */
export function mergeGroup(g: Row[], target: 'hour' | 'day'): SummaryWindow {
  const ws = g.map((row) => JSON.parse(row.json) as SummaryWindow);
  let m = ws[0]!;
  for (const w of ws.slice(1)) m = mergeWindows(m, w);
  return { ...m, start: new Date(alignWindowStart(Date.parse(m.start), LEN[target])).toISOString(), lengthSec: LEN[target] };
}
