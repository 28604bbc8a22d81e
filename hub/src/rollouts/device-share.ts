// No one device carries a gate (docs/rollouts.md "Gates", docs/decisions/0079-no-one-device-carries-a-gate.md).
// The gates pool counts over a group's devices, and every window the plausibility checks let through may
// claim up to ingest.maxPredictionsPerSec a second (decision 0014): one enrolled box inside a wave or its
// control that reports 50 million answered requests a minute, all plausible on their own, made a wave of
// honest devices failing one request in ten pass (its requests diluted the error rate to nothing), or
// failed a good one (the same requests, all failed). In a group of at least MIN_DEVICES_FOR_SHARE reporting
// devices, a device holding more than `gates.maxDeviceShare` of the group's predictions or requests is
// left out of its numbers; the gates name it in a note.
import type { GateData, GroupQuery, GroupStats } from './gate-data.js';

/** Below this many reporting devices a group is not checked: in a canary of one or two, one device is most of it. */
export const MIN_DEVICES_FOR_SHARE = 3;

/** A device's predictions and requests (answered or failed) in a group's range. */
export interface DeviceVolume {
  count: number;
  requests: number;
}

/** A device left out of a group's numbers, with what it reported and the group's totals with it. */
export interface LeftOutDevice {
  deviceId: string;
  count: number;
  requests: number;
  groupCount: number;
  groupRequests: number;
}

/** The device holding more than `maxShare` of the group's predictions or requests, or null. */
export function dominant(volumes: ReadonlyMap<string, DeviceVolume>, maxShare: number): LeftOutDevice | null {
  if (maxShare >= 1 || volumes.size < MIN_DEVICES_FOR_SHARE) return null;
  let groupCount = 0;
  let groupRequests = 0;
  for (const v of volumes.values()) {
    groupCount += v.count;
    groupRequests += v.requests;
  }
  for (const [deviceId, v] of volumes) {
    // Above the share, not at it: of two devices holding half each, neither is left out.
    if (v.count > maxShare * groupCount || v.requests > maxShare * groupRequests) {
      return { deviceId, count: v.count, requests: v.requests, groupCount, groupRequests };
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
  return `${d.deviceId} left out of the ${group}'s numbers: it reported ${d.count} of its ${d.groupCount} predictions (${pct(d.count, d.groupCount)}) and ${d.requests} of its ${d.groupRequests} requests (${pct(d.requests, d.groupRequests)}), more than gates.maxDeviceShare ${maxShare}`;
}
