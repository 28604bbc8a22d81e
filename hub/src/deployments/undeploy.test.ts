// Undeploy and re-tag removals (docs/hub.md "Undeploy", decision 0066) end to end on the environment of
// testing.ts (real Store on each backend, the embedded aedes broker on 127.0.0.1:0, mqtt.js devices): the
// device's next document carries a `removed` entry and its row is `removing`; a report that applied that
// document and shows the model removed (or gone) makes it `removed` and later documents omit the entry,
// a stale report does not; no superseded deployment comes back; a later deployment wins over the removal.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deviceTopic, type DeploymentDeviceStatus } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { addDevice, cleanup, device, event, prepare, startHub, verified, type TestHub } from './testing.js';

let backend: Backend;
before(prepare);
after(cleanup);

type Device = Awaited<ReturnType<typeof device>>;

/** A state report, then an event message whose ack says the report before it has been handled too. */
async function report(d: Device, id: string, applied: number, models: unknown[], ackSeq: number): Promise<void> {
  const state = { schema: 'edgefleet.state/v1', deviceId: id, at: new Date().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: applied, trustVersion: 1, models, capabilities: [] };
  await d.c.publishAsync(deviceTopic(id, 'state'), JSON.stringify(state), { qos: 1 });
  const n = d.acks().length;
  await d.c.publishAsync(deviceTopic(id, 'events'), JSON.stringify({ schema: 'edgefleet.events/v1', deviceId: id, events: [event(ackSeq, 'download_started', '9.9.9')] }), { qos: 1 });
  await waitFor(`ack for ${id}`, () => d.acks().length === n + 1 || undefined);
}

const removedModel = { name: 'audio-energy', active: null, previous: null, installed: ['1.0.0'], status: 'removed', target: null };
const statusOf = (h: TestHub, dep: number, id: string): DeploymentDeviceStatus | undefined => h.store.deployments.get(dep).devices.find((x) => x.deviceId === id)?.status;

forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('undeploy', () => {
  it('the document carries the removal until a report that applied it shows the model removed; a stale report does not clear it', async () => {
    const h = await startHub({ database: backend.database() });
    try {
      addDevice(h, 'u-1');
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['u-1'] }, reason: 'x' }, 'op');
      const d = await device(h, 'u-1');
      await waitFor('document 1', () => d.desired().length === 1 || undefined);

      const live: string[] = [];
      const unlisten = h.store.deployments.onStatus((c) => live.push(`${c.deviceId} ${c.status} ${c.reason}`));
      assert.equal(h.parts.deployments.undeploy(dep.id, { reason: 'x', actor: 'op', dryRun: true }).result.devices, 1);
      const { result, docs } = h.parts.deployments.undeploy(dep.id, { reason: 'model retired', actor: 'op' });
      unlisten();
      assert.deepEqual(live, ['u-1 removing model retired'], 'the live stream hears of the removal when it is made; a dry run says nothing');
      await h.parts.deployments.publishDesired(docs);
      assert.deepEqual(result, { deploymentId: dep.id, dryRun: false, devices: 1, deviceIds: ['u-1'], superseded: 0 });
      const doc = verified(await waitFor('document 2', () => d.desired()[1]));
      assert.equal(doc.seq, 2);
      assert.deepEqual(doc.models, []);
      assert.deepEqual(doc.removed, [{ name: 'audio-energy', at: h.clock.now().toISOString(), reason: 'model retired' }]);
      assert.equal(statusOf(h, dep.id, 'u-1'), 'removing');
      assert.deepEqual(h.store.deployments.get(dep.id).undeployed, { at: h.clock.now().toISOString(), by: 'op', reason: 'model retired' });

      // A report of the document before (seq 1) with the model gone and one still serving it at seq 2 clear nothing...
      await report(d, 'u-1', 1, [], 1);
      await report(d, 'u-1', 2, [{ ...removedModel, status: 'active', active: '1.0.0' }], 2);
      assert.equal(statusOf(h, dep.id, 'u-1'), 'removing', 'a stale report, or the model still active, does not clear the removal');
      assert.deepEqual(verified(await h.parts.deployments.issueDesired('u-1')).removed?.map((r) => r.name), ['audio-energy']);
      // ...the first document that carried it (seq 2) applied with the model removed does, and the live stream hears of it.
      const changes: string[] = [];
      const off = h.store.deployments.onStatus((c) => changes.push(`${c.deploymentId} ${c.deviceId} ${c.version} ${c.status}`));
      await report(d, 'u-1', 2, [removedModel], 3);
      off();
      assert.equal(statusOf(h, dep.id, 'u-1'), 'removed');
      assert.deepEqual(changes, [`${dep.id} u-1 1.0.0 removed`]);
      assert.equal(verified(await h.parts.deployments.issueDesired('u-1')).removed, undefined, 'later documents omit the entry');
      assert.throws(() => h.parts.deployments.undeploy(dep.id, { reason: 'again', actor: 'op' }), /deployment \d+ was undeployed already/);
    } finally {
      await h.close();
    }
  });

  it('no superseded deployment comes back; a model no longer reported clears; a later deployment wins over the removal', async () => {
    const h = await startHub({ database: backend.database() });
    try {
      addDevice(h, 'u-2');
      const d1 = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['u-2'] }, reason: 'one' }, 'op');
      const d2 = await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { devices: ['u-2'] }, reason: 'two' }, 'op');
      const d = await device(h, 'u-2');
      h.parts.deployments.undeploy(d2.id, { reason: 'bad version', actor: 'op' });
      const doc = verified(h.store.desired.latest('u-2'));
      assert.deepEqual(doc.models, [], 'the older deployment (1.0.0) does not come back');
      assert.deepEqual(doc.removed?.map((r) => r.name), ['audio-energy']);
      // Undeploying the superseded one changes no document; its row is marked removed.
      const seq = h.store.desired.lastSeq('u-2');
      const r1 = h.parts.deployments.undeploy(d1.id, { reason: 'old', actor: 'op' });
      assert.deepEqual([r1.result.devices, r1.result.superseded, r1.docs.length, h.store.desired.lastSeq('u-2')], [0, 1, 0, seq]);
      assert.equal(statusOf(h, d1.id, 'u-2'), 'removed');
      // The device no longer lists the model in a report that applied the document: done.
      await report(d, 'u-2', seq, [], 1);
      assert.equal(statusOf(h, d2.id, 'u-2'), 'removed');

      const d3 = await h.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { devices: ['u-2'] }, reason: 'three' }, 'op');
      const again = verified(h.store.desired.latest('u-2'));
      assert.deepEqual(again.models.map((m) => m.version), ['3.0.0']);
      assert.equal(again.removed, undefined);
      assert.equal(statusOf(h, d3.id, 'u-2'), 'pending');
      assert.equal(h.store.deployments.effectiveFor('u-2')[0]?.deploymentId, d3.id);
    } finally {
      await h.close();
    }
  });

  it('a box that keeps its own install of the model (removal_kept_local): the row is removed with why, the entry leaves its documents', async () => {
    const h = await startHub({ database: backend.database() });
    try {
      addDevice(h, 'k-1');
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['k-1'] }, reason: 'x' }, 'op');
      const d = await device(h, 'k-1');
      h.parts.deployments.undeploy(dep.id, { reason: 'retired', actor: 'op' });
      assert.equal(statusOf(h, dep.id, 'k-1'), 'removing');
      const n = d.acks().length;
      const kept = { seq: 1, at: '2026-03-01T12:00:00.000Z', kind: 'removal_kept_local', model: 'audio-energy', message: 'installed on this box: it keeps serving' };
      await d.c.publishAsync(deviceTopic('k-1', 'events'), JSON.stringify({ schema: 'edgefleet.events/v1', deviceId: 'k-1', events: [kept] }), { qos: 1 });
      await waitFor('ack', () => d.acks().length === n + 1 || undefined);
      const row = h.store.deployments.get(dep.id).devices[0];
      assert.equal(row?.status, 'removed');
      assert.match(row?.reason ?? '', /^retired; the box keeps serving audio-energy, installed there by its operator \(removal_kept_local: installed on this box: it keeps serving\)$/);
      assert.equal(verified(await h.parts.deployments.issueDesired('k-1')).removed, undefined);
    } finally {
      await h.close();
    }
  });

  it('a re-tag out of a tag target is a removal of that deployment on the device; a re-tag back joins it again', async () => {
    const h = await startHub({ database: backend.database() });
    try {
      addDevice(h, 't-1', { site: 'north' });
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { tags: { site: 'north' } }, reason: 'north' }, 'op');
      h.store.devices.setTags('t-1', { site: 'south' });
      await h.parts.deployments.onDeviceChanged('t-1');
      const row = h.store.deployments.get(dep.id).devices[0];
      assert.equal(row?.status, 'removing');
      assert.equal(row?.reason, `re-tagged out of deployment ${dep.id} (target {"site":"north"})`);
      const doc = verified(h.store.desired.latest('t-1'));
      assert.deepEqual([doc.models, doc.removed?.map((r) => r.reason)], [[], [row?.reason]]);

      h.store.devices.setTags('t-1', { site: 'north' });
      await h.parts.deployments.onDeviceChanged('t-1');
      assert.equal(statusOf(h, dep.id, 't-1'), 'pending');
      const back = verified(h.store.desired.latest('t-1'));
      assert.deepEqual([back.models.map((m) => m.version), back.removed], [['1.0.0'], undefined]);
    } finally {
      await h.close();
    }
  });

  it('a re-tag into another tag target of the model runs that deployment\'s version, even an older deployment\'s: no removal', async () => {
    const h = await startHub({ database: backend.database() });
    try {
      addDevice(h, 'r-1', { ring: 'canary' });
      const stable = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { tags: { ring: 'stable' } }, reason: 'stable' }, 'op');
      const canary = await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { tags: { ring: 'canary' } }, reason: 'canary' }, 'op');
      assert.deepEqual(verified(h.store.desired.latest('r-1')).models.map((m) => m.version), ['2.0.0']);
      h.store.devices.setTags('r-1', { ring: 'stable' });
      await h.parts.deployments.onDeviceChanged('r-1');
      const doc = verified(h.store.desired.latest('r-1'));
      assert.deepEqual([doc.models.map((m) => m.version), doc.removed], [['1.0.0'], undefined]);
      assert.equal(statusOf(h, canary.id, 'r-1'), undefined, 'the device left the canary deployment');
      assert.equal(statusOf(h, stable.id, 'r-1'), 'pending');
    } finally {
      await h.close();
    }
  });
});
}
