// Devices: list and show (viewer); add directly, revoke (dropping a live
// connection and the device's sealed copies of content keys), rotate the secret and
// set tags (admin). Every write commits with its audit entry; MQTT side effects
// follow the commit and a failure is reported.
import { z } from 'zod';
import { DEVICE_PAGE, FLEET_VERSIONS_MAX, SEARCH_COUNT_MAX, SHORT_SEARCH_MAX_DEVICES, FleetSummary, DeviceAdd, DeviceCredentials, DeviceInfo, DeviceList, DeviceListQuery, DeviceRevoke, DeviceRotate, DeviceTagsUpdate, CREDENTIALS_SCHEMA, EnrollmentTokenInfo } from '@edgefleet/shared';
import { randomSecret } from '../store/secrets.js';
import { SealingRepo } from '../sealing/repo.js';
import { actor, afterCommit, audit, jsonBody, param, queryOf, transact, type ApiDeps, type RouteDef } from './http.js';
import { deliverNewDevice, issueCredentials } from './routes-enroll.js';
import { leaveOnRetag } from '../rollouts/retag.js';
import { heldBack } from '../deployments/backends.js';

export const deviceRoutes: RouteDef[] = [
  {
    method: 'get', path: '/devices', access: 'viewer',
    summary: `Devices a page at a time by id (?limit=, default and at most ${DEVICE_PAGE.maxLimit}), filtered by ?q= (id, tag or version containing it), ?tag=KEY=VALUE, ?status=online|offline|revoked and ?version=NAME@VERSION; \`next\` is the ?after= of the following page, null after the last; \`total\` counts the devices matching (\`totalExact\` false: a search, alone or with filters, counted up to ${SEARCH_COUNT_MAX} on a hub of more than ${SHORT_SEARCH_MAX_DEVICES}, at least that many match)`,
    query: DeviceListQuery, response: DeviceList,
    async handler(c, deps) {
      return deps.store.devices.page(queryOf(c, DeviceListQuery, 'devices query'));
    },
  },
  {
    method: 'get', path: '/fleet', access: 'viewer',
    summary: `The fleet's devices online, offline and revoked, and the versions devices not revoked run, most devices first (at most ${FLEET_VERSIONS_MAX}; versionsTotal counts them all)`,
    response: FleetSummary,
    async handler(_c, deps) {
      return deps.store.devices.summary(FLEET_VERSIONS_MAX);
    },
  },
  {
    method: 'get', path: '/devices/:id', access: 'viewer', summary: 'Show one device', response: DeviceInfo,
    async handler(c, deps) {
      const dev = deps.store.devices.get(param(c, 'id'));
      const refused = deps.ingest?.guard.refusals(dev.id);
      const twice = deps.fleet?.credentialsInUseTwice?.(dev.id);
      const quota = deps.quota?.status(dev.id);
      const parked = deps.ingest?.parked.status(dev.id);
      const held = heldBack(deps.store, dev.id);
      return {
        ...dev, ...(refused ? { ingestRefused: refused } : {}), ...(parked ? { parkedWindows: parked } : {}), ...(twice ? { credentialsInUseTwice: twice } : {}), ...(quota ? { mqttQuota: quota } : {}),
        ...(held.length ? { heldBack: held } : {}),
      };
    },
  },
  {
    method: 'post', path: '/devices', access: 'admin', status: 201,
    summary: 'Add a device directly; returns its credentials file (shown once)', body: DeviceAdd, response: DeviceCredentials,
    async handler(c, deps) {
      const b = await jsonBody(c, DeviceAdd, 'device');
      const untrusted = await deps.deployments?.untrustedTargets();
      const issued = issueCredentials(deps, b.deviceId, b.tags, null, { untrusted, record: (id) => audit(c, deps, 'device.add', id, null, { tags: b.tags }) });
      await deliverNewDevice(c, deps, 'device.add', issued);
      return issued.creds;
    },
  },
  {
    method: 'post', path: '/devices/:id/revoke', access: 'admin',
    summary: 'Revoke a device (needs a reason); a connected device is disconnected; enrollmentToken: the token that enrolled it, when it can still enroll another box',
    body: DeviceRevoke,
    response: z.object({ device: DeviceInfo, disconnected: z.boolean(), enrollmentToken: EnrollmentTokenInfo.nullable() }),
    async handler(c, deps) {
      const id = param(c, 'id');
      const b = await jsonBody(c, DeviceRevoke, 'revocation');
      transact(deps, () => {
        deps.store.devices.revoke(id, deps.clock.now());
        // Its sealed copies of content keys go with it (docs/security.md "Sealed models"): the table is
        // in every hub database, with or without a keystore (deps.sealing).
        new SealingRepo(deps.store.db).forgetDevice(id);
        audit(c, deps, 'device.revoke', id, b.reason);
      });
      const fleet = deps.fleet;
      const d = fleet ? await afterCommit(c, deps, 'device.revoke', id, 'disconnect', () => fleet.disconnect(id)) : undefined;
      return { device: deps.store.devices.get(id), disconnected: d?.ok ? d.value : false, enrollmentToken: stillEnrolling(deps, id) };
    },
  },
  {
    method: 'post', path: '/devices/:id/rotate-secret', access: 'admin',
    summary: 'Give a device a new secret; returns its new credentials (the old secret stops working)', body: DeviceRotate, response: DeviceCredentials,
    async handler(c, deps) {
      const id = param(c, 'id');
      const b = await jsonBody(c, DeviceRotate, 'secret rotation');
      const secret = randomSecret();
      transact(deps, () => {
        deps.store.devices.rotateSecret(id, secret);
        audit(c, deps, 'device.rotate-secret', id, b.reason ?? null);
      });
      // The secret is committed: whatever fails next, the caller still receives it.
      await afterCommit(c, deps, 'device.rotate-secret', id, 'broker credentials', () => deps.onCredentials?.(id, secret));
      // Drop the live session so that it must reconnect with the new secret.
      const fleet = deps.fleet;
      if (fleet) await afterCommit(c, deps, 'device.rotate-secret', id, 'disconnect', () => fleet.disconnect(id));
      return { schema: CREDENTIALS_SCHEMA, deviceId: id, secret, brokers: deps.brokers(), trust: deps.trust() };
    },
  },
  {
    method: 'put', path: '/devices/:id/tags', access: 'admin',
    summary: "Replace a device's tags", body: DeviceTagsUpdate, response: DeviceInfo,
    async handler(c, deps) {
      const id = param(c, 'id');
      const b = await jsonBody(c, DeviceTagsUpdate, 'device tags');
      const untrusted = await deps.deployments?.untrustedTargets();
      const docs = transact(deps, () => {
        const before = deps.store.devices.get(id).tags;
        // Out of the tags an active rollout targets: refused once it told the device, else it leaves it (retag.ts).
        const who = actor(c);
        const left = leaveOnRetag(deps.store, id, before, b.tags, { actor: who?.name ?? 'anonymous', actorId: who?.id ?? null, at: deps.clock.now(), reason: b.reason ?? null });
        deps.store.devices.setTags(id, b.tags);
        audit(c, deps, 'device.tags', id, b.reason ?? null, { before, after: b.tags, ...(left.length ? { leftRollouts: left } : {}) });
        // New tags may join tag deployments, or leave one (its model `removing` on the device, docs/hub.md "Undeploy"): stored now, published after commit.
        return deps.deployments?.joinDeployments(id, untrusted) ?? [];
      });
      const deployments = deps.deployments;
      if (deployments && docs.length) await afterCommit(c, deps, 'device.tags', id, 'publish desired state', () => deployments.publishDesired(docs));
      return deps.store.devices.get(id);
    },
  },
];

/**
 * The enrollment token that enrolled device `id` (its latest `device.enroll` entry), when it can still
 * enroll a box (not revoked, expired nor used up): whoever holds it, say with a stolen box whose
 * provisioning kept it, can come back as a new device after the revocation (docs/operations.md "Keys").
 */
function stillEnrolling(deps: ApiDeps, id: string): EnrollmentTokenInfo | null {
  const by = deps.store.audit.query({ action: 'device.enroll', target: id, order: 'desc', limit: 1 })[0]?.actorId;
  if (!by?.startsWith('et_')) return null;
  let token: EnrollmentTokenInfo;
  try {
    token = deps.store.enrollment.get(by);
  } catch {
    return null;
  }
  const open = token.revoked === null && token.uses < token.maxUses && Date.parse(token.expires) > deps.clock.now().getTime();
  return open ? token : null;
}
