// An undeploy reaching more devices than one chunk is signed ahead, a chunk a turn, and committed in one transaction
// (docs/decisions/0170-deployments-signed-ahead-in-chunks.md, addendum). Real Store (each backend), real embedded
// broker on 127.0.0.1:0, real signed bundles, a manual clock: the documents are the ones an undeploy committed at once
// gives; what changed while they were signed is signed again at commit; a check that fails at commit, a failure
// mid-way and a stop store nothing; a deployment and an undeploy are not signed at once (OVERLOADED).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError } from '@edgefleet/shared';
import { forEachBackend } from '../testing/backends.js';
import { cleanup, firstChunkSigned, fleetHub, fleetIds, prepare, rowCount, signedLog, verified, type TestHub } from './testing.js';
import { SIGN_CHUNK } from './signed-ahead.js';
import { failPut, N, REQ, sameAsOnce, stopWhileSigned } from './signed-ahead-testing.js';

const UNDO = { reason: 'retired', actor: 'op', confirmDevices: N };

/** A fleet of N devices in one deployment (committed at once), its id. */
async function deployed(database?: string): Promise<{ h: TestHub; id: number }> {
  const h = await fleetHub(N, { database });
  return { h, id: h.parts.deployments.createDeployment(REQ, 'op').id };
}

/** The API's audit entry of an undeploy (routes-deployments.ts), stored in its transaction. */
const audited = (h: TestHub) => () => {
  h.store.audit.append({ actor: 'op', actorId: null, action: 'deployment.undeploy', target: 'audio-energy@1.0.0', reason: UNDO.reason, details: {}, at: h.clock.now() });
};

/** Nothing of the undeploy is stored: no row removing or removed, not undeployed, no document beyond the deployment's, no audit entry. */
function nothingStored(h: TestHub, id: number, documents = N): void {
  assert.deepEqual(h.store.deployments.get(id).devices.filter((d) => d.status === 'removing' || d.status === 'removed'), []);
  assert.equal(h.store.deployments.get(id).undeployed, undefined);
  assert.equal(rowCount(h, 'desired_documents'), documents);
  assert.deepEqual(h.store.audit.query({}).filter((a) => a.action === 'deployment.undeploy'), []);
}

describe('an undeploy signed ahead', () => {
  before(prepare);
  after(cleanup);

  forEachBackend(...sameAsOnce(deployed, (d) => d.h, 'stores the documents an undeploy committed at once stores, signatures and all', async (ahead, once) => {
    const a = await ahead.h.parts.deployments.undeployStored(ahead.id, UNDO);
    const o = once.h.parts.deployments.undeploy(once.id, UNDO);
    assert.equal(a.docs.length, N);
    assert.deepEqual(a, o);
    for (const d of a.docs) {
      const body = verified(d);
      assert.deepEqual([body.seq, body.models, body.removed?.map((r) => r.name)], [2, [], ['audio-energy']]);
      assert.deepEqual(ahead.h.store.desired.latest(d.signed.deviceId), d);
    }
    assert.deepEqual(signedLog(ahead.h, 'undeploy'), [{ deployment: ahead.id, devices: N, signedAhead: N, reused: N }]);
    assert.equal(ahead.h.store.deployments.get(ahead.id).devices.filter((d) => d.status === 'removing').length, N);
    assert.equal(ahead.h.store.deployments.get(ahead.id).undeployed?.reason, 'retired');
  }));

  it('signs again at commit what changed while it was signed, and refuses at commit a count no longer the one confirmed', async () => {
    const { h, id } = await deployed();
    try {
      const svc = h.parts.deployments;
      const p = svc.undeployStored(id, UNDO, audited(h));
      await firstChunkSigned(h, 'undeploy');
      // Devices of the first chunk, whose documents are signed already.
      h.store.devices.revoke('d-002', h.clock.now());
      const other = await svc.issueDesired('d-001');
      const { result, docs } = await p;

      assert.equal(result.devices, N, 'the revoked device\'s row is removed too');
      const want = fleetIds(N).filter((x) => x !== 'd-002');
      assert.deepEqual(docs.map((d) => d.signed.deviceId).sort(), want);
      for (const d of docs) {
        assert.deepEqual(verified(d).removed?.map((r) => r.name), ['audio-energy'], d.signed.deviceId);
        assert.deepEqual(h.store.desired.latest(d.signed.deviceId), d, `${d.signed.deviceId}: its latest document is the one committed`);
      }
      assert.equal(other.signed.seq, 2);
      assert.equal(docs.find((d) => d.signed.deviceId === 'd-001')?.signed.seq, 3, 'above the document issued while it was signed');
      assert.equal(h.store.desired.latest('d-002')?.signed.seq, 1, 'no document for a device revoked');
      assert.deepEqual(signedLog(h, 'undeploy'), [{ deployment: id, devices: N - 1, signedAhead: N, reused: N - 2 }]);
      assert.equal(h.store.audit.query({}).filter((a) => a.action === 'deployment.undeploy').length, 1);
    } finally {
      await h.close();
    }

    const s = await deployed();
    try {
      const svc = s.h.parts.deployments;
      const p = svc.undeployStored(s.id, UNDO, audited(s.h));
      await firstChunkSigned(s.h, 'undeploy');
      // d-003 now runs 2.0.0: the undeploy no longer removes the model from it, and N is not the count any more.
      svc.createDeployment({ ...REQ, version: '2.0.0', target: { devices: ['d-003'] } }, 'op');
      await assert.rejects(p, (e: AppError) => e.code === 'CONFIRMATION_REQUIRED' && e.message.includes(`removes audio-energy from ${N - 1} devices and confirmDevices was ${N}`));
      nothingStored(s.h, s.id, N + 1);
      assert.equal(verified(s.h.store.desired.latest('d-003')).models[0]?.version, '2.0.0');
    } finally {
      await s.h.close();
    }
  });

  it('stores nothing when the commit fails mid-way or the hub stops while it is signed', async () => {
    const { h, id } = await deployed();
    try {
      const svc = h.parts.deployments;
      // The 150th document put at commit fails (the chunks put N, rolled back).
      const restore = failPut(h, N + 150);
      await assert.rejects(svc.undeployStored(id, UNDO, audited(h)), /disk failed/);
      restore();
      nothingStored(h, id);

      const p = svc.undeployStored(id, UNDO, audited(h));
      await firstChunkSigned(h, 'undeploy');
      await stopWhileSigned(h, p, 'the hub is stopping: the undeploy was not stored; undeploy again once the hub is back');
      nothingStored(h, id);
      await assert.rejects(svc.undeployStored(id, UNDO), (e: AppError) => e.code === 'NOT_READY');
    } finally {
      await h.close();
    }
  });

  it('refuses an undeploy to more than a chunk while a deployment is signed (OVERLOADED), and a deployment while an undeploy is', async () => {
    const { h, id } = await deployed();
    try {
      const svc = h.parts.deployments;
      const p = svc.deployStored({ ...REQ, version: '2.0.0' }, 'op');
      await firstChunkSigned(h, 'deployment');
      await assert.rejects(svc.undeployStored(id, UNDO), (e: AppError) => e.code === 'OVERLOADED'
        && e.message === `a deployment to more than ${SIGN_CHUNK} devices is being signed (audio-energy 2.0.0): try this undeploy (deployment ${id}, audio-energy 1.0.0, ${N} devices) again in a few seconds`);
      const next = await p;
      nothingStored(h, id, 2 * N);

      const u = svc.undeployStored(next.id, UNDO);
      await firstChunkSigned(h, 'undeploy');
      await assert.rejects(svc.deployStored({ ...REQ, version: '3.0.0' }, 'op'), (e: AppError) => e.code === 'OVERLOADED'
        && e.message.startsWith(`an undeploy to more than ${SIGN_CHUNK} devices is being signed (deployment ${next.id}, audio-energy 2.0.0): try this deployment (audio-energy 3.0.0`));
      const done = await u;
      assert.equal(done.docs.length, N);
      // A dry run, and an undeploy of a deployment no device runs any more, sign nothing ahead.
      assert.equal((await svc.undeployStored(id, { ...UNDO, dryRun: true })).result.devices, 0);
      assert.deepEqual(signedLog(h, 'undeploy').length, 1);
    } finally {
      await h.close();
    }
  });
});
