// A running rollout whose version the hub's trust no longer accepts (a release key rotated out after the
// rollout started: docs/security.md "Key rotation and stored versions"). Every device told next would refuse the bundle and
// its wave would read as failed, so before telling more devices the rollout pauses with the reason
// instead (docs/decisions/0065-rollout-pauses-on-untrusted-version.md). Resume checks again.
import { AppError } from '@edgefleet/shared';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import type { DeploymentService } from '../deployments/service.js';
import type { Transitioner } from './judge.js';

/** Pauses `r` (stored with its audit entry) and returns true when its version is not trusted now. */
export async function pauseIfUntrusted(t: Transitioner, deployments: DeploymentService, r: RolloutRecord, now: Date): Promise<boolean> {
  try {
    await deployments.requireTrusted(r.model, r.version);
    return false;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'VERSION_NOT_TRUSTED') throw err;
    r.state = 'paused';
    r.stateReason = `${err.code}: ${err.message}`;
    t.transition(r, 'rollout.paused', r.stateReason, { code: err.code, ...(err.details as object) }, now);
    return true;
  }
}
