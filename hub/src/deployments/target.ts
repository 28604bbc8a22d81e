// Which devices a deployment (or rollout) target reaches: listed ids, matching tags, or all.
import type { DeployTarget } from '@edgefleet/shared';

/** Whether a device with these tags matches a deployment target. */
export function targetMatches(target: DeployTarget, deviceId: string, tags: Record<string, string>): boolean {
  if (target.all) return true;
  if (target.devices) return target.devices.includes(deviceId);
  if (target.tags) return Object.entries(target.tags).every(([k, v]) => tags[k] === v);
  return false;
}
