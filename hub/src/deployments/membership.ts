// Which devices a deployment holds, changed outside a deploy: a rollout's batch (assignDevices), a shadow stage
// (assignShadows, clearShadows) and a device that enrolled or changed tags (joinDeployments). Each is a stored half:
// the rows and each affected device's next document in one transaction (nested in the caller's, if any); the caller
// publishes the documents after commit (DeploymentService.publishDesired).
import type { DesiredDocument, MaintenanceWindow } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { ConfigService } from '../config/service.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { targetMatches } from './target.js';
import { leaveTagTargets } from './undeploy.js';

export interface MembershipDeps {
  store: Store;
  clock: Clock;
  logger: LoggerPort;
  config?: ConfigService | undefined;
  /** Builds, signs and stores the devices' next documents (DeploymentService.storeDesired). */
  storeDesired: (deviceIds: readonly string[]) => DesiredDocument[];
}

/** A rollout's batch: the deployment it adds to (null: the rollout's first batch creates it) and what it assigns. */
export interface BatchAssignment {
  deploymentId: number | null;
  model: string;
  version: string;
  reason: string;
  actor: string;
  rollback?: boolean;
  window?: MaintenanceWindow | undefined;
  allowBackendMismatch?: boolean | undefined;
}

/** A shadow stage's batch (docs/rollouts.md "Shadow stage"). */
export interface ShadowAssignment {
  rolloutId: string;
  model: string;
  version: string;
  sampleRate: number;
  tolerance: number;
  threshold: number | null;
  replay?: number | null;
}

/**
 * Adds devices to the rollout's deployment, creating it for the first batch (its target lists that batch, so devices
 * that enroll later join only through the rollout), and stores each device's next document.
 */
export function assignDevices(deps: MembershipDeps, a: BatchAssignment, deviceIds: readonly string[]): { id: number; docs: DesiredDocument[] } {
  const { store, clock } = deps;
  const now = clock.now();
  return store.db.transaction(() => {
    let id = a.deploymentId;
    if (id === null) {
      // A rollback may return devices to a version deprecated since: it is what they ran.
      if (a.rollback) store.models.get(a.model, a.version);
      else store.models.assignable(a.model, a.version);
      id = store.deployments.create({ model: a.model, version: a.version, target: { devices: [...deviceIds] }, reason: a.reason, createdBy: a.actor, at: now, window: a.window, allowBackendMismatch: a.allowBackendMismatch });
    }
    store.deployments.addDevices(id, a.model, [...deviceIds], now);
    return { id, docs: deps.storeDesired(deviceIds) };
  })();
}

/** Each device runs `a.version` in shadow beside the version it runs; returns the documents to publish. */
export function assignShadows(deps: MembershipDeps, a: ShadowAssignment, deviceIds: readonly string[]): DesiredDocument[] {
  const { store } = deps;
  return store.db.transaction(() => {
    store.models.assignable(a.model, a.version);
    for (const deviceId of deviceIds) store.shadows.put({ deviceId, ...a });
    return deps.storeDesired(deviceIds);
  })();
}

/** Ends a rollout's shadow stage: its devices' next documents name no shadow. */
export function clearShadows(deps: MembershipDeps, rolloutId: string): DesiredDocument[] {
  const { store } = deps;
  return store.db.transaction(() => {
    const ids = store.shadows.clearRollout(rolloutId).filter((id) => !store.devices.get(id).revoked);
    return deps.storeDesired(ids);
  })();
}

/**
 * A device enrolled or changed tags (run it inside the caller's transaction, with the device write): leaves the tag
 * deployments it no longer matches (their model `removing` on it, decision 0066), joins the deployments it now matches
 * but `untrusted` (trusted.ts untrustedTargets) and stores its next document if anything it is sent changed.
 */
export function joinDeployments(deps: MembershipDeps, deviceId: string, untrusted: ReadonlySet<number>): DesiredDocument[] {
  const { store, clock, logger } = deps;
  const deployments = store.deployments;
  return store.db.transaction(() => {
    const dev = store.devices.get(deviceId);
    if (dev.revoked) return [];
    const before = JSON.stringify(deployments.effectiveFor(deviceId));
    const left = leaveTagTargets(store, deviceId, dev.tags, clock.now(), untrusted);
    for (const d of deployments.openTargets()) {
      if (!targetMatches(d.target, deviceId, dev.tags)) continue;
      if (untrusted.has(d.id)) {
        logger.warn({ deviceId, deployment: d.id, model: d.model, version: d.version },
          'device not added to the deployment: no current release key signed its version (VERSION_NOT_TRUSTED, docs/security.md "Key rotation and stored versions")');
        continue;
      }
      deployments.addDevices(d.id, d.model, [deviceId], clock.now());
    }
    // New tags may also change the device's layered configuration (a tag document reaches it now, or no longer).
    const config = deps.config?.desiredFor(deviceId, dev.tags)?.sha256;
    const configChanged = config !== store.desired.latest(deviceId)?.signed.agentConfig?.sha256;
    return left > 0 || JSON.stringify(deployments.effectiveFor(deviceId)) !== before || configChanged ? deps.storeDesired([deviceId]) : [];
  })();
}
