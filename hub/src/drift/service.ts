// Fleet metrics and drift of a model version (docs/drift.md), answered from rollups
// (rollups/query.ts): group by nothing, a tag's values or each device; compare each group's
// features and outputs with the manifest's reference or a baseline period; rank the worst devices;
// and a per-bucket PSI timeline for sparklines.
import {
  AppError, DEFAULT_DRIFT_THRESHOLDS, Reference, type DriftGroup, type DriftResponse, type DriftThresholds, type MetricsGroup, type MetricsResponse,
} from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { RollupsRepo, RollupRow, Series } from '../store/rollups-repo.js';
import { MAX_RANGE_MS, collect, planRanges, summarize, toMs, type Group, type Plan } from '../rollups/query.js';
import type { RollupHorizon } from '../rollups/expiry.js';
import { addValues, emptyValues, type RollupValues } from '../rollups/values.js';
import { deviceCounts } from '../rollups/day-minus-hours.js';
import { tagKeyProblem } from './tag-keys.js';
import { driftOf, expectedFromReference, expectedFromValues, worstFeature, type Expected } from './compute.js';
import { METRICS_READ, deviceVolumes, dominantDevice, leaveOutDominant, takeOut, volumesOf } from './device-share.js';

export interface RangeQuery {
  since?: string | undefined;
  until?: string | undefined;
  by?: string | undefined;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3600_000;
const NO_TAG = '(none)';
const ALL = 'all';
const WORST = 5;
/** Buckets in a timeline at most (bucket length grows with the range). */
const TIMELINE_BUCKETS = 24;

export function rangeOf(q: RangeQuery, now: Date, horizon?: RollupHorizon): Plan {
  const until = q.until ? toMs(q.until, 'until') : now.getTime();
  const since = q.since ? toMs(q.since, 'since') : until - DAY_MS;
  // Without `until` the range ends now: a `since` after it is a range not begun, said so rather than as "until is not after since".
  if (!q.until && since >= until) throw new AppError('BAD_REQUEST', `since ${new Date(since).toISOString()} is not before now (${now.toISOString()}), where the range ends without until: expected a since in the past, or an until after it`);
  return planRanges(since, until, horizon);
}

/** device id → group key for `by` (null: one group "all"). */
function grouper(db: Db, by: string | undefined): ((deviceId: string) => string) | null {
  if (!by) return null;
  if (by === 'device') return (id) => id;
  const key = by.slice('tag:'.length);
  // Tags parsed here, not with json_extract: the same SQL on SQLite and PostgreSQL (docs/decisions/0040-postgresql.md).
  const rows = db.prepare('SELECT id, tags FROM devices').all() as Array<{ id: string; tags: string }>;
  const keys = new Set<string>();
  const tags = new Map(rows.map((r) => {
    const all = JSON.parse(r.tags) as Record<string, unknown>;
    for (const k of Object.keys(all)) keys.add(k);
    const v = all[key];
    return [r.id, v === null || v === undefined ? NO_TAG : String(v)];
  }));
  // A key no device carries (a typo: tag:rng for tag:ring) would put every device in one group "(none)".
  const problem = tagKeyProblem(keys, rows.length > 0, key, (k) => `tag:${k}`);
  if (problem) throw new AppError('BAD_REQUEST', `by: ${problem}`);
  return (id) => tags.get(id) ?? NO_TAG;
}

function keyFn(group: ((id: string) => string) | null): (row: RollupRow) => string {
  return group ? (row) => group(row.deviceId) : () => ALL;
}

export class FleetAnalytics {
  constructor(private readonly db: Db, private readonly rollups: RollupsRepo) {}

  metrics(model: string, version: string, q: RangeQuery, now: Date): MetricsResponse {
    const s = this.rollups.requireSeries(model, version);
    const plan = rangeOf(q, now, this.rollups.horizon());
    const groups = collect(this.rollups, s, plan, { dist: true, mom: true, lat: true, keyOf: keyFn(grouper(this.db, q.by)), ...(q.by ? {} : { fleet: true }) });
    const volumes = deviceVolumes(this.rollups, s, plan);
    const leftOut = leaveOutDominant(this.rollups, s, plan, groups, volumes, (_k, g) => (q.by ? g.devices : volumes.keys()), METRICS_READ);
    const keys = [...groups.keys()].sort();
    if (!q.by && keys.length === 0) keys.push(ALL);
    return {
      model, version, since: new Date(plan.since).toISOString(), until: new Date(plan.until).toISOString(), by: q.by ?? null,
      groups: keys.map((key): MetricsGroup => {
        const m = summarize(s, plan, groups.get(key), now.getTime());
        return {
          key, devices: m.devices, windows: m.windows, predictions: m.predictions, errors: m.errors, modelErrorRate: m.modelErrorRate,
          invalidInputRate: m.invalidInputRate, shedLoadRate: m.shedLoadRate, throughput: m.throughput,
          activeSec: m.activeSec, activeThroughput: m.activeThroughput, latency: m.latency,
          answeredLatency: m.answeredLatency, outputs: m.outputs, accuracy: m.accuracy, leftOut: leftOut.get(key) ?? null,
        };
      }),
    };
  }

  /** The reference of a version as stored in its manifest (null without one). */
  private reference(s: Series): Reference | undefined {
    const r = this.db.prepare('SELECT manifest FROM model_versions WHERE name = ? AND version = ?').get(s.model, s.version) as { manifest: string } | undefined;
    const ref = r ? (JSON.parse(r.manifest) as { reference?: unknown }).reference : undefined;
    if (ref === undefined || ref === null) return undefined;
    return Reference.parse(ref);
  }

  /** When and why the version was deprecated, or null: drift of a version no longer assignable says so. */
  private deprecation(s: Series): DriftResponse['deprecated'] {
    const r = this.db.prepare('SELECT deprecated_at, deprecated_reason FROM model_versions WHERE name = ? AND version = ?').get(s.model, s.version) as { deprecated_at: string | null; deprecated_reason: string | null } | undefined;
    return r?.deprecated_at ? { at: r.deprecated_at, reason: r.deprecated_reason } : null;
  }

  /**
   * Drift per group. `worst: false` leaves the worst devices out (empty lists): for the whole fleet
   * the answer then reads the fleet rows (24 for a day) and each device's volumes (device-share.ts),
   * not every device's bins.
   */
  drift(model: string, version: string, q: RangeQuery & { baseline?: string | undefined; timeline?: boolean; devices?: readonly string[]; worst?: boolean }, now: Date, thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS): DriftResponse {
    const s = this.rollups.requireSeries(model, version);
    const plan = rangeOf(q, now, this.rollups.horizon());
    const group = grouper(this.db, q.by);
    const keyOf = (id: string) => (group ? group(id) : ALL);
    // Per device first (for the worst devices: bins only), then folded into groups. The whole fleet's
    // counts and moments come from the fleet rows (one per hour); a tag's or a device list's from the
    // device rows, moments merged per group only.
    const fleetOnly = !q.by && !q.devices;
    const moments = new Map<string, Float64Array>();
    const skipDevices = fleetOnly && q.worst === false;
    // The fleet's worst devices need each device's bins, its share (device-share.ts) only each device's
    // predictions and output values: both days minus hours (rollups/day-minus-hours.ts).
    const perDevice = skipDevices ? new Map<string, Group>() : fleetOnly ? deviceCounts(this.rollups, s, plan) : collect(this.rollups, s, plan, {
      dist: true, errors: false, keyOf: (r) => r.deviceId, mom: true, momInto: { keyOf: (r: RollupRow) => keyOf(r.deviceId), groups: moments },
      ...(q.devices ? { devices: q.devices } : {}),
    });
    const volumes = skipDevices ? deviceVolumes(this.rollups, s, plan) : volumesOf(s.layout, perDevice);
    const groups = new Map<string, Group>();
    if (fleetOnly) {
      const fleet = collect(this.rollups, s, plan, { dist: true, mom: true, errors: false, fleet: true, countDevices: false, keyOf: () => ALL }).get(ALL);
      groups.set(ALL, { values: fleet?.values ?? emptyValues(s.layout), devices: new Set(volumes.keys()) });
    } else {
      for (const [id, g] of perDevice) {
        const k = keyOf(id);
        let into = groups.get(k);
        if (!into) groups.set(k, (into = { values: emptyValues(s.layout), devices: new Set() }));
        addValues(into.values, g.values);
        into.devices.add(id);
      }
      if (!q.by && groups.size === 0) groups.set(ALL, { values: emptyValues(s.layout), devices: new Set() });
      for (const [k, g] of groups) {
        const m = moments.get(k);
        if (m) g.values.mom = m;
      }
    }
    // A device holding more than its share of a group's predictions or output values is left out of them.
    const leftOut = leaveOutDominant(this.rollups, s, plan, groups, volumes, (_k, g) => g.devices);
    // The timeline pools the fleet: the device over the fleet's share is left out of it too.
    const fleetLeftOut = leftOut.get(ALL) ?? (q.by ? dominantDevice(volumes, volumes.keys()) : null);

    let baseline: DriftResponse['baseline'];
    let expectedOf: (key: string) => Expected;
    // Against a reference the manifest lacks no count of predictions gives a verdict: say so, not "too few".
    let noVerdict: string | null = null;
    // A baseline period with too few predictions (its group's and all devices') is nothing to compare
    // with either: every value would be unknown, which must not read as "no drift".
    let thinBaseline: (key: string) => string | null = () => null;
    if (!q.baseline || q.baseline === 'reference') {
      const ref = this.reference(s);
      const exp = expectedFromReference(s.layout, ref);
      baseline = { kind: 'reference', id: ref?.id ?? null };
      expectedOf = () => exp;
      const problem = referenceProblem({ reference: ref });
      if (problem) noVerdict = `${model} ${version} ${problem}, so there is nothing to compare with: expected a version whose manifest has a reference, or baseline=START/END (edgefleet drift --baseline) to compare with a period of this version's own traffic`;
    } else {
      checkBaseline(q.baseline);
      const [from, to] = q.baseline.split('/') as [string, string];
      const bplan = planRanges(from, to, this.rollups.horizon());
      baseline = { kind: 'range', since: new Date(bplan.since).toISOString(), until: new Date(bplan.until).toISOString() };
      const base = collect(this.rollups, s, bplan, { dist: true, mom: true, errors: false, keyOf: keyFn(group), ...(group ? {} : { fleet: true, countDevices: false }) });
      // A period a box dominated is not the fleet's either (decision 0139, addendum).
      const baseVolumes = deviceVolumes(this.rollups, s, bplan);
      leaveOutDominant(this.rollups, s, bplan, base, baseVolumes, (k, g) => (group ? g.devices : baseVolumes.keys()));
      const all = emptyValues(s.layout);
      for (const g of base.values()) addValues(all, g.values);
      const min = thresholds.minPredictions;
      const period = `${new Date(bplan.since).toISOString()} .. ${new Date(bplan.until).toISOString()}`;
      const allExp = expectedFromValues(s.layout, all, min, `the baseline ${period} (all devices)`);
      thinBaseline = (key) => ((base.get(key)?.values.count ?? 0) >= min || all.count >= min ? null
        : `the baseline ${period} has ${all.count} predictions: expected at least ${min} to compare with (a period with this version's traffic, or baseline=reference)`);
      const cache = new Map<string, Expected>();
      // A group compares with its own baseline when it had one, else with the whole baseline period.
      expectedOf = (key) => {
        let e = cache.get(key);
        if (!e) {
          const b = base.get(key);
          e = b && b.values.count >= thresholds.minPredictions ? expectedFromValues(s.layout, b.values, min, `the baseline ${period}`) : allExp;
          cache.set(key, e);
        }
        return e;
      };
    }

    // A range starting after now has no predictions yet, however long: say so rather than only "too few".
    const notBegun = plan.since > now.getTime() ? ` (the range starts at ${new Date(plan.since).toISOString()}, after now, ${now.toISOString()}: no device has reported in it yet)` : '';
    const out: DriftGroup[] = [...groups.keys()].sort().map((key) => {
      const g = groups.get(key) as Group;
      const exp = expectedOf(key);
      const enough = g.values.count >= thresholds.minPredictions;
      const d = driftOf(s.layout, g.values, exp, thresholds, enough);
      const worst: DriftGroup['worstDevices'] = [];
      for (const id of skipDevices ? [] : g.devices) {
        const v = (perDevice.get(id) as Group).values;
        if (v.count < thresholds.minPredictions) continue;
        const w = worstFeature(s.layout, v, exp, thresholds.minPredictions);
        if (w) worst.push({ deviceId: id, predictions: v.count, psi: w.psi, feature: w.feature });
      }
      worst.sort((a, b) => b.psi - a.psi || a.deviceId.localeCompare(b.deviceId));
      return {
        key, devices: g.devices.size, predictions: g.values.count, leftOut: leftOut.get(key) ?? null,
        insufficient: noVerdict ?? thinBaseline(key) ?? (enough ? null : `${g.values.count} predictions${notBegun}: expected at least ${thresholds.minPredictions} for a drift verdict`),
        drifted: d.drifted, features: d.features, outputs: d.outputs, worstDevices: worst.slice(0, WORST),
      };
    });
    return {
      model, version, since: new Date(plan.since).toISOString(), until: new Date(plan.until).toISOString(), by: q.by ?? null,
      baseline, thresholds, groups: out, timeline: q.timeline === false ? null : this.timeline(s, plan, expectedOf(ALL), thresholds, fleetLeftOut?.deviceId),
      deprecated: this.deprecation(s),
    };
  }

  /**
   * PSI of every feature and output over all devices, per bucket of whole hours (at most 24 buckets);
   * of whole days when the range reaches before the hourly rollups' horizon (rollups/expiry.ts).
   */
  private timeline(s: Series, rangePlan: Plan, exp: Expected, th: DriftThresholds, leftOut: string | undefined): DriftResponse['timeline'] {
    const daily = rangePlan.since < this.rollups.horizon().hourlyFrom;
    const unit = daily ? DAY_MS : HOUR_MS;
    const plan = daily ? dailyPlan(rangePlan) : rangePlan;
    const units = Math.round((plan.until - plan.since) / unit);
    const bucketMs = Math.ceil(units / TIMELINE_BUCKETS) * unit;
    const n = Math.ceil((plan.until - plan.since) / bucketMs);
    const keyOf = (r: RollupRow) => String(Math.floor((r.start - plan.since) / bucketMs));
    const buckets = collect(this.rollups, s, plan, { dist: true, hourly: !daily, errors: false, fleet: true, countDevices: false, keyOf });
    if (leftOut) {
      // The device left out of the fleet's verdict, out of each bucket (its own rows only).
      for (const [k, own] of collect(this.rollups, s, plan, { dist: true, hourly: !daily, errors: false, devices: [leftOut], keyOf })) {
        const b = buckets.get(k);
        if (b) takeOut(b.values, own.values);
      }
    }
    const psi: Record<string, Array<number | null>> = {};
    const names = [...s.layout.features.map((f) => f.name), ...s.layout.outputs.map((o) => `output:${o.name}`)];
    for (const name of names) Object.defineProperty(psi, name, { value: new Array<number | null>(n).fill(null), enumerable: true, writable: true, configurable: true });
    const predictions = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      const v: RollupValues | undefined = buckets.get(String(i))?.values;
      if (!v) continue;
      predictions[i] = v.count;
      const d = driftOf(s.layout, v, exp, th, v.count >= th.minPredictions);
      d.features.forEach((f) => { (psi[f.name] as Array<number | null>)[i] = f.psi; });
      d.outputs.forEach((f) => { (psi[`output:${f.name}`] as Array<number | null>)[i] = f.psi; });
    }
    return { starts: Array.from({ length: n }, (_, i) => new Date(plan.since + i * bucketMs).toISOString()), bucketSec: bucketMs / 1000, psi, predictions };
  }
}

/** The whole UTC days covering a plan, read from daily rollups alone. */
function dailyPlan(p: Plan): Plan {
  const since = Math.floor(p.since / DAY_MS) * DAY_MS;
  const until = Math.ceil(p.until / DAY_MS) * DAY_MS;
  return { since, until, ranges: [{ grain: DAY_MS / 1000, from: since, to: until }] };
}

/**
 * Why drift against the reference can never be computed for a version (`has no reference`, or one
 * without features or outputs), or null when it can: a drift.psi alert rule on it would never have a value.
 */
export function referenceProblem(manifest: { reference?: Reference | undefined }): string | null {
  const ref = manifest.reference;
  if (!ref) return 'has no reference';
  if (ref.features.length === 0 && ref.outputs.length === 0) return 'has a reference without features or outputs';
  return null;
}

/**
 * Checks a baseline parameter early, with a message naming the baseline (planRanges' own would name
 * `since` or `until`, which the caller may not have given at all).
 */
export function checkBaseline(b: string | undefined): void {
  if (!b || b === 'reference') return;
  const parts = b.split('/');
  if (parts.length !== 2) throw new AppError('BAD_REQUEST', `baseline "${b}": expected "reference" or START/END as ISO times`);
  const from = toMs(parts[0] as string, 'baseline start');
  const to = toMs(parts[1] as string, 'baseline end');
  const iso = (ms: number) => new Date(ms).toISOString();
  if (to <= from) throw new AppError('BAD_REQUEST', `baseline end ${iso(to)} is not after its start ${iso(from)}: expected START/END with START < END`);
  if (to - from > MAX_RANGE_MS) {
    throw new AppError('BAD_REQUEST', `baseline range of ${Math.round((to - from) / DAY_MS)} days is too long: expected at most ${MAX_RANGE_MS / DAY_MS} days`);
  }
}
