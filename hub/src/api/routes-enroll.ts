// Enrollment: operators make enrollment tokens; a device trades one for its
// identity (id + secret), the broker URLs and the trust document.
import { randomBytes } from 'node:crypto';
import {
  AppError, CREDENTIALS_SCHEMA, DeviceCredentials, EnrollRequest, EnrollmentTokenCreate, EnrollmentTokenCreated,
  EnrollmentTokenInfo, EnrollmentTokenList, EnrollmentTokenListQuery, EnrollmentTokenRevoke, type DeviceFacts, type DesiredDocument, type DevicePublicKey, type Tags,
} from '@edgefleet/shared';
import { randomSecret } from '../store/secrets.js';
import { recordReplaced } from '../rollouts/replaced.js';
import { actor, afterCommit, audit, jsonBody, param, queryOf, transact, type ApiDeps, type Ctx, type RouteDef } from './http.js';

export interface Issued {
  creds: DeviceCredentials;
  /** Desired documents the device got by joining deployments: publish them after commit. */
  docs: DesiredDocument[];
}

/**
 * Creates a device with a fresh secret (enroll and `devices add`) in one transaction with: `admit`
 * first (it takes an enrollment token's use and may add tags), the deployments the device joins, and
 * `record` last (the audit entry). Returns the credentials; side effects are the caller's, after commit.
 */
export function issueCredentials(
  deps: ApiDeps, id: string | undefined, tags: Tags, facts: DeviceFacts | null,
  o: { admit?: () => Tags; record: (deviceId: string) => void; deviceKey?: DevicePublicKey | undefined; untrusted?: ReadonlySet<number> | undefined },
): Issued {
  const deviceId = id ?? `dev-${randomBytes(6).toString('hex')}`;
  const secret = randomSecret();
  const docs = transact(deps, () => {
    const extra = o.admit?.() ?? {};
    if (deps.store.devices.exists(deviceId)) {
      throw new AppError('CONFLICT', `device id "${deviceId}" is taken: propose another id, or omit it and the hub assigns one`);
    }
    deps.store.devices.create(deviceId, secret, { ...extra, ...tags }, facts, deps.clock.now());
    // Before the deployments it joins: their documents carry content keys sealed to this key.
    if (o.deviceKey) deps.sealing?.setDeviceKey(deviceId, o.deviceKey, 'enroll', deps.clock.now());
    // A device added later joins the tag/all deployments it matches, but those of a version no current release key signed.
    const joined = deps.deployments?.joinDeployments(deviceId, o.untrusted) ?? [];
    o.record(deviceId);
    return joined;
  });
  return { creds: { schema: CREDENTIALS_SCHEMA, deviceId, secret, brokers: deps.brokers(), trust: deps.trust() }, docs };
}

/** After a new device committed: hand its secret to the broker and publish its desired documents (failures reported). */
export async function deliverNewDevice(c: Ctx, deps: ApiDeps, action: 'device.add' | 'device.enroll', issued: Issued): Promise<void> {
  const { deviceId, secret } = issued.creds;
  await afterCommit(c, deps, action, deviceId, 'broker credentials', () => deps.onCredentials?.(deviceId, secret));
  if (deps.deployments && issued.docs.length) {
    const deployments = deps.deployments;
    await afterCommit(c, deps, action, deviceId, 'publish desired state', () => deployments.publishDesired(issued.docs));
  }
}

/**
 * A re-run of an enrollment that failed on the device after the hub created it (docs/operations.md
 * "Clocks that are wrong"): the same id with the same token, for a device that token enrolled and
 * that never connected nor reported, gets a fresh secret without taking another use of the token, as
 * long as the token is still valid: a revoked or expired one is refused here too (`check`), since a
 * leaked token must not hand out new secrets for the devices it enrolled. Anything else with a taken id
 * is left to the CONFLICT of a new enrollment.
 */
function reenroll(deps: ApiDeps, deviceId: string, token: string, facts: DeviceFacts, deviceKey: DevicePublicKey | undefined): Issued | undefined {
  const secret = randomSecret();
  const done = transact(deps, () => {
    if (!deps.store.devices.exists(deviceId)) return false;
    const dev = deps.store.devices.get(deviceId);
    if (dev.revoked || dev.lastSeen !== null || dev.reported !== null) return false;
    const t = deps.store.enrollment.check(token, deps.clock.now());
    const actorName = `enrollment-token:${t.id}`;
    if (deps.store.audit.query({ action: 'device.enroll', target: deviceId, actor: actorName, limit: 1 }).length === 0) return false;
    deps.store.devices.rotateSecret(deviceId, secret);
    const key = deviceKey ? deps.sealing?.setDeviceKey(deviceId, deviceKey, 'enroll', deps.clock.now()) : undefined;
    deps.store.audit.append({
      actor: actorName, actorId: t.id, action: 'device.enroll', target: deviceId, at: deps.clock.now(),
      details: { facts, tags: t.tags, proposedId: deviceId, deviceKey: deviceKey?.keyId ?? null, rerun: 'the device never connected after its first enrollment; new secret, no use taken' },
    });
    // Another key than the first run's, as a reported state's would be (docs/security.md "Sealed models").
    if (deviceKey && key === 'changed') {
      deps.store.audit.append({
        actor: actorName, actorId: t.id, action: 'device.key_changed', target: deviceId, at: deps.clock.now(),
        reason: 'the re-run of the enrollment carried a different device key: content keys are sealed to the new one from now on',
        details: { keyId: deviceKey.keyId },
      });
    }
    return true;
  });
  if (!done) return undefined;
  return { creds: { schema: CREDENTIALS_SCHEMA, deviceId, secret, brokers: deps.brokers(), trust: deps.trust() }, docs: [] };
}

export const enrollRoutes: RouteDef[] = [
  {
    method: 'post', path: '/enrollment-tokens', access: 'operator', status: 201,
    summary: 'Create an enrollment token (tags, expiry, max uses); the token is shown once',
    body: EnrollmentTokenCreate, response: EnrollmentTokenCreated,
    async handler(c, deps) {
      const b = await jsonBody(c, EnrollmentTokenCreate, 'enrollment token request');
      const now = deps.clock.now();
      return transact(deps, () => {
        const t = deps.store.enrollment.create({
          tags: b.tags, maxUses: b.maxUses, note: b.note, createdBy: actor(c).name, at: now,
          expires: new Date(now.getTime() + b.ttlSec * 1000),
        });
        audit(c, deps, 'enrollment-token.create', t.id, null, { tags: t.tags, expires: t.expires, maxUses: t.maxUses });
        return t;
      });
    },
  },
  {
    method: 'get', path: '/enrollment-tokens', access: 'viewer',
    summary: 'Enrollment tokens (without the token values) a page at a time, newest first (?limit=, default 100, at most 1000); `next` is the ?before= of the older page, null after the last',
    query: EnrollmentTokenListQuery, response: EnrollmentTokenList,
    async handler(c, deps) {
      return deps.store.enrollment.list(queryOf(c, EnrollmentTokenListQuery, 'enrollment tokens query'));
    },
  },
  {
    method: 'post', path: '/enrollment-tokens/:id/revoke', access: 'operator',
    summary: 'Revoke an enrollment token: enrollments with it (re-runs included) are refused at once; devices it enrolled keep their credentials',
    body: EnrollmentTokenRevoke, response: EnrollmentTokenInfo,
    async handler(c, deps) {
      const id = param(c, 'id');
      const b = await jsonBody(c, EnrollmentTokenRevoke, 'enrollment token revocation');
      return transact(deps, () => {
        const t = deps.store.enrollment.revoke(id, actor(c).name, deps.clock.now());
        audit(c, deps, 'enrollment-token.revoke', id, b.reason, { tags: t.tags, uses: t.uses, maxUses: t.maxUses, expires: t.expires });
        return t;
      });
    },
  },
  {
    method: 'post', path: '/enroll', access: 'public', status: 201, maxBodyBytes: 16 * 1024,
    summary: 'Enroll a device with an enrollment token; returns its id, secret, broker URLs and trust document',
    body: EnrollRequest, response: DeviceCredentials,
    async handler(c, deps) {
      const b = await jsonBody(c, EnrollRequest, 'enrollment request');
      const rerun = b.deviceId ? reenroll(deps, b.deviceId, b.token, b.facts, b.deviceKey) : undefined;
      if (rerun) {
        await deliverNewDevice(c, deps, 'device.enroll', rerun);
        return rerun.creds;
      }
      let tokenId = '';
      let tags: Tags = {};
      // The token's use is taken in the same transaction as the device is created, so a refused id costs no use.
      const issued = issueCredentials(deps, b.deviceId, {}, b.facts, {
        deviceKey: b.deviceKey,
        untrusted: await deps.deployments?.untrustedTargets(),
        admit: () => {
          const t = deps.store.enrollment.consume(b.token, deps.clock.now());
          tokenId = t.id;
          tags = t.tags;
          return t.tags;
        },
        record: (deviceId) => {
          deps.store.audit.append({
            actor: `enrollment-token:${tokenId}`, actorId: tokenId, action: 'device.enroll', target: deviceId, at: deps.clock.now(),
            details: { facts: b.facts, tags, proposedId: b.deviceId ?? null, deviceKey: b.deviceKey?.keyId ?? null },
          });
          // The same box enrolled again (enroll --force keeps its device key): its old id leaves the rollouts.
          if (b.deviceKey) recordReplaced(deps.store, deviceId, b.deviceKey.keyId, { name: `enrollment-token:${tokenId}`, id: tokenId }, deps.clock.now());
        },
      });
      await deliverNewDevice(c, deps, 'device.enroll', issued);
      return issued.creds;
    },
  },
];
