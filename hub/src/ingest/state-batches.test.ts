// Reported states and the guard's sorting in the ingest's batches (docs/decisions/0091-event-ingest-batches.md):
// the states and events of a tick are stored in one transaction, nothing in the read that brings them; the
// listeners' writes (deployment status) in one more after it, their changes told to the live stream once
// that committed; a device's windows right after its state are sorted once the state is stored, so a
// version the state first reports is accepted. Real hub.db, real aedes on 127.0.0.1:0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLatency, EVENTS_SCHEMA, ReportedState, STATE_SCHEMA, TELEMETRY_SCHEMA, type DeviceEvent, type SeqWindow } from '@edgefleet/shared';
import { registerVersion } from '../rollups/testing.js';
import { startVibIngestHub, type IngestHub } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('state-batches', () => {
  const DEVICES = ['d1', 'd2', 'd3'];

  let hub: IngestHub;
  before(async () => {
    hub = await startVibIngestHub('ef-ingest-states-', DEVICES);
  });
  after(() => hub.stop());

  const now = () => hub.h.clock.now().toISOString();
  const state = (deviceId: string, installed: string[]) => ReportedState.parse({
    schema: STATE_SCHEMA, deviceId, at: now(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1,
    models: [{ name: 'vib', active: '1.0.0', installed, status: 'active' }],
  });
  const activated = (seq: number): DeviceEvent => ({ seq, at: now(), kind: 'activated', model: 'vib', version: '1.0.0', message: 'vib 1.0.0 active' });

  it('the states and events of a tick: stored in one transaction, the listeners in one more, the live stream told after it', async () => {
    const { db, devices, deployments } = hub.h.store;
    // Outermost transactions begun through the store's connection (nested ones are savepoints).
    let outer = 0;
    const transaction = db.transaction.bind(db);
    db.transaction = ((fn: (...a: unknown[]) => unknown) => {
      const tx = transaction(fn);
      return (...a: unknown[]) => (db.inTransaction ? tx(...a) : (outer++, tx(...a)));
    }) as typeof db.transaction;
    const inTx: string[] = [];
    const setReported = devices.setReported.bind(devices);
    devices.setReported = (...a) => (inTx.push(`state ${String(db.inTransaction)}`), setReported(...a));
    const setStatus = deployments.setStatus.bind(deployments);
    deployments.setStatus = (...a) => (inTx.push(`status ${String(db.inTransaction)}`), setStatus(...a));
    const told: string[] = [];
    const off = deployments.onStatus((c) => told.push(`${c.deviceId}:${c.status}:${String(db.inTransaction)}`));
    try {
      const done = Promise.all(DEVICES.flatMap((id) => [
        hub.parts.ingest.handleState(id, state(id, ['1.0.0'])),
        hub.parts.ingest.handleEvents(id, { schema: EVENTS_SCHEMA, deviceId: id, events: [activated(1)] }),
      ]));
      assert.deepEqual(DEVICES.map((id) => devices.get(id).reported), [null, null, null], 'nothing is written in the read that brings them');
      await done;
      assert.equal(outer, 2, 'one transaction for the states and events, one for their listeners');
      assert.deepEqual([...new Set(inTx)], ['state true', 'status true'], 'each state and each status write inside one');
      assert.equal(inTx.filter((x) => x.startsWith('state')).length, 3);
      assert.deepEqual(told, DEVICES.map((id) => `${id}:active:false`), 'each change told once, after the commit');
      assert.deepEqual(DEVICES.map((id) => devices.get(id).reported?.agentVersion), ['0.1.0', '0.1.0', '0.1.0']);
    } finally {
      off();
      db.transaction = transaction;
      devices.setReported = setReported;
      deployments.setStatus = setStatus;
    }
  });

  it('windows right after their device\'s state, in one tick: sorted once the state is stored, so a version it first reports is accepted', async () => {
    registerVersion(hub.h.store.db, 'vib', '2.0.0', {}); // in the registry, not deployed: the device may report it once it says it holds it
    const latency = emptyLatency();
    latency.counts[40] = 4;
    const w = (seq: number): SeqWindow => ({ seq, model: 'vib', version: '2.0.0', start: now(), lengthSec: 60, count: 4, errors: {}, latency: { ...latency, sumMs: 4 }, features: [], outputs: [], inputs: [] });
    const before = hub.h.store.telemetry.countFor('d2').windows;
    await Promise.all([
      hub.parts.ingest.handleState('d2', state('d2', ['1.0.0', '2.0.0'])),
      hub.parts.ingest.handleTelemetry('d2', { schema: TELEMETRY_SCHEMA, deviceId: 'd2', windows: [w(10)] }),
    ]);
    assert.equal(hub.h.store.telemetry.countFor('d2').windows, before + 1, 'the window of 2.0.0 is stored');
    assert.equal(hub.parts.ingest.guard.refusals('d2'), undefined, 'nothing refused');
  });
});
