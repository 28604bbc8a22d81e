// No one device carries a fleet figure (docs/drift.md "No one device carries a group",
// docs/decisions/0139-no-one-device-carries-fleet-drift.md). The rollout gates' rule (rollouts/device-share.ts,
// decisions 0079 and 0130) applied to every fleet figure pooled from devices' counts: drift groups, the
// PSI timeline, a baseline period, fleet metrics and the alert metrics. In a group of at least
// MIN_DEVICES_FOR_SHARE devices, a device holding more than the share of the group's predictions or
// binned output values (and for metrics its requests) in the range is left out of the group's
// figures, and the group names it. One plausible window of 60 million predictions from one box
// otherwise turned three honest devices' output PSI of 0 into 9.3.
import { MAX_DEVICE_SHARE_DEFAULT, type DriftGroup } from '@edgefleet/shared';
import type { RollupsRepo, Series } from '../store/rollups-repo.js';
import { collect, summarize, type Group, type MergedSummary, type Plan } from '../rollups/query.js';
import { dayMinusHours } from '../rollups/day-minus-hours.js';
import { decodeDist } from '../rollups/blobs.js';
import { MOMENT_FIELDS, type RollupLayout } from '../rollups/layout.js';
import { addErrorsJson, addVector, type RollupValues } from '../rollups/values.js';
import { dominant, type DeviceVolume } from '../rollouts/device-share.js';

/** The share of a group's predictions or output values one device may hold: the gates' default. */
export const DRIFT_MAX_DEVICE_SHARE = MAX_DEVICE_SHARE_DEFAULT;

export type LeftOut = NonNullable<DriftGroup['leftOut']>;

/** The [from, to) of each binned output in a layout's bins: the output values the share counts. */
function outputSlices(layout: RollupLayout): Array<readonly [number, number]> {
  return layout.outputs.filter((o) => o.edges).map((o) => [o.offset, o.offset + o.bins + 2] as const);
}

function outputValues(d: ArrayLike<number>, slices: ReadonlyArray<readonly [number, number]>): number {
  let n = 0;
  for (const [from, to] of slices) for (let i = from; i < to; i++) n += d[i] as number;
  return n;
}

/**
 * Each device's predictions, requests (answered, failed, refused or shed) and binned output values over
 * `plan`, read as `dayMinusHours` plans it (counts subtract exactly). Only the outputs' slices of each
 * row's bins are summed: the share needs nothing else (decision 0139, "Cost"). A device whose rows
 * cancel out (seen only in hours outside the range) is left out, as a plain scan of the range would.
 */
export function deviceVolumes(repo: RollupsRepo, s: Series, plan: Plan, devices?: readonly string[]): Map<string, DeviceVolume> {
  const out = new Map<string, DeviceVolume & { windows: number }>();
  const slices = outputSlices(s.layout);
  const opts = { dist: slices.length > 0, errors: false, ...(devices ? { devices } : {}) };
  const len = s.layout.distLength;
  for (const r of dayMinusHours(plan.ranges)) {
    for (const row of repo.scan(s.id, [r], opts)) {
      let v = out.get(row.deviceId);
      if (!v) out.set(row.deviceId, (v = { windows: 0, count: 0, requests: 0, values: 0 }));
      v.windows += r.sign * row.windows;
      v.count += r.sign * row.count;
      v.requests += r.sign * (row.count + row.errModel + row.errInput + row.errLoad);
      if (!row.dist) continue;
      v.values += r.sign * outputValues(decodeDist(row.dist, len), slices);
    }
  }
  for (const [id, v] of out) if (v.windows === 0) out.delete(id);
  return out;
}

/** The volumes of groups of one device each (their bins read already: no second scan). */
export function volumesOf(layout: RollupLayout, perDevice: ReadonlyMap<string, Group>): Map<string, DeviceVolume> {
  const out = new Map<string, DeviceVolume>();
  const slices = outputSlices(layout);
  for (const [id, { values: v }] of perDevice) out.set(id, { count: v.count, requests: v.count + v.errModel + v.errInput + v.errLoad, values: outputValues(v.dist, slices) });
  return out;
}

/**
 * The device of `ids` holding more than `maxShare` of their predictions or output values (and, with
 * `requests`, of their requests), or null (fewer than 3 devices, or none over the share).
 */
export function dominantDevice(volumes: ReadonlyMap<string, DeviceVolume>, ids: Iterable<string>, requests = false, maxShare = DRIFT_MAX_DEVICE_SHARE): LeftOut | null {
  const of = new Map<string, DeviceVolume>();
  for (const id of ids) {
    const v = volumes.get(id);
    if (v) of.set(id, requests ? v : { ...v, requests: 0 });
  }
  const d = dominant(of, maxShare);
  if (!d) return null;
  const pct = (a: number, b: number) => (b ? `${Math.round((1000 * a) / b) / 10} %` : '0 %');
  const told = [`${d.count} of its ${d.groupCount} predictions (${pct(d.count, d.groupCount)})`];
  if (requests && d.requests > maxShare * d.groupRequests) told.push(`${d.requests} of its ${d.groupRequests} requests (${pct(d.requests, d.groupRequests)})`);
  if (d.values > maxShare * d.groupValues) told.push(`${d.values} of its ${d.groupValues} output values (${pct(d.values, d.groupValues)})`);
  return {
    deviceId: d.deviceId, predictions: d.count, groupPredictions: d.groupCount, outputValues: d.values, groupOutputValues: d.groupValues, maxShare,
    note: `${d.deviceId} left out of the group's statistics: it reported ${told.join(' and ')}, more than the share ${maxShare} one device may hold`,
  };
}

/**
 * `group` without `device` (part of it), in place: counts, errors, bins, latency and labels subtract
 * exactly; the moments' n and mean by Chan's formula backwards; m2, min and max are left as they were.
 * Cheaper than reading the rest again: the fleet's rest is every other device.
 */
export function takeOut(group: RollupValues, device: RollupValues): void {
  group.windows -= device.windows;
  group.count -= device.count;
  group.errModel -= device.errModel;
  group.errInput -= device.errInput;
  group.errLoad -= device.errLoad;
  group.activeMs -= device.activeMs;
  const minus: Record<string, number> = {};
  for (const k in device.errors) if (Object.hasOwn(device.errors, k)) minus[k] = -(device.errors[k] as number);
  addErrorsJson(group.errors, JSON.stringify(minus)); // addOwn's guard against "__proto__" keys
  for (const k in group.errors) if (group.errors[k] === 0) delete group.errors[k];
  addVector(group.dist, device.dist, -1);
  addVector(group.lat, device.lat, -1);
  addVector(group.perf, device.perf, -1);
  for (let b = 0; b + MOMENT_FIELDS <= Math.min(group.mom.length, device.mom.length); b += MOMENT_FIELDS) {
    const n = group.mom[b] as number;
    const nb = device.mom[b] as number;
    const rest = n - nb;
    group.mom[b] = rest;
    group.mom[b + 1] = rest > 0 ? (n * (group.mom[b + 1] as number) - nb * (device.mom[b + 1] as number)) / rest : 0;
  }
}

/** What a group's reads asked of the rollups: its device's own values are read the same way. */
export interface ReadOf {
  mom?: boolean;
  lat?: boolean;
  errors?: boolean;
}

/** How fleet metrics read: every blob, errors by code, and a device over the share of requests left out too. */
export const METRICS_READ = { mom: true, lat: true, errors: true, requests: true } as const;

/**
 * Everything reported for one model version over `plan` by `devices` (default all), merged from rollups
 * as `mergeRollups` (rollups/query.ts) merges it, without a device over the share (what the alert
 * metrics read: model_error_rate, invalid_input_rate, latency_p95, accuracy).
 */
export function boundedSummary(repo: RollupsRepo, s: Series, plan: Plan, devices?: readonly string[]): { summary: MergedSummary; leftOut: LeftOut | null } {
  const groups = collect(repo, s, plan, { dist: true, mom: true, lat: true, ...(devices ? { devices } : { fleet: true }) });
  const volumes = deviceVolumes(repo, s, plan, devices);
  const left = leaveOutDominant(repo, s, plan, groups, volumes, (_k, g) => (devices ? g.devices : volumes.keys()), METRICS_READ);
  return { summary: summarize(s, plan, groups.get('')), leftOut: left.get('') ?? null };
}

/**
 * Leaves out of each group of `groups` (merged over `plan`) its device over the share, in place, and
 * returns them by group key. `members` gives a group's devices; the device's own rows are read alone
 * (one device's rows) and taken out.
 */
export function leaveOutDominant(repo: RollupsRepo, s: Series, plan: Plan, groups: ReadonlyMap<string, Group>, volumes: ReadonlyMap<string, DeviceVolume>, members: (key: string, g: Group) => Iterable<string>, read: ReadOf & { requests?: boolean } = {}): Map<string, LeftOut> {
  const left = new Map<string, LeftOut>();
  for (const [k, g] of groups) {
    const d = dominantDevice(volumes, members(k, g), read.requests);
    if (!d) continue;
    left.set(k, d);
    const own = collect(repo, s, plan, { dist: true, mom: read.mom ?? true, lat: read.lat ?? false, errors: read.errors ?? false, devices: [d.deviceId] }).get('');
    if (own) takeOut(g.values, own.values);
  }
  return left;
}
