// Device events through the ingest as devices send them at fleet scale (docs/decisions/0091-event-ingest-batches.md):
// the events messages of a tick are stored in one transaction with their last-seen writes, not one
// each; a burst of more than MAX_BATCH is written a batch a turn of the event loop, so whatever else
// waits (an HTTP request) runs between batches; the listeners (deployment status) see each message once,
// in order per device, after it is stored and before its ack. Real hub.db, real aedes on 127.0.0.1:0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS_SCHEMA, type DeviceEvent } from '@edgefleet/shared';
import { MAX_BATCH } from './window-writer.js';
import { startVibIngestHub, type IngestHub } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('event-batches', () => {
  const DEVICES = ['d1', 'd2', 'd3'];

  let hub: IngestHub;
  before(async () => {
    hub = await startVibIngestHub('ef-ingest-events-', DEVICES);
  });
  after(() => hub.stop());

  function event(seq: number, kind: DeviceEvent['kind']): DeviceEvent {
    return { seq, at: hub.h.clock.now().toISOString(), kind, model: 'vib', version: '1.0.0', message: `vib 1.0.0 ${kind}` };
  }

  /** Every message of `list` handed to the ingest in one tick, as the broker does with a burst. */
  function burst(list: Array<[string, DeviceEvent[]]>): Promise<unknown> {
    return Promise.all(list.map(([deviceId, events]) => hub.parts.ingest.handleEvents(deviceId, { schema: EVENTS_SCHEMA, deviceId, events })));
  }

  const stored = () => (hub.h.store.db.prepare('SELECT COUNT(*) AS n FROM device_events').get() as { n: number }).n;

  it('the events messages of a tick: one transaction, last seen written, listeners once each in order per device after the store', async () => {
    const { telemetry } = hub.h.store;
    const calls = { many: 0, one: 0 };
    const many = telemetry.putWindowsMany.bind(telemetry);
    const one = telemetry.putEvents.bind(telemetry);
    telemetry.putWindowsMany = (...a) => (calls.many++, many(...a));
    telemetry.putEvents = (...a) => (calls.one++, one(...a));
    const seen: string[] = [];
    const off = hub.parts.ingest.onEvents((id, events) => seen.push(`${id}:${events.map((e) => e.seq).join(',')}:${stored()}`));
    try {
      const done = burst(DEVICES.flatMap((id): Array<[string, DeviceEvent[]]> => [[id, [event(1, 'download_started'), event(2, 'verifying')]], [id, [event(3, 'activated')]]]));
      assert.equal(stored(), 0, 'nothing is written while the messages arrive');
      await done;
      assert.deepEqual(calls, { many: 1, one: 0 }, 'six messages of three devices: one transaction');
      assert.deepEqual(seen, ['d1:1,2:9', 'd1:3:9', 'd2:1,2:9', 'd2:3:9', 'd3:1,2:9', 'd3:3:9'], 'each message once, in order, after the commit');
      for (const id of DEVICES) assert.equal(hub.h.store.devices.get(id).lastSeen, hub.h.clock.now().toISOString());
      const dep = hub.h.store.deployments.get(hub.h.store.deployments.list().deployments[0]!.id);
      assert.deepEqual(dep.devices.map((d) => [d.deviceId, d.status]), DEVICES.map((d) => [d, 'active']), 'the deployment listener followed the events');
    } finally {
      off();
      telemetry.putWindowsMany = many;
      telemetry.putEvents = one;
    }
  });

  it('a burst of more than MAX_BATCH events: a batch a turn of the loop, what waits in between runs between batches', async () => {
    const before = stored();
    const n = 2 * MAX_BATCH + 100;
    const done = burst(Array.from({ length: n }, (_, i): [string, DeviceEvent[]] => [DEVICES[i % 3]!, [event(10 + Math.floor(i / 3), 'download_progress')]]));
    // A request's callback queued behind the burst, turn after turn: each sees one more batch written.
    const atTurns: number[] = [];
    for (let t = 0; t < 3; t++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      atTurns.push(stored() - before);
    }
    await done;
    assert.deepEqual(atTurns, [MAX_BATCH, 2 * MAX_BATCH, n]);
  });
});
