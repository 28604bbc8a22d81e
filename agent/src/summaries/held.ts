// Closed summary windows the disk refuses (a full disk, DISK_FULL) wait in memory for the next tick with
// room (docs/agent-summaries.md "Recording"). A disk that stays full for weeks would make that one window
// per version every windowSec (~6 MiB a day for a 12-feature model at 60 s windows): past HELD_WINDOWS they
// are merged into hourly windows, then daily ones, as retention does on disk (mergeWindows: every count
// stays exact), so what waits grows by at most one window per version a day.
import { alignWindowStart, mergeWindows } from '@edgefleet/shared/core';
import type { SummaryWindow } from '@edgefleet/shared';

/** Closed windows held in memory before they are merged coarser. */
export const HELD_WINDOWS = 256;

/** `windows` (oldest first), merged into hourly and then daily windows while they are more than `max`. */
export function mergeHeld(windows: SummaryWindow[], max = HELD_WINDOWS): SummaryWindow[] {
  let out = windows;
  for (const len of [3600, 86_400]) {
    if (out.length <= max) break;
    out = mergeInto(out, len);
  }
  return out;
}

/** One window of `len` seconds per model, version, reference, clock mark and period (aligned to `len`). */
function mergeInto(windows: readonly SummaryWindow[], len: number): SummaryWindow[] {
  const groups = new Map<string, SummaryWindow>();
  const out: SummaryWindow[] = [];
  for (const w of windows) {
    if (w.lengthSec >= len) { // a window as long already (summaries.windowSec up to a day) stays as it is
      out.push(w);
      continue;
    }
    const start = alignWindowStart(Date.parse(w.start), len);
    const key = JSON.stringify([w.model, w.version, w.referenceId ?? null, w.clock ?? null, start]);
    const have = groups.get(key);
    const merged = have ? mergeWindows(have, w) : w;
    groups.set(key, { ...merged, start: new Date(start).toISOString(), lengthSec: len });
  }
  return [...out, ...groups.values()].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
}
