// Which devices a deployment (or rollout, or capture) target reaches: listed ids, matching tags, or all.
import { AppError, type DeployTarget } from '@edgefleet/shared';

/** Whether a device with these tags matches a deployment target. */
export function targetMatches(target: DeployTarget, deviceId: string, tags: Record<string, string>): boolean {
  if (target.all) return true;
  if (target.devices) return target.devices.includes(deviceId);
  if (target.tags) return Object.entries(target.tags).every(([k, v]) => tags[k] === v);
  return false;
}

/**
 * The ids of the devices `target` reaches among `devices` (the devices not revoked, as
 * `store.devices.targetable()` lists them). A target listing ids must name only such devices: an
 * unknown id (a typo) or a revoked one is refused with NOT_FOUND rather than reaching fewer devices
 * than asked. Deployments, rollouts and captures all check their target here.
 */
export function targetDeviceIds(devices: ReadonlyArray<{ id: string; tags: Record<string, string> }>, target: DeployTarget): string[] {
  const ids = devices.filter((d) => targetMatches(target, d.id, d.tags)).map((d) => d.id);
  if (target.devices) {
    const known = new Set(ids);
    const missing = target.devices.filter((id) => !known.has(id));
    if (missing.length) {
      // Named as a field (the console shows it under Devices), at most 20 of them (a target may list thousands).
      const shown = missing.length > 20 ? `${missing.slice(0, 20).join(', ')} and ${missing.length - 20} more` : missing.join(', ');
      throw new AppError('NOT_FOUND', `target.devices: unknown or revoked devices in target: ${shown}; expected enrolled devices not revoked (edgefleet devices list)`);
    }
  }
  return ids;
}
