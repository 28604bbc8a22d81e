// What a device's document reads of it is read for all devices of a call at once, a chunk of ids a statement
// (desired-inputs.ts, docs/decisions/0188-deployment-commit-set-based.md): the documents are the ones read device by
// device would build, past a chunk's bound, for a device named twice, and on both backends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReportedState } from '@edgefleet/shared';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { stateMsg } from '../mqtt/testing/devices.js';
import { IN_CHUNK } from '../store/in-list.js';
import { cleanup, fleetHub, fleetIds, prepare, verified } from './testing.js';

let backend: Backend;

describe('desired inputs read at once', () => {
  before(prepare);
  after(cleanup);

  forEachBackend((b) => { backend = b; }, () => {
    it(`documents for more devices than one statement's ${IN_CHUNK} ids and a device named twice are each built from that device's rows`, async () => {
      const n = IN_CHUNK + 20;
      const h = await fleetHub(n, { database: backend.database() });
      try {
        const ids = fleetIds(n);
        const last = ids[n - 1] as string;
        h.store.devices.setReported(last, ReportedState.parse(JSON.parse(stateMsg(last, 7))));
        h.store.devices.setTags('d-001', { ring: 'b' });
        const first = await h.parts.deployments.deployStored({ model: 'audio-energy', version: '1.0.0', target: { tags: { ring: 'a' } }, reason: 'ring a' }, 'op');
        assert.equal(first.docs.length, n - 1, 'd-001 left the ring');
        const docs = h.parts.deployments.storeDesired(['d-000', last, 'd-001', 'd-000']);
        const bodies = docs.map((d) => verified(d));
        assert.deepEqual(bodies.map((b) => [b.deviceId, b.seq]), [['d-000', 2], [last, 9], ['d-001', 1], ['d-000', 3]],
          'seqs above each device\'s own last and reported ones; d-000 read again at its second turn');
        assert.deepEqual(bodies.map((b) => b.models.map((m) => `${m.name}@${m.version}`)), [['audio-energy@1.0.0'], ['audio-energy@1.0.0'], [], ['audio-energy@1.0.0']]);
        assert.deepEqual(first.docs.map((d) => d.signed.deviceId), ids.filter((id) => id !== 'd-001'), 'every device past the first chunk has its document');
        assert.equal(h.store.desired.lastSeq(ids[IN_CHUNK + 5] as string), 1);
      } finally {
        await h.close();
      }
    });
  });
});
