// No one device carries a gate (docs/rollouts.md "Gates", docs/decisions/0079-no-one-device-carries-a-gate.md).
// The gates pool counts over a group's devices, and every window the plausibility checks let through may
// claim up to ingest.maxPredictionsPerSec a second (decision 0014): one enrolled box inside a wave or its
// control that reports 50 million answered requests a minute, all plausible on their own, made a wave of
// honest devices failing one request in ten pass (its requests diluted the error rate to nothing), or
// failed a good one (the same requests, all failed). In a group of at least MIN_DEVICES_FOR_SHARE reporting
// devices, a device holding more than `gates.maxDeviceShare` of the group's predictions, requests or binned
// output values is left out of its numbers; the gates name it in a note. Output values are held apart: an
// output may hold any number of values per prediction (plausibility.ts MAX_VALUES_PER_SEC), so a box with
// a quarter of the predictions could hold all but a billionth of the histograms output_shift reads
// (hub/src/ingest/output-values-share.test.ts; docs/decisions/0130-no-one-device-carries-the-outputs.md).
import type { GateData, GroupQuery, GroupStats } from './gate-data.js';

/** Below this many reporting devices a group is not checked: in a canary of one or two, one device is most of it. */
export const MIN_DEVICES_FOR_SHARE = 3;

/** A device's predictions, requests (answered or failed) and binned output values (what output_shift reads) in a group's range. */
export interface DeviceVolume {
  count: number;
  requests: number;
  values: number;
}

/** A device left out of a group's numbers, with what it reported and the group's totals with it. */
export interface LeftOutDevice {
  deviceId: string;
  count: number;
  requests: number;
  values: number;
  groupCount: number;
  groupRequests: number;
  groupValues: number;
}

/** The device holding more than `maxShare` of the group's predictions, requests or output values, or null. */
export function dominant(volumes: ReadonlyMap<string, DeviceVolume>, maxShare: number): LeftOutDevice | null {
  if (maxShare >= 1 || volumes.size < MIN_DEVICES_FOR_SHARE) return null;
  let groupCount = 0;
  let groupRequests = 0;
  let groupValues = 0;
  for (const v of volumes.values()) {
    groupCount += v.count;
    groupRequests += v.requests;
    groupValues += v.values;
  }
  for (const [deviceId, v] of volumes) {
    // Above the share, not at it: of two devices holding half each, neither is left out.
    if (v.count > maxShare * groupCount || v.requests > maxShare * groupRequests || v.values > maxShare * groupValues) {
      return { deviceId, count: v.count, requests: v.requests, values: v.values, groupCount, groupRequests, groupValues };
    }
  }
  return null;
}

/**
 * The group's numbers without a device holding more than `maxShare` of them (at most one can, with a
 * share of at least a half). The left-out device still counts as reporting (it sent windows of the
 * version: the `reporting` gate is about devices, not volume).
 */
export function boundedStats(gateData: GateData, q: GroupQuery, maxShare: number): GroupStats {
  const s = gateData.stats(q);
  if (maxShare >= 1 || s.reportingDevices.size < MIN_DEVICES_FOR_SHARE) return s;
  const out = dominant(gateData.volumes(q), maxShare);
  if (!out) return s;
  const devices = new Set(q.devices);
  devices.delete(out.deviceId);
  const rest = gateData.stats({ ...q, devices });
  rest.reportingDevices.add(out.deviceId);
  rest.leftOut = out;
  return rest;
}

/** The note on the gates for a device left out of the wave's or the control's numbers. */
export function leftOutNote(group: 'wave' | 'control', d: LeftOutDevice, maxShare: number): string {
  const pct = (a: number, b: number) => (b ? `${Math.round((1000 * a) / b) / 10} %` : '0 %');
  const told = [`${d.count} of its ${d.groupCount} predictions (${pct(d.count, d.groupCount)})`, `${d.requests} of its ${d.groupRequests} requests (${pct(d.requests, d.groupRequests)})`];
  // Output values are named only when they were over the share: most notes are about predictions.
  if (d.values > maxShare * d.groupValues) told.push(`${d.values} of its ${d.groupValues} output values (${pct(d.values, d.groupValues)})`);
  return `${d.deviceId} left out of the ${group}'s numbers: it reported ${told.slice(0, -1).join(', ')} and ${told.at(-1)}, more than gates.maxDeviceShare ${maxShare}`;
}
