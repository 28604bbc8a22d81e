// A deployment to more devices than one chunk is signed ahead, a chunk a turn, and committed in one transaction
// (docs/decisions/0170-deployments-signed-ahead-in-chunks.md). Real Store (each backend), real embedded broker on
// 127.0.0.1:0, real signed bundles, a manual clock: the documents are the ones a deployment committed at once
// gives; what changed while they were signed is signed again at commit; a failure stores nothing; a second large
// deployment while one is being signed is refused OVERLOADED; a stop while signing stores nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError, DesiredDocument } from '@edgefleet/shared';
import { forEachBackend } from '../testing/backends.js';
import { addDevice, cleanup, firstChunkSigned, fleetHub, fleetIds, prepare, rowCount, signedLog, verified, type TestHub } from './testing.js';
import { SIGN_CHUNK } from './signed-ahead.js';
import { failPut, N, REQ, sameAsOnce, stopWhileSigned } from './signed-ahead-testing.js';

const ids = fleetIds;
const fleet = (database?: string) => fleetHub(N, { database });
const signed = (h: TestHub) => signedLog(h, 'deployment');

/** Nothing of a deployment is stored: no deployment, no device row, no document, no audit entry. */
function nothingStored(h: TestHub): void {
  assert.deepEqual(['deployments', 'deployment_devices', 'desired_documents'].map((t) => rowCount(h, t)), [0, 0, 0]);
  assert.deepEqual(h.store.audit.query({}).filter((a) => a.action === 'deployment.create'), []);
}

/** The API's audit entry of a deployment (routes-deployments.ts), stored in its transaction. */
const audited = (h: TestHub) => (d: { id: number; devices: number }) => {
  h.store.audit.append({ actor: 'op', actorId: null, action: 'deployment.create', target: 'audio-energy@1.0.0', reason: REQ.reason, details: d, at: h.clock.now() });
};

describe('a deployment signed ahead', () => {
  before(prepare);
  after(cleanup);

  forEachBackend(...sameAsOnce(fleet, (h) => h, 'stores the documents a deployment committed at once stores, signatures and all, under the id it would take', async (ahead, once) => {
    const a = await ahead.parts.deployments.deployStored(REQ, 'op');
    const o = once.parts.deployments.createDeployment(REQ, 'op');
    assert.equal(a.docs.length, N);
    // Same bodies, and Ed25519 signs deterministically: the same signatures too.
    assert.deepEqual(a.docs, o.docs);
    for (const d of a.docs) {
      assert.deepEqual(verified(d).models.map((m) => m.version), ['1.0.0']);
      assert.deepEqual(ahead.store.desired.latest(d.signed.deviceId), d);
    }
    assert.deepEqual(signed(ahead), [{ deployment: a.id, devices: N, signedAhead: N, reused: N }]);
    // The rows the chunks stored and rolled back took no id (PostgreSQL's identity included).
    assert.equal(a.id, o.id);
    const next = await ahead.parts.deployments.deployStored({ ...REQ, version: '2.0.0' }, 'op');
    assert.equal(next.id, a.id + 1);
    assert.deepEqual(ahead.store.deployments.list().deployments.map((d) => d.id), [next.id, a.id]);
  }));

  it('signs again at commit what changed while it was signed: a re-tag, a revoke, an enrollment, another document or deployment', async () => {
    const h = await fleet();
    try {
      const svc = h.parts.deployments;
      const p = svc.deployStored(REQ, 'op');
      await firstChunkSigned(h);
      // Devices of the first chunk, whose documents are signed already.
      h.store.devices.setTags('d-000', { ring: 'b' });
      h.store.devices.revoke('d-002', h.clock.now());
      const other = await svc.issueDesired('d-001');
      const small = await svc.deployStored({ model: 'audio-energy', version: '2.0.0', target: { devices: ['d-003'] }, reason: 'one box' }, 'op');
      addDevice(h, 'd-new', { ring: 'a' });
      const { id, docs } = await p;

      const want = [...ids(N).filter((x) => !['d-000', 'd-002'].includes(x)), 'd-new'].sort();
      assert.deepEqual(h.store.deployments.get(id).devices.map((d) => d.deviceId).sort(), want);
      assert.deepEqual(docs.map((d) => d.signed.deviceId).sort(), want);
      for (const d of docs) {
        assert.deepEqual(verified(d).models.map((m) => m.version), ['1.0.0'], d.signed.deviceId);
        assert.deepEqual(h.store.desired.latest(d.signed.deviceId), d, `${d.signed.deviceId}: its latest document is the one committed`);
      }
      const doc = (x: string) => docs.find((d) => d.signed.deviceId === x) as DesiredDocument;
      assert.equal(other.signed.seq, 1);
      assert.equal(doc('d-001').signed.seq, 2, 'above the document issued while it was signed');
      assert.equal(doc('d-003').signed.seq, 2);
      assert.equal(doc('d-003').signed.models[0]?.previous, '2.0.0', 'the deployment committed meanwhile is its previous');
      assert.equal(h.store.deployments.get(small.id).devices[0]?.status, 'superseded');
      assert.equal(h.store.desired.latest('d-000'), undefined, 'no document for a device re-tagged out of the target');
      assert.equal(h.store.desired.latest('d-002'), undefined, 'nor for one revoked');
      // Signed ahead: every device of the target then; stored as signed: all but d-001, d-003 (changed) and d-new (not signed ahead).
      assert.deepEqual(signed(h), [{ deployment: id, devices: N - 1, signedAhead: N, reused: N - 4 }]);
    } finally {
      await h.close();
    }
  });

  it('stores nothing when the commit fails mid-way, or the version is deprecated while it is signed', async () => {
    const h = await fleet();
    try {
      const svc = h.parts.deployments;
      // The 150th document put at commit fails (the chunks put N, rolled back).
      const restore = failPut(h, N + 150);
      await assert.rejects(svc.deployStored(REQ, 'op', audited(h)), /disk failed/);
      restore();
      nothingStored(h);

      const p = svc.deployStored(REQ, 'op', audited(h));
      await firstChunkSigned(h);
      h.store.models.deprecate('audio-energy', '1.0.0', 'recalled', h.clock.now());
      await assert.rejects(p, (e: AppError) => e.code === 'CONFLICT' && /deprecated/.test(e.message));
      nothingStored(h);
    } finally {
      await h.close();
    }
  });

  it('refuses a second large deployment while one is signed (OVERLOADED), takes a small one, and stores nothing when stopped', async () => {
    const h = await fleet();
    try {
      const svc = h.parts.deployments;
      const p = svc.deployStored(REQ, 'op');
      await firstChunkSigned(h);
      await assert.rejects(svc.deployStored({ ...REQ, version: '2.0.0' }, 'op'), (e: AppError) => e.code === 'OVERLOADED'
        && e.message === `another deployment to more than ${SIGN_CHUNK} devices is being signed (audio-energy 1.0.0): try this deployment (audio-energy 2.0.0, ${N} devices) again in a few seconds`);
      const small = await svc.deployStored({ ...REQ, version: '2.0.0', target: { devices: ['d-010'] } }, 'op');
      const { id } = await p;
      assert.deepEqual(h.store.deployments.list().deployments.map((d) => d.id), [id, small.id]);
      assert.equal(svc.signingAhead(), null);
      // Once it is stored, the next one is taken.
      await svc.deployStored({ ...REQ, version: '3.0.0' }, 'op');
    } finally {
      await h.close();
    }

    const s = await fleet();
    try {
      const svc = s.parts.deployments;
      const p = svc.deployStored(REQ, 'op', audited(s));
      await firstChunkSigned(s);
      await stopWhileSigned(s, p, /the hub is stopping: the deployment was not stored/);
      nothingStored(s);
      await assert.rejects(svc.deployStored(REQ, 'op'), (e: AppError) => e.code === 'NOT_READY');
    } finally {
      await s.close();
    }
  });
});
