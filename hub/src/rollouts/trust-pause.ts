// A running rollout whose version may no longer be sent: the hub's trust no longer accepts it (a release
// key rotated out after the rollout started: docs/security.md "Key rotation and stored versions"), or an
// operator deprecated it since (docs/rollouts.md "Version deprecated while it runs"). Every device told
// next would refuse the bundle, or be assigned a version the registry says is not to be assigned, so
// before telling more devices the rollout pauses with the reason instead
// (docs/decisions/0065-rollout-pauses-on-untrusted-version.md,
// docs/decisions/0153-rollout-pauses-on-deprecated-version.md). Resume checks again.
import { AppError } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import type { DeploymentService } from '../deployments/service.js';
import type { Transitioner } from './judge.js';

/** Pauses `r` (stored with its audit entry) and returns true when its version is deprecated or not trusted now. */
export async function pauseIfNotSendable(t: Transitioner, deps: { store: Store; deployments: DeploymentService }, r: RolloutRecord, now: Date): Promise<boolean> {
  const v = deps.store.models.get(r.model, r.version);
  if (v.deprecated) {
    const told = deps.store.rollouts.devices(r.id).filter((d) => d.notifiedAt !== null).length;
    // assignable()'s own words (what deploy and create answer), then what becomes of the devices told.
    const why = `${r.model} ${r.version} is deprecated (${v.deprecatedReason ?? 'no reason'}) and cannot be assigned`;
    return pause(t, r, now, 'VERSION_DEPRECATED', `${why}: no more devices are told; the ${told} device(s) told so far keep it (rollback sends them back, abort leaves it on them; resume checks again)`, { deprecatedReason: v.deprecatedReason });
  }
  try {
    await deps.deployments.requireTrusted(r.model, r.version);
    return false;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'VERSION_NOT_TRUSTED') throw err;
    return pause(t, r, now, err.code, err.message, err.details as object);
  }
}

function pause(t: Transitioner, r: RolloutRecord, now: Date, code: string, message: string, details: object): true {
  r.state = 'paused';
  r.stateReason = `${code}: ${message}`;
  t.transition(r, 'rollout.paused', r.stateReason, { code, ...details }, now);
  return true;
}
