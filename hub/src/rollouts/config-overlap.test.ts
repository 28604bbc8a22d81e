// One device, one active configuration rollout (docs/rollouts.md "Configuration rollouts", decision 0088,
// the configuration side of 0076): the documents of every scope layer into one configuration per device,
// so a device placed in two configuration rollouts of different scopes would be told by both, each judging
// (and rolling back over) what the other changed. A joiner waits, a create over a held device and a plain
// document of another scope reaching one are refused. On the rollout test environment (testing.ts: real
// hub.db, broker and engine).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError, Wave } from '@edgefleet/shared';
import { complete, minute } from './config-testing.js';
import { cleanup, notified, prepare, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('config-overlap', () => {
  before(prepare);
  after(cleanup);

  const op = { name: 'op' };
  const ALL = [{ name: 'all', percent: 100, bakeSec: 3600 }];
  const base = { waves: ALL, gates: { minPredictions: 150 }, advance: 'auto', onFailure: 'rollback', reason: 'try it' } as const;
  /** The scopes and versions a device's newest desired document layers. */
  const sources = (e: Env, id: string) => e.store.desired.latest(id)?.signed.agentConfig?.sources;

  async function twoScopes(e: Env, waves: readonly Wave[] = ALL) {
    await v1Everywhere(e);
    for (const id of ['d-000', 'd-001', 'd-002']) e.store.devices.setTags(id, { site: 'north' });
    e.store.devices.setTags('d-003', { hw: 'v2' });
    const a = await e.engine.createConfig({ ...base, waves: [...waves], scope: 'tag/site=north', settings: { 'summaries.windowSec': 30 } }, op);
    e.clock.advance(1000); // a is the older (rollouts are compared oldest first)
    const b = await e.engine.createConfig({ ...base, scope: 'tag/hw=v2', settings: { 'summaries.windowSec': 120 } }, op);
    return { a, b };
  }

  describe('configuration rollouts over one device', () => {
    it('a device re-tagged into a second rollout\'s scope while another configuration rollout holds it joins once that one ended', async () => {
      const e = await setup(4);
      try {
        const { a, b } = await twoScopes(e);
        assert.deepEqual(notified(e, b.id), ['d-003']);
        e.store.devices.setTags('d-003', { hw: 'v2', site: 'north' });
        await e.engine.tick();
        assert.deepEqual(e.store.rollouts.devices(a.id).map((d) => d.deviceId).sort(), ['d-000', 'd-001', 'd-002'], `d-003 is rollout ${b.id}'s: not taken by ${a.id}`);
        await e.parts.deployments.issueDesiredMany(['d-003']);
        assert.deepEqual(sources(e, 'd-003'), [{ scope: 'tag/hw=v2', version: 1 }], 'held at site=north\'s previous document (none) while it waits');
        await e.engine.act(b.id, 'abort', 'enough', op);
        await e.engine.tick();
        assert.deepEqual(notified(e, a.id).sort(), ['d-000', 'd-001', 'd-002', 'd-003'], 'the first rollout ended: the device joins the second and is told');
        assert.deepEqual(sources(e, 'd-003'), [{ scope: 'tag/hw=v2', version: 2 }, { scope: 'tag/site=north', version: 1 }]);
      } finally {
        await e.close();
      }
    });

    it('a create over a device another configuration rollout holds is refused, also when the device left that rollout\'s scope', async () => {
      const e = await setup(4);
      try {
        const { b } = await twoScopes(e);
        e.store.devices.setTags('d-003', { site: 'south' });
        await assert.rejects(e.engine.createConfig({ ...base, scope: 'tag/site=south', settings: { 'log.level': 'warn' } }, op), (err: AppError) => {
          assert.equal(err.code, 'CONFLICT');
          assert.equal(err.message, `configuration rollout ${b.id} (config tag/hw=v2 v0 -> v1, running) is active over the same devices (d-003): wait for it to finish, or roll it back first`);
          return true;
        });
        assert.equal(e.parts.config.document({ kind: 'tag', key: 'site', value: 'south' }).version, 0, 'nothing stored');
      } finally {
        await e.close();
      }
    });

    it('a plain document of another scope reaching a device a configuration rollout holds is refused; one reaching none is stored', async () => {
      const e = await setup(4);
      try {
        const { a, b } = await twoScopes(e);
        const put = (scope: Parameters<Env['parts']['config']['put']>[0]) => e.parts.config.put(scope, { 'log.level': 'debug' }, 'op', 'look closer', e.clock.now());
        assert.throws(() => put({ kind: 'device', deviceId: 'd-003' }), (err: AppError) => {
          assert.equal(err.code, 'CONFLICT');
          assert.equal(err.message, `rollout ${b.id} (config tag/hw=v2 v0 -> v1, running) is active over devices of device/d-003 (d-003): `
            + 'a device is one rollout\'s at a time; abort the rollout or wait for it to finish, or set the other devices by a scope that leaves those out');
          return true;
        });
        assert.throws(() => put({ kind: 'fleet' }), new RegExp(`rollout ${a.id} \\(config tag/site=north v0 -> v1, running\\) is active over devices of fleet \\(d-00[012], d-00[012], d-00[012]\\)`));
        assert.equal(e.parts.config.document({ kind: 'device', deviceId: 'd-003' }).version, 0, 'nothing stored');
        e.store.devices.create('d-new', 'secret', {}, null, e.clock.now());
        assert.equal(put({ kind: 'device', deviceId: 'd-new' }).version, 1, 'a device no rollout holds is set');
        await e.engine.act(b.id, 'abort', 'enough', op);
        assert.equal(put({ kind: 'device', deviceId: 'd-003' }).version, 1, 'the rollout ended: its device is set');
      } finally {
        await e.close();
      }
    });

    it('a rollout whose scope holds a device another configuration rollout holds does not complete before that device joined it', async () => {
      const e = await setup(4);
      try {
        const { a, b } = await twoScopes(e, [{ name: 'all', percent: 100, bakeSec: 60 }]);
        e.store.devices.setTags('d-003', { hw: 'v2', site: 'north' });
        for (let i = 0; i < 4; i++) await minute(e, a.id);
        assert.equal(e.store.rollouts.get(a.id).state, 'running', 'completing would send d-003 the new north document under rollout b');
        const gate = e.engine.view(a.id).waves[0]!.gates.find((g) => g.name === 'config_applied')!;
        assert.deepEqual([gate.value, gate.verdict], [1, 'pending']);
        assert.equal(gate.note, `1 of the scope wait for configuration rollout ${b.id} (d-003): the last wave passes once they joined and applied it`);
        assert.deepEqual(e.parts.config.desiredFor('d-003')?.sources, [{ scope: 'tag/hw=v2', version: 1 }], 'still held at north\'s previous document');
        await e.engine.act(b.id, 'abort', 'enough', op);
        await complete(e, a.id);
        assert.deepEqual(notified(e, a.id).sort(), ['d-000', 'd-001', 'd-002', 'd-003'], 'd-003 joined and was judged before the rollout completed');
      } finally {
        await e.close();
      }
    });
  });
});
