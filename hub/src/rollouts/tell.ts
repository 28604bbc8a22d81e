// Telling a wave's devices (docs/rollouts.md "State and the rate cap"): the engine picks how many its
// budget allows (engine.ts notify), this stores that they were told and publishes their desired documents.
// A model rollout adds them to its one deployment (docs/decisions/0026-rollout-waves-on-deployments.md),
// a shadow stage assigns them the candidate to run in shadow (docs/rollouts.md "Shadow stage"), a
// configuration rollout moves them to the new document version (config-rollout.ts tellConfig).
import type { RolloutRecord } from '../store/rollouts-repo.js';
import type { Store } from '../store/index.js';
import type { DeploymentService } from '../deployments/service.js';
import { tellConfig } from './config-rollout.js';

interface TellDeps {
  store: Store;
  deployments: DeploymentService;
  /** Throws unless this hub still holds the lease (engine.ts RolloutEngineDeps.fence). */
  fence?: (() => void) | undefined;
}

/**
 * Tells `due` (wave `k` of `r`, already cut to the budget) to switch, or in the shadow stage to run the
 * version in shadow (devices running no version of the model have nothing to shadow: they are only
 * marked); stored, then published.
 */
export async function tellDevices(deps: TellDeps, r: RolloutRecord, k: number, due: ReadonlyArray<{ deviceId: string; previous: string | null }>, now: Date): Promise<void> {
  const { store, deployments } = deps;
  // Only devices still in the rollout, not told: one re-tagged out of its target while the step awaited
  // (retag.ts) left it, and is sent nothing.
  const still = new Set(store.rollouts.devices(r.id).filter((d) => d.notifiedAt === null).map((d) => d.deviceId));
  const told = due.filter((d) => still.has(d.deviceId));
  const ids = told.map((d) => d.deviceId);
  if (!ids.length) return;
  if (r.config) {
    await deployments.publishDesired(tellConfig(store, r, ids, now, (x) => deployments.storeDesired(x)));
    return;
  }
  const shadow = r.waves[k]?.shadow;
  if (shadow) {
    const running = told.filter((d) => d.previous !== null && d.previous !== r.version).map((d) => d.deviceId);
    const docs = store.db.transaction(() => {
      deps.fence?.();
      store.rollouts.markNotified(r.id, ids, now);
      return deployments.assignShadows({ rolloutId: r.id, model: r.model, version: r.version, sampleRate: shadow.sampleRate, tolerance: shadow.tolerance, threshold: shadow.threshold ?? null, replay: shadow.replay ?? null }, running);
    })();
    await deployments.publishDesired(docs);
    return;
  }
  const docs = store.db.transaction(() => {
    deps.fence?.();
    const a = deployments.assignDevices({ deploymentId: r.deploymentId, model: r.model, version: r.version, reason: `rollout ${r.id}: ${r.reason}`, actor: r.createdBy, window: r.window ?? undefined, ...(r.allowBackendMismatch ? { allowBackendMismatch: true } : {}) }, ids);
    if (r.deploymentId !== a.id) {
      r.deploymentId = a.id;
      r.updatedAt = now.toISOString();
      store.rollouts.save(r);
    }
    store.rollouts.markNotified(r.id, ids, now);
    return a.docs;
  })();
  await deployments.publishDesired(docs);
}
