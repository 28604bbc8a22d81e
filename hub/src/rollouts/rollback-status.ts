// Where a rolled back model rollout's devices are (docs/rollouts.md "The rollout resource"): the rollback
// sent each told device a deployment of the version it ran before, and until the device reports that
// version active it still runs the rollout's; `rolled_back` then would tell the operator it is back.
import type { RolloutDeviceRow, RolloutRecord } from '../store/rollouts-repo.js';
import type { Store } from '../store/index.js';
import { inShadowStage, ranBefore } from './judge.js';

/** Of `devices`, those sent back but not yet active on their previous version: `rolling back: STATUS` (pending, downloading, failed, ...). */
export function stillRollingBack(store: Store, r: RolloutRecord, devices: readonly RolloutDeviceRow[]): Map<string, string> {
  const out = new Map<string, string>();
  if (r.state !== 'rolled_back' || r.config || r.deploymentId === null || inShadowStage(r)) return out;
  // One deployment per previous version (judge.ts rollback): each read once.
  const rowsOf = new Map<number, Map<string, string>>();
  for (const d of devices) {
    const before = ranBefore(r, d);
    if (before === null) continue;
    const now = store.deployments.effectiveFor(d.deviceId).find((x) => x.model === r.model);
    if (!now || now.version !== before || now.deploymentId <= r.deploymentId) continue;
    let rows = rowsOf.get(now.deploymentId);
    if (!rows) {
      rows = new Map(store.deployments.get(now.deploymentId).devices.map((x) => [x.deviceId, x.status]));
      rowsOf.set(now.deploymentId, rows);
    }
    const status = rows.get(d.deviceId);
    if (status !== undefined && status !== 'active') out.set(d.deviceId, `rolling back: ${status}`);
  }
  return out;
}
