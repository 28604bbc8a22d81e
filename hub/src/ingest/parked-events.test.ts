// Events of a version the registry does not hold are parked with its windows and stored in the device's
// history, in seq order, when the version is pushed, without being acted on (docs/decisions/
// 0103-parked-events-and-held-seqs.md): an `activated` of days ago does not make a later deployment of the
// version `active` on the box, nor an `error` fail it; its status follows the box's reported state.
// Before, such events were refused as unassigned_version (acked, dropped), so the history lacked them. An
// event implausible besides its version is refused as before. A real Store, the embedded aedes broker on
// 127.0.0.1:0 and mqtt.js devices (parked-testing.ts); hub.db and PostgreSQL (testing/backends.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent } from '@edgefleet/shared';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { MODEL, hubWithout2, push, win } from './parked-testing.js';

const event = (seq: number, kind: DeviceEvent['kind'], version: string, at = '2026-03-01T11:00:00.000Z'): DeviceEvent =>
  ({ seq, at, kind, model: MODEL, version, message: `${MODEL} ${version} ${kind}`, ...(kind === 'error' ? { code: 'INFER_FAILED' } : {}) });

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('events of a version the registry does not hold', () => {
    const t = hubWithout2(['box'], { database: () => backend.database() });
    const history = () => (t.hub.h.store.db.prepare("SELECT seq, kind, version FROM device_events WHERE device_id = 'box' ORDER BY seq").all() as Array<{ seq: number; kind: string; version: string }>)
      .map((e) => `${e.seq} ${e.kind} ${e.version}`);
    const status = (version: string) => (t.hub.h.store.db.prepare(
      "SELECT dd.status FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id WHERE dd.device_id = 'box' AND d.version = ?",
    ).get(version) as { status: string } | undefined)?.status;

    it('are parked, then stored in the history in seq order once the version is pushed, not acted on', async () => {
      const { hub } = t;
      const ingest = hub.parts.ingest;
      await hub.sendEvents('box', [event(1, 'download_started', '2.0.0'), event(2, 'activated', '2.0.0')]);
      await hub.send('box', [win(3, '2.0.0')]);
      await hub.sendEvents('box', [event(4, 'error', '2.0.0'), event(5, 'activated', '1.0.0')]);
      await hub.sendEvents('box', [event(2, 'activated', '2.0.0')]); // a resend after a lost ack
      // Implausible besides its version (from 2099): refused, not parked.
      await hub.sendEvents('box', [event(6, 'activated', '2.0.0', '2099-01-01T00:00:00.000Z')]);
      assert.deepEqual(history(), ['5 activated 1.0.0'], 'an event of a version the registry holds is stored at once');
      assert.equal(status('1.0.0'), 'active', 'and acted on');
      const parked = ingest.parked.status('box');
      assert.deepEqual(parked && parked.versions.map((v) => `${v.version} ${v.windows}`), ['2.0.0 4'], 'three events and a window');
      assert.deepEqual([ingest.guard.refusals('box')?.events, ingest.guard.refusals('box')?.last?.seq], [{ unassigned_version: 1 }, 6], 'refused as before');

      await push(t);
      await hub.parts.deployments.deploy({ model: MODEL, version: '2.0.0', target: { devices: ['box'] }, reason: 'pushed again' }, 'op');
      const before = status('2.0.0');
      assert.equal(await ingest.parked.sweep(), 4);
      assert.deepEqual(history(), ['1 download_started 2.0.0', '2 activated 2.0.0', '4 error 2.0.0', '5 activated 1.0.0']);
      assert.equal(status('2.0.0'), before, 'the parked activated and error do not move the new deployment');
      assert.equal(ingest.parked.status('box'), undefined);
      await hub.sendEvents('box', [event(4, 'error', '2.0.0')]);
      assert.equal(await ingest.parked.sweep(), 0, 'stored once');
      assert.equal(history().length, 4);
    });
  });
});
