// A deploy as AheadSigner runs it (signed-ahead.ts; docs/decisions/0170-deployments-signed-ahead-in-chunks.md): a
// chunk's trial stores the deployment row (under an id given) and the chunk's rows and builds their documents; the
// commit is DeploymentService.createDeployment, every document built again.
import type { DeploymentCreate, DesiredDocument } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Sealing } from '../sealing/service.js';
import type { SignedAhead } from './desired.js';
import type { AheadJob } from './signed-ahead.js';

/** What a deploy's stored half is, built by DeploymentService. */
export interface DeployJobDeps {
  store: Store;
  sealing?: Sealing | undefined;
  /** The devices the deploy reaches, after the checks that refuse it (NOT_FOUND, CONFLICT, CONTENT_KEY_MISSING, BACKEND_UNSUPPORTED). */
  plan(): string[];
  /** VERSION_NOT_TRUSTED for the devices the target reaches now (DeploymentService.requireTrusted). */
  check(): Promise<void>;
  /** The deployment row at `at`; `id` given for a row rolled back. */
  create(at: Date, id?: number): number;
  /** DeploymentService.storeDesired. */
  storeDesired(deviceIds: readonly string[], ahead: SignedAhead): DesiredDocument[];
  /** The one transaction of a deploy (DeploymentService.createDeployment): checks, rows, documents, audit entry. */
  commit(ahead?: SignedAhead): { id: number; docs: DesiredDocument[] };
}

export function deployJob(deps: DeployJobDeps, req: DeploymentCreate): AheadJob<{ id: number; docs: DesiredDocument[] }> {
  const { store, sealing } = deps;
  return {
    kind: 'deployment', what: `${req.model} ${req.version}`, details: { model: req.model, version: req.version },
    devices: deps.plan(),
    // The content key sealed to each device is kept (a cache, sealing/service.ts), so the commit builds the same bodies.
    prepare: (ids) => {
      const manifest = store.models.get(req.model, req.version).manifest;
      if (manifest.encryption && sealing) store.db.transaction(() => { for (const id of ids) sealing.sealedFor(id, manifest); })();
    },
    trial: (ids, at) => {
      // An id above every deployment's, given: PostgreSQL's identity is not advanced by a row rolled back.
      const top = store.db.prepare('SELECT MAX(id) AS id FROM deployments').get() as { id: number | null } | undefined;
      const id = deps.create(at.now, Number(top?.id ?? 0) + 1);
      store.deployments.addDevices(id, req.model, [...ids], at.now);
      return deps.storeDesired(ids, at);
    },
    check: deps.check,
    commit: deps.commit,
    logged: (out) => ({ deployment: out.id }),
  };
}
