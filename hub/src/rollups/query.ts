// Queries over rollups (docs/decisions/0023-rollups.md): any time range, any set of devices, grouped
// by device, tag or time, answered by merging hourly and daily rollups, never by rescanning raw
// windows. Ranges are whole hours: `since` is rounded down and `until` up to the hour, and the
// summary says which range it covers. This module is the one the rollout gates and drift share:
// `mergeRollups` is its stable entry point. The summary a merged group becomes: summary.ts.
import { AppError } from '@edgefleet/shared';
import type { RollupsRepo, ScanRange, Series, RollupRow } from '../store/rollups-repo.js';
import { DAY_SEC, HOUR_SEC } from '../store/rollups-repo.js';
import { addMoments, addStored, emptyValues, type RollupValues } from './values.js';
import { decodeMom } from './blobs.js';
import { NO_HORIZON, type RollupHorizon } from './expiry.js';
import { summarize, type MergedSummary } from './summary.js';

export {
  accuracyOf, distributions, summarize,
  type AccuracySummary, type FeatureDistribution, type LatencyStats, type MergedSummary, type OutputDistribution,
} from './summary.js';

export interface MergeQuery {
  model: string;
  version: string;
  /** Only these devices (default: every device that reported the version). */
  devices?: readonly string[];
  /** ISO time, Date or ms; rounded down to the hour. */
  since: Date | string | number;
  /** ISO time, Date or ms; rounded up to the hour. */
  until: Date | string | number;
}

export interface Plan {
  since: number;
  until: number;
  ranges: ScanRange[];
}

const HOUR_MS = HOUR_SEC * 1000;
const DAY_MS = DAY_SEC * 1000;
/** The longest range one query may cover. */
export const MAX_RANGE_MS = 400 * DAY_MS;

export function toMs(t: Date | string | number, what: string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new AppError('BAD_REQUEST', `${what} ${JSON.stringify(t)} is not a time: expected an ISO time such as 2026-12-01T00:00:00Z`);
  return ms;
}

/**
 * Whole hours covering [since, until): hourly rollups at the edges, daily ones for whole days between.
 * Against a horizon (rollups/expiry.ts, `RollupsRepo.horizon()`): an edge before the hourly horizon
 * widens to whole days, and a range reaching before the daily horizon starts at it (BAD_REQUEST when it
 * ends before it). The plan's since and until say what it covers.
 */
export function planRanges(sinceIn: Date | string | number, untilIn: Date | string | number, horizon: RollupHorizon = NO_HORIZON): Plan {
  const s = toMs(sinceIn, 'since');
  const u = toMs(untilIn, 'until');
  const iso = (ms: number) => new Date(ms).toISOString();
  if (u <= s) throw new AppError('BAD_REQUEST', `until ${iso(u)} is not after since ${iso(s)}: expected since < until`);
  if (u - s > MAX_RANGE_MS) throw new AppError('BAD_REQUEST', `range of ${Math.round((u - s) / DAY_MS)} days is too long: expected at most ${MAX_RANGE_MS / DAY_MS} days`);
  let since = Math.floor(s / HOUR_MS) * HOUR_MS;
  let until = Math.ceil(u / HOUR_MS) * HOUR_MS;
  if (since < horizon.hourlyFrom) since = Math.floor(since / DAY_MS) * DAY_MS;
  if (until < horizon.hourlyFrom) until = Math.ceil(until / DAY_MS) * DAY_MS;
  if (since < horizon.dailyFrom) {
    if (until <= horizon.dailyFrom) {
      throw new AppError('BAD_REQUEST', `range ${iso(s)} to ${iso(u)} ends before ${iso(horizon.dailyFrom)}, and the rollups before then were deleted (retention.dailyRollupDays): expected a range ending after ${iso(horizon.dailyFrom)}`);
    }
    since = horizon.dailyFrom;
  }
  const d0 = Math.ceil(since / DAY_MS) * DAY_MS;
  const d1 = Math.floor(until / DAY_MS) * DAY_MS;
  if (d1 <= d0) return { since, until, ranges: [{ grain: HOUR_SEC, from: since, to: until }] };
  return {
    since, until,
    ranges: [{ grain: HOUR_SEC, from: since, to: d0 }, { grain: DAY_SEC, from: d0, to: d1 }, { grain: HOUR_SEC, from: d1, to: until }],
  };
}

export interface Group {
  values: RollupValues;
  /** Devices merged (empty when read from fleet rows: then deviceCount says how many). */
  devices: Set<string>;
  deviceCount?: number;
}

export interface CollectOptions {
  devices?: readonly string[];
  dist?: boolean;
  mom?: boolean;
  lat?: boolean;
  /** The group of a row (default: one group ""). */
  keyOf?: (row: RollupRow) => string;
  /** Hourly rollups only (for time series: a daily row cannot be split into hours). */
  hourly?: boolean;
  /** Errors by code (default true; a JSON parse per row that has any). */
  errors?: boolean;
  /** Merge moments here, keyed by this function, instead of into each group (drift: per cohort, not per device). */
  momInto?: { keyOf: (row: RollupRow) => string; groups: Map<string, Float64Array> };
  /**
   * Read the fleet rows (one per hour or day, the sum of every device's) instead of the device rows:
   * for questions about the whole fleet, 24 rows for a day instead of one per device and hour. Not
   * with `devices`; rows carry every blob; `keyOf` sees deviceId "".
   */
  fleet?: boolean;
  /** With `fleet`: count the distinct devices for deviceCount (default true; an index-only scan). */
  countDevices?: boolean;
}

/** Merges the rollups of `plan` into groups. */
export function collect(repo: RollupsRepo, s: Series, plan: Plan, opts: CollectOptions): Map<string, Group> {
  const groups = new Map<string, Group>();
  const ranges = opts.hourly ? [{ grain: HOUR_SEC, from: plan.since, to: plan.until }] : plan.ranges;
  if (opts.fleet && opts.devices) throw new Error('collect: fleet rows cannot be limited to devices');
  const rows = opts.fleet ? repo.fleet(s, ranges) : repo.scan(s.id, ranges, opts);
  const noMom = { ...opts, mom: false };
  for (const row of rows) {
    const key = opts.keyOf ? opts.keyOf(row) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { values: emptyValues(s.layout), devices: new Set() }));
    if (!opts.fleet) g.devices.add(row.deviceId);
    const mi = opts.momInto;
    if (mi && row.mom && opts.mom) {
      const k = mi.keyOf(row);
      let m = mi.groups.get(k);
      if (!m) mi.groups.set(k, (m = emptyValues(s.layout).mom));
      addMoments(m, decodeMom(row.mom));
      addStored(g.values, row, noMom);
    } else {
      addStored(g.values, row, opts);
    }
  }
  if (opts.fleet && opts.countDevices !== false) {
    const count = repo.deviceCount(s.id, ranges);
    for (const g of groups.values()) g.deviceCount = count;
  }
  return groups;
}

/**
 * Everything reported for one model version over [since, until) by the given devices (default all),
 * merged from rollups: counts, errors by kind, latency percentiles, output and feature histograms.
 * NOT_FOUND when the registry has no such version.
 */
export function mergeRollups(repo: RollupsRepo, q: MergeQuery): MergedSummary {
  const s = repo.requireSeries(q.model, q.version);
  const plan = planRanges(q.since, q.until, repo.horizon());
  const groups = collect(repo, s, plan, { dist: true, mom: true, lat: true, ...(q.devices ? { devices: q.devices } : { fleet: true }) });
  return summarize(s, plan, groups.get(''));
}
