// Deployments over REST, served by the deployments part: assign a model version to devices (ids, tags
// or all) with a reason, each deployment's per-device status, and undeploy (docs/hub.md "Undeploy").
import { AppError, Deployment, DeploymentCreate, DeploymentList, DeploymentListQuery, DeploymentViewQuery, UndeployQuery, UndeployResult } from '@edgefleet/shared';
import type { DeploymentService } from '../deployments/service.js';
import { actor, afterCommit, audit, idParam, jsonBody, queryOf, type ApiDeps, type RouteDef } from './http.js';

function part(deps: ApiDeps): DeploymentService {
  if (!deps.deployments) throw new AppError('NOT_READY', 'the deployments part is not running on this hub');
  return deps.deployments;
}

export const deploymentRoutes: RouteDef[] = [
  {
    method: 'post', path: '/deployments', access: 'operator', status: 201,
    summary: 'Assign a model version to devices (ids, tags or all) with a reason; each gets a signed desired-state document',
    body: DeploymentCreate, response: Deployment,
    async handler(c, deps) {
      const b = await jsonBody(c, DeploymentCreate, 'deployment request');
      const s = part(deps);
      const target = `${b.model}@${b.version}`;
      // A version signed only by keys the trust no longer lists would be refused by every device (VERSION_NOT_TRUSTED).
      // The deployment, every device's desired document and the audit entry commit together (signed ahead for many
      // devices, a chunk a turn: docs/decisions/0170-deployments-signed-ahead-in-chunks.md).
      const { id, docs } = await s.deployStored(b, actor(c).name, (d) => audit(c, deps, 'deployment.create', target, b.reason, { id: d.id, target: b.target, devices: d.devices, ...(b.window ? { window: b.window } : {}), ...(b.allowBackendMismatch ? { allowBackendMismatch: true } : {}) }));
      // Documents stay stored when the publish fails; the failure is reported (audit, header, log).
      await afterCommit(c, deps, 'deployment.create', target, 'publish desired state', () => s.publishDesired(docs));
      return s.deployments.get(id);
    },
  },
  {
    method: 'get', path: '/deployments', access: 'viewer',
    summary: 'Deployments a page at a time, newest first (?limit=, default 100, at most 1000), with per-status device counts; `next` is the ?before= of the older page, null after the last',
    query: DeploymentListQuery, response: DeploymentList,
    async handler(c, deps) {
      return part(deps).deployments.list(queryOf(c, DeploymentListQuery, 'deployments query'));
    },
  },
  {
    method: 'get', path: '/deployments/:id', access: 'viewer',
    summary: 'One deployment with every device\'s status (pending, downloading, activating, active, deferred, waiting_for_disk, failed, refused, rolled_back, superseded, removing, removed); ?devices=N: the first N, those needing attention first, with devicesTotal',
    query: DeploymentViewQuery, response: Deployment,
    async handler(c, deps) {
      const id = idParam(c, 'id', 'deployment');
      const q = queryOf(c, DeploymentViewQuery, 'deployment query');
      return part(deps).deployments.get(id, q.devices);
    },
  },
  {
    method: 'delete', path: '/deployments/:id', access: 'operator', query: UndeployQuery, response: UndeployResult,
    summary: 'Undeploy (?reason=, ?confirmDevices=, ?dryRun=true): the devices whose effective assignment of the model it is stop serving it (`removed` in their documents). '
      + 'More than 10 devices need confirmDevices equal to the count (else 409 CONFIRMATION_REQUIRED); a deployment a running or paused rollout owns, or one undeployed already, is a 409 CONFLICT',
    async handler(c, deps) {
      const id = idParam(c, 'id', 'deployment');
      const q = queryOf(c, UndeployQuery, 'undeploy query');
      const s = part(deps);
      const d = s.deployments.get(id); // NOT_FOUND names the id
      const target = `${d.model}@${d.version}`;
      // The removals, every affected device's desired document and the audit entry commit together (signed ahead for
      // many devices: docs/decisions/0170-deployments-signed-ahead-in-chunks.md, addendum).
      const { result, docs } = await s.undeployStored(id, { reason: q.reason, actor: actor(c).name, confirmDevices: q.confirmDevices, dryRun: q.dryRun },
        (r) => audit(c, deps, 'deployment.undeploy', target, q.reason, { id, devices: r.devices, superseded: r.superseded }));
      if (docs.length) await afterCommit(c, deps, 'deployment.undeploy', target, 'publish desired state', () => s.publishDesired(docs));
      return result;
    },
  },
];
