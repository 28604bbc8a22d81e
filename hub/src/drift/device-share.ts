// No one device carries a fleet's drift (docs/drift.md "No one device carries a group",
// docs/decisions/0139-no-one-device-carries-fleet-drift.md). The rollout gates' rule (rollouts/device-share.ts,
// decisions 0079 and 0130) applied to a drift group: in a group of at least MIN_DEVICES_FOR_SHARE devices,
// a device holding more than the share of the group's predictions or binned output values in the range
// is left out of the group's statistics, and the group names it. One plausible window of 60 million
// predictions from one box otherwise turned three honest devices' output PSI of 0 into 9.3.
import { MAX_DEVICE_SHARE_DEFAULT, type DriftGroup } from '@edgefleet/shared';
import type { Group } from '../rollups/query.js';
import { MOMENT_FIELDS, type RollupLayout } from '../rollups/layout.js';
import type { RollupValues } from '../rollups/values.js';
import { dominant, type DeviceVolume } from '../rollouts/device-share.js';

/** The share of a group's predictions or output values one device may hold: the gates' default. */
export const DRIFT_MAX_DEVICE_SHARE = MAX_DEVICE_SHARE_DEFAULT;

export type LeftOut = NonNullable<DriftGroup['leftOut']>;

/** The binned output values of `v` (an output may hold many values per prediction). */
function outputValues(layout: RollupLayout, v: RollupValues): number {
  let n = 0;
  for (const o of layout.outputs) if (o.edges) for (let i = 0; i < o.bins + 2; i++) n += v.dist[o.offset + i] as number;
  return n;
}

/**
 * The device of `ids` (each in `perDevice`, with its bins) holding more than `maxShare` of the group's
 * predictions or output values, or null (fewer than 3 devices, or none over the share).
 */
export function dominantDevice(layout: RollupLayout, perDevice: ReadonlyMap<string, Group>, ids: Iterable<string>, maxShare = DRIFT_MAX_DEVICE_SHARE): LeftOut | null {
  const volumes = new Map<string, DeviceVolume>();
  for (const id of ids) {
    const v = perDevice.get(id)?.values;
    if (v) volumes.set(id, { count: v.count, requests: 0, values: outputValues(layout, v) });
  }
  const d = dominant(volumes, maxShare);
  if (!d) return null;
  const pct = (a: number, b: number) => (b ? `${Math.round((1000 * a) / b) / 10} %` : '0 %');
  const told = [`${d.count} of its ${d.groupCount} predictions (${pct(d.count, d.groupCount)})`];
  if (d.values > maxShare * d.groupValues) told.push(`${d.values} of its ${d.groupValues} output values (${pct(d.values, d.groupValues)})`);
  return {
    deviceId: d.deviceId, predictions: d.count, groupPredictions: d.groupCount, outputValues: d.values, groupOutputValues: d.groupValues, maxShare,
    note: `${d.deviceId} left out of the group's statistics: it reported ${told.join(' and ')}, more than the share ${maxShare} one device may hold`,
  };
}

/**
 * `group` without `device` (part of it), in place: counts and bins subtract exactly; the moments' n and
 * mean (all drift reads of them) by Chan's formula backwards; m2, min and max are left as they were
 * (drift shows none of them). Cheaper than reading the rest again: the fleet's rest is every other device.
 */
export function takeOut(group: RollupValues, device: RollupValues, deviceMoments: Float64Array | undefined): void {
  group.count -= device.count;
  for (let i = 0; i < group.dist.length; i++) group.dist[i] = (group.dist[i] as number) - (device.dist[i] as number);
  if (!deviceMoments) return;
  for (let b = 0; b + MOMENT_FIELDS <= Math.min(group.mom.length, deviceMoments.length); b += MOMENT_FIELDS) {
    const n = group.mom[b] as number;
    const nb = deviceMoments[b] as number;
    const rest = n - nb;
    group.mom[b] = rest;
    group.mom[b + 1] = rest > 0 ? (n * (group.mom[b + 1] as number) - nb * (deviceMoments[b + 1] as number)) / rest : 0;
  }
}
