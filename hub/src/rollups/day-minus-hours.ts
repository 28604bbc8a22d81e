// Fewer rollup rows for a per-device question about counts only (docs/decisions/0043-perf-drift-broker-summaries.md,
// "Worst devices"): ingest adds every window to its hour and to its UTC day in one transaction
// (store/rollups-repo.ts), so a day's row is exactly the sum of its hours. Where a range covers most
// of a day in hours, reading the day's row and taking out the hours outside the range reads fewer
// rows: a 24-hour range not aligned to a day is 24 hourly rows per device, or 3 (two days' edges: a
// day row, one hour taken out, one hour added). Counts and sums subtract exactly; moments (min, max)
// and latency sketches do not, so this plan is for counts only (values.ts `addStored` with sign -1).
import { DAY_SEC, HOUR_SEC, type RollupsRepo, type ScanRange, type Series } from '../store/rollups-repo.js';
import type { Group, Plan } from './query.js';
import type { RollupLayout } from './layout.js';
import { addStored, perfLength, type RollupValues } from './values.js';

export interface SignedRange extends ScanRange {
  /** 1: add the rows of the range; -1: take them out. */
  sign: 1 | -1;
}

const HOUR_MS = HOUR_SEC * 1000;
const DAY_MS = DAY_SEC * 1000;
const HOURS_PER_DAY = DAY_SEC / HOUR_SEC;

/**
 * The same totals as `ranges` with the fewest rows per device: each stretch of hourly rows within one
 * UTC day becomes that day's row minus the day's other hours when that is fewer rows (more than half
 * the day covered). Daily ranges stay as they are.
 */
export function dayMinusHours(ranges: readonly ScanRange[]): SignedRange[] {
  const out: SignedRange[] = [];
  for (const r of ranges) {
    if (r.to <= r.from) continue;
    if (r.grain !== HOUR_SEC) {
      out.push({ ...r, sign: 1 });
      continue;
    }
    for (let from = r.from; from < r.to;) {
      const day = Math.floor(from / DAY_MS) * DAY_MS;
      const to = Math.min(r.to, day + DAY_MS);
      const hours = (to - from) / HOUR_MS;
      if (1 + (HOURS_PER_DAY - hours) < hours) {
        out.push({ grain: DAY_SEC, from: day, to: day + DAY_MS, sign: 1 });
        if (from > day) out.push({ grain: HOUR_SEC, from: day, to: from, sign: -1 });
        if (to < day + DAY_MS) out.push({ grain: HOUR_SEC, from: to, to: day + DAY_MS, sign: -1 });
      } else {
        out.push({ grain: HOUR_SEC, from, to, sign: 1 });
      }
      from = to;
    }
  }
  return out;
}

const COUNTS = { dist: true, errors: false } as const;
const NONE = new Float64Array(0);

/** Values with counts, bins and perf only: moments and latency are not read here (empty vectors). */
function countsValues(layout: RollupLayout): RollupValues {
  return { windows: 0, count: 0, errModel: 0, errInput: 0, errLoad: 0, errors: {}, dist: new Float64Array(layout.distLength), mom: NONE, lat: NONE, perf: new Float64Array(perfLength(layout)), firstMs: Infinity, lastMs: -Infinity, activeMs: 0 };
}

/**
 * Each device's counts and bins over `plan` (no moments, latency or errors by code), one group per
 * device, read as `dayMinusHours` plans it. A device whose rows cancel out (seen only in hours
 * outside the range) is left out, as a plain scan of the range would.
 */
export function deviceCounts(repo: RollupsRepo, s: Series, plan: Plan, devices?: readonly string[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  const opts = devices ? { ...COUNTS, devices } : COUNTS;
  for (const r of dayMinusHours(plan.ranges)) {
    for (const row of repo.scan(s.id, [r], opts)) {
      let g = groups.get(row.deviceId);
      if (!g) groups.set(row.deviceId, (g = { values: countsValues(s.layout), devices: new Set([row.deviceId]) }));
      addStored(g.values, row, COUNTS, r.sign);
    }
  }
  for (const [id, g] of groups) if (g.values.windows === 0) groups.delete(id);
  return groups;
}
