// A capture whose cohort is more devices than one chunk is signed ahead, a chunk a turn, and committed in one
// transaction (docs/decisions/0170-deployments-signed-ahead-in-chunks.md, addendum). Real Store (each backend), real
// embedded broker on 127.0.0.1:0, the capture part, a manual clock: the documents are the ones a capture committed at
// once gives, under the same id; what changed while they were signed (a capture committed meanwhile included) is
// signed again at commit; a failure mid-way and a stop store nothing; a deployment waits its turn (OVERLOADED).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError, CaptureCreate, DesiredDocument } from '@edgefleet/shared';
import { forEachBackend, type Backend } from '../testing/backends.js';
import type { CaptureService } from '../capture/service.js';
import { addDevice, cleanup, firstChunkSigned, fleetHub, fleetIds, prepare, rowCount, signedLog, verified, type TestHub } from './testing.js';
import { SIGN_CHUNK } from './signed-ahead.js';

const N = SIGN_CHUNK * 2 + 50;
const REQ: CaptureCreate = { model: 'audio-energy', target: { tags: { ring: 'a' } }, rate: 0.5, maxRows: 1000, durationSec: 3600, reason: 'retrain' };

const fleet = (database?: string) => fleetHub(N, { database, capture: true });
const captures = (h: TestHub): CaptureService => h.captures as CaptureService;

/** The API's audit entry of a capture (routes-captures.ts), stored in its transaction. */
const audited = (h: TestHub) => (c: { id: number; devices: number }) => {
  h.store.audit.append({ actor: 'op', actorId: null, action: 'capture.create', target: `capture ${c.id}`, reason: REQ.reason, details: c, at: h.clock.now() });
};

/** Nothing of a capture is stored: no capture, no device of one, no document, no audit entry. */
function nothingStored(h: TestHub): void {
  assert.deepEqual(['captures', 'capture_devices', 'desired_documents'].map((t) => rowCount(h, t)), [0, 0, 0]);
  assert.deepEqual(h.store.audit.query({}).filter((a) => a.action === 'capture.create'), []);
}

/** The capture ids a document asks its device for. */
const captureIds = (d: DesiredDocument | undefined): number[] => (verified(d).capture ?? []).map((c) => c.id);

let backend: Backend;

describe('a capture signed ahead', () => {
  before(prepare);
  after(cleanup);

  forEachBackend((b) => { backend = b; }, () => {
    it('stores the documents a capture committed at once stores, signatures and all, under the id it would take', async () => {
      const [ahead, once] = [await fleet(backend.database()), await fleet(backend.database())];
      try {
        const a = await captures(ahead).createStored(REQ, 'op', audited(ahead));
        const o = captures(once).create(REQ, 'op', audited(once));
        assert.equal(a.docs.length, N);
        assert.deepEqual(a, o);
        for (const d of a.docs) {
          assert.deepEqual(captureIds(d), [a.id]);
          assert.deepEqual(ahead.store.desired.latest(d.signed.deviceId), d);
        }
        assert.deepEqual(signedLog(ahead, 'capture'), [{ capture: a.id, devices: N, signedAhead: N, reused: N }]);
        assert.equal(captures(ahead).view(a.id).devices.length, N);
        // The rows the chunks stored and rolled back took no id (PostgreSQL's identity included).
        const next = await captures(ahead).createStored({ ...REQ, reason: 'again' }, 'op', audited(ahead));
        assert.equal(next.id, a.id + 1);
        assert.equal(ahead.store.audit.query({}).filter((x) => x.action === 'capture.create').length, 2);
      } finally {
        await ahead.close();
        await once.close();
      }
    });
  });

  it('signs again at commit what changed while it was signed: a revoke, an enrollment, another document, deployment or capture', async () => {
    const h = await fleet();
    try {
      const svc = h.parts.deployments;
      const p = captures(h).createStored(REQ, 'op', audited(h));
      await firstChunkSigned(h, 'capture');
      // Devices of the first chunk, whose documents are signed already.
      h.store.devices.revoke('d-002', h.clock.now());
      addDevice(h, 'd-new', { ring: 'a' });
      const deployed = svc.createDeployment({ model: 'audio-energy', version: '1.0.0', target: { devices: ['d-003'] }, reason: 'one box' }, 'op');
      const other = await svc.issueDesired('d-001');
      const { id, docs } = await p;

      const want = [...fleetIds(N).filter((x) => x !== 'd-002'), 'd-new'].sort();
      assert.deepEqual(captures(h).view(id).devices.map((d) => d.deviceId).sort(), want);
      assert.deepEqual(docs.map((d) => d.signed.deviceId).sort(), want);
      for (const d of docs) {
        assert.deepEqual(captureIds(d), [id], d.signed.deviceId);
        assert.deepEqual(h.store.desired.latest(d.signed.deviceId), d, `${d.signed.deviceId}: its latest document is the one committed`);
      }
      const doc = (x: string) => docs.find((d) => d.signed.deviceId === x);
      assert.equal(other.signed.seq, 1);
      assert.equal(doc('d-001')?.signed.seq, 2, 'above the document issued while it was signed');
      assert.deepEqual(verified(doc('d-003')).models.map((m) => m.version), ['1.0.0'], 'with the deployment committed meanwhile');
      assert.deepEqual(deployed.docs.map((d) => captureIds(d)), [[]]);
      assert.equal(h.store.desired.latest('d-002'), undefined, 'no document for a device revoked');
      assert.deepEqual(signedLog(h, 'capture'), [{ capture: id, devices: N, signedAhead: N, reused: N - 3 }]);
    } finally {
      await h.close();
    }

    // A capture committed meanwhile takes the id the first chunk's documents named: they are signed again.
    const s = await fleet();
    try {
      const p = captures(s).createStored(REQ, 'op', audited(s));
      await firstChunkSigned(s, 'capture');
      const small = captures(s).create({ ...REQ, target: { devices: ['d-004'] }, reason: 'one box' }, 'op', audited(s));
      const { id, docs } = await p;
      assert.equal(id, small.id + 1);
      for (const d of docs) assert.deepEqual(captureIds(s.store.desired.latest(d.signed.deviceId)), d.signed.deviceId === 'd-004' ? [small.id, id] : [id], d.signed.deviceId);
      const [logged] = signedLog(s, 'capture') as Array<{ reused: number }>;
      assert.ok(logged && logged.reused <= N - SIGN_CHUNK, `the first chunk's documents signed again, got ${JSON.stringify(logged)}`);
    } finally {
      await s.close();
    }
  });

  it('stores nothing when the commit fails mid-way or the hub stops while it is signed; a deployment meanwhile is OVERLOADED', async () => {
    const h = await fleet();
    try {
      const put = h.store.desired.put.bind(h.store.desired);
      let puts = 0;
      h.store.desired.put = (d) => {
        if (++puts === N + 150) throw new Error('disk failed');
        put(d);
      };
      await assert.rejects(captures(h).createStored(REQ, 'op', audited(h)), /disk failed/);
      h.store.desired.put = put;
      nothingStored(h);

      const p = captures(h).createStored(REQ, 'op', audited(h));
      await firstChunkSigned(h, 'capture');
      await assert.rejects(h.parts.deployments.deployStored({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'to all' }, 'op'), (e: AppError) => e.code === 'OVERLOADED'
        && e.message === `a capture to more than ${SIGN_CHUNK} devices is being signed (audio-energy): try this deployment (audio-energy 1.0.0, ${N} devices) again in a few seconds`);
      const stopped = h.parts.deployments.stop();
      await assert.rejects(p, (e: AppError) => e.code === 'NOT_READY' && e.message === 'the hub is stopping: the capture was not stored; start it again once the hub is back');
      await stopped;
      nothingStored(h);
      assert.equal(rowCount(h, 'deployments'), 0);
      await assert.rejects(captures(h).createStored(REQ, 'op', audited(h)), (e: AppError) => e.code === 'NOT_READY');
    } finally {
      await h.close();
    }
  });
});
