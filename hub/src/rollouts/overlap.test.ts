// One device, one active rollout of a model (docs/rollouts.md "Cohorts"): a device that joins a rollout's
// target (re-tagged, enrolled) while another running or paused rollout of the model holds it waits until
// that one ends, and a create is refused over devices another rollout holds, also those that left its
// target since. On the rollout test environment (testing.ts: real hub.db, broker and engine).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError } from '@edgefleet/shared';
import { cleanup, notified, prepare, setup, v1Everywhere } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('overlap', () => {
  before(prepare);
  after(cleanup);

  const op = { name: 'op' };
  const base = { model: 'audio-energy', advance: 'auto', onFailure: 'rollback', gates: { minPredictions: 150 } } as const;
  const slow = [{ name: 'canary', percent: 50, minDevices: 1, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 60 }];
  const desired = (e: Awaited<ReturnType<typeof setup>>, id: string) => e.store.desired.latest(id)?.signed.models[0]?.version;

  describe('rollouts of one model over one device', () => {
    it('a device joining a rollout\'s target while another rollout of the model holds it joins once that one ended', async () => {
      const e = await setup(4);
      try {
        await v1Everywhere(e);
        const a = await e.engine.create({ ...base, version: '2.0.0', target: { all: true }, waves: slow, reason: 'v2' }, op);
        // A rollout over a target reaching nobody yet is taken (devices may join it).
        const b = await e.engine.create({ ...base, version: '3.0.0', target: { tags: { site: 'north' } }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], reason: 'v3 north' }, op);
        const moved = notified(e, a.id)[0]!;
        e.store.devices.setTags(moved, { ring: 'a', site: 'north' });
        await e.engine.tick();
        assert.deepEqual(e.store.rollouts.devices(b.id).map((d) => d.deviceId), [], `${moved} is rollout ${a.id}'s: not taken by ${b.id}`);
        assert.equal(desired(e, moved), '2.0.0', 'it keeps what the first rollout told it');
        await e.engine.act(a.id, 'abort', 'enough', op);
        await e.engine.tick();
        assert.deepEqual(notified(e, b.id), [moved], 'the first rollout ended: the device joins the second and is told');
        assert.equal(desired(e, moved), '3.0.0');
      } finally {
        await e.close();
      }
    });

    it('a create over a device another rollout holds is refused, also when the device left that rollout\'s target', async () => {
      const e = await setup(4);
      try {
        await v1Everywhere(e);
        const a = await e.engine.create({ ...base, version: '2.0.0', target: { tags: { ring: 'a' } }, waves: slow, reason: 'v2' }, op);
        const held = notified(e, a.id)[0]!;
        e.store.devices.setTags(held, { ring: 'b' });
        await assert.rejects(e.engine.create({ ...base, version: '3.0.0', target: { tags: { ring: 'b' } }, waves: slow, reason: 'v3 ring b' }, op), (err: AppError) => {
          assert.equal(err.code, 'CONFLICT');
          assert.equal(err.message, `rollout ${a.id} (audio-energy 2.0.0, running) is active over the same devices (${held}): abort it or wait for it to finish`);
          return true;
        });
        assert.equal(e.store.rollouts.active('audio-energy').length, 1);
      } finally {
        await e.close();
      }
    });

    it('a deploy of the model to a device an active rollout holds is refused; other devices and other models are not', async () => {
      const e = await setup(4);
      try {
        await v1Everywhere(e);
        e.store.devices.setTags('d-003', { ring: 'b' });
        const a = await e.engine.create({ ...base, version: '2.0.0', target: { tags: { ring: 'a' } }, waves: slow, reason: 'v2' }, op);
        const held = e.store.rollouts.devices(a.id).map((d) => d.deviceId);
        const before = e.store.deployments.list().deployments.length;
        await assert.rejects(e.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { devices: [held[0]!] }, reason: 'hotfix' }, 'op'), (err: AppError) => {
          assert.equal(err.code, 'CONFLICT');
          assert.equal(err.message, `rollout ${a.id} (audio-energy 2.0.0, running) is active over devices of this deployment (${held[0]}): `
            + 'a device is one rollout\'s at a time; abort the rollout or wait for it to finish, or leave those devices out of the target');
          return true;
        });
        assert.equal(e.store.deployments.list().deployments.length, before, 'nothing stored');
        assert.deepEqual([...held].sort(), ['d-000', 'd-001', 'd-002'], 'the rollout holds ring a only');
        await e.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { devices: ['d-003'] }, reason: 'the one outside' }, 'op');
        assert.equal(desired(e, 'd-003'), '3.0.0', 'a device no rollout holds is deployed to');
        await e.engine.act(a.id, 'abort', 'enough', op);
        await e.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { devices: [held[0]!] }, reason: 'hotfix' }, 'op');
        assert.equal(desired(e, held[0]!), '3.0.0', 'the rollout ended: the deploy goes through');
      } finally {
        await e.close();
      }
    });
  });
});
