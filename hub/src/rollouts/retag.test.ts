// Re-tagging a device out of the tags an active rollout targets (retag.ts, docs/rollouts.md "Cohorts"),
// through the tags route and `edgefleet devices tag`, on the rollout test environment (real hub.db,
// broker and engine, the REST app on 127.0.0.1:0): a device the rollout told is refused (409 CONFLICT
// naming the rollout, nothing stored), one it has not told leaves it cleanly (never told, free for another
// rollout, and said in the rollout's audit trail), for a configuration rollout of a tag scope and a model rollout over tags alike.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, notified, others, prepare, report, setup, v1Everywhere, appOf, type Env } from './testing.js';
import { minute } from './config-testing.js';
import { cliOver } from '../testing/cli.js';
import { tellDevices } from './tell.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('retag', () => {
  before(prepare);
  after(cleanup);

  const op = { name: 'op' };
  /** A canary of 40 % (3 of d-000…d-005 under this id: places are drawn from it), then the rest. */
  const WAVES = [{ name: 'canary', percent: 40, minDevices: 1, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
  const base = { id: 'ro-00000000ab', waves: WAVES, gates: { minPredictions: 150 }, advance: 'auto', onFailure: 'rollback', reason: 'try it' } as const;
  const NORTH = ['d-000', 'd-001', 'd-002', 'd-003', 'd-004', 'd-005'];

  /** `PUT /api/v1/devices/{id}/tags` as an admin: the status and the body. */
  async function retag(e: Env, id: string, tags: Record<string, string>) {
    const token = e.store.tokens.create(`admin-${id}-${e.clock.now().getTime()}`, 'admin', 'test', e.clock.now()).token;
    const res = await appOf(e).request(`/api/v1/devices/${id}/tags`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags, reason: 'moved' }) });
    return { status: res.status, body: (await res.json()) as { tags?: Record<string, string>; error?: { code: string; message: string; details?: { rollout?: string } } } };
  }

  async function north(e: Env) {
    await v1Everywhere(e);
    for (const id of NORTH) e.store.devices.setTags(id, { site: 'north' });
  }

  const placed = (e: Env, id: string) => e.store.rollouts.devices(id).map((d) => d.deviceId);
  const sentSettings = (e: Env, id: string) => e.store.desired.latest(id)?.signed.agentConfig?.settings;
  const sentVersion = (e: Env, id: string) => e.store.desired.latest(id)?.signed.models.find((m) => m.name === 'audio-energy')?.version;

  describe('re-tagging a device out of a rollout\'s tags', () => {
    it('configuration rollout of tag/site=north: a told device is refused naming the rollout; one not told leaves it and is never told', async () => {
      const e = await setup(8);
      try {
        await north(e);
        const r = await e.engine.createConfig({ ...base, scope: 'tag/site=north', settings: { 'summaries.windowSec': 30 } }, op);
        const [told] = notified(e, r.id) as [string];
        const [waiting] = others(e, r.id) as [string];
        const refused = await retag(e, told, { site: 'south' });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error?.code, 'CONFLICT');
        assert.equal(refused.body.error?.message, `rollout ro-00000000ab (config tag/site=north v0 -> v1, running) told ${told} already and its target is tags site=north: `
          + `re-tagging it out of them would leave it on what the rollout sent it, outside the rollout; wait for the rollout to finish (edgefleet rollout show ro-00000000ab), or roll it back or abort it first`);
        assert.equal(refused.body.error?.details?.rollout, r.id);
        assert.deepEqual(e.store.devices.get(told).tags, { site: 'north' }, 'nothing stored');
        assert.deepEqual(sentSettings(e, told), { 'summaries.windowSec': 30 });
        // Not told yet: it leaves the rollout (nothing the rollout sent is on it) and takes its new tags.
        const moved = await retag(e, waiting, { site: 'south' });
        assert.equal(moved.status, 200, JSON.stringify(moved.body));
        assert.deepEqual(moved.body.tags, { site: 'south' });
        assert.ok(!placed(e, r.id).includes(waiting), 'it left the rollout');
        const audit = e.store.audit.query({ action: 'device.tags' }).find((a) => a.target === waiting);
        assert.deepEqual((audit?.details as { leftRollouts?: string[] }).leftRollouts, [r.id]);
        // The rollout's own trail (GET /audit?target=ROLLOUT, the console's rollout page) says it left, in the same transaction; the refused re-tag wrote none.
        const trail = e.store.audit.query({ target: r.id, action: 'rollout.device_left' });
        assert.deepEqual(trail.map((a) => [a.actor, a.at, a.reason, a.details]), [[audit?.actor, audit?.at,
          `${waiting} re-tagged out of the target (tags site=north) before it was told: left it, now tags site=south (moved)`, { device: waiting, before: { site: 'north' }, after: { site: 'south' } }]]);
        for (let i = 0; i < 4 && e.store.rollouts.get(r.id).state === 'running'; i++) await minute(e, r.id);
        assert.equal(e.store.rollouts.get(r.id).state, 'completed');
        assert.ok(!notified(e, r.id).includes(waiting), 'never told');
        assert.deepEqual(sentSettings(e, waiting), {}, 'no document of tag/site=north reaches it');
        // Free for a rollout of its new scope at once.
        const south = await e.engine.createConfig({ ...base, id: 'ro-00000000ac', scope: 'tag/site=south', settings: { 'log.level': 'warn' } }, op);
        assert.deepEqual(placed(e, south.id), [waiting]);
      } finally {
        await e.close();
      }
    });

    it('model rollout over tags site=north: the same, through edgefleet devices tag', async () => {
      const e = await setup(8);
      try {
        await north(e);
        const r = await e.engine.create({ ...base, model: 'audio-energy', version: '2.0.0', target: { tags: { site: 'north' } } }, op);
        const [told] = notified(e, r.id) as [string];
        const [waiting] = others(e, r.id) as [string];
        const cli = await cliOver(appOf(e), e.store.tokens.create('admin', 'admin', 'test', e.clock.now()).token, e.dir);
        try {
          const no = await cli.run('devices', 'tag', told, '--tag', 'site=south', '--reason', 'moved');
          assert.equal(no.code, 1, no.err);
          assert.equal(no.err.trim(), `error [CONFLICT]: hub: rollout ro-00000000ab (audio-energy 2.0.0, running) told ${told} already and its target is tags site=north: `
            + `re-tagging it out of them would leave it on what the rollout sent it, outside the rollout; wait for the rollout to finish (edgefleet rollout show ro-00000000ab), or roll it back or abort it first`);
          assert.deepEqual(e.store.devices.get(told).tags, { site: 'north' });
          const yes = await cli.run('devices', 'tag', waiting, '--tag', 'site=south', '--reason', 'moved');
          assert.equal(yes.code, 0, yes.err);
          assert.equal(yes.out, `${waiting}: site=south\n`);
          // Re-tagging a told device in a way that keeps it in the target is taken.
          assert.equal((await cli.run('devices', 'tag', told, '--tag', 'site=north', '--tag', 'rack=3', '--reason', 'racked')).code, 0);
        } finally {
          cli.close();
        }
        assert.ok(!placed(e, r.id).includes(waiting));
        assert.deepEqual(e.store.audit.query({ target: r.id, action: 'rollout.device_left' }).map((a) => a.details), [{ device: waiting, before: { site: 'north' }, after: { site: 'south' } }], 'one entry: the re-tag that kept it in the target left none');
        // A step that chose it before the re-tag and tells after it sends it nothing.
        await tellDevices({ store: e.store, deployments: e.parts.deployments }, e.store.rollouts.get(r.id), 1, [{ deviceId: waiting, previous: '1.0.0' }], e.clock.now());
        assert.equal(sentVersion(e, waiting), '1.0.0');
        for (let i = 0; i < 4 && e.store.rollouts.get(r.id).state === 'running'; i++) {
          e.clock.advance(61_000);
          report(e, notified(e, r.id), '2.0.0');
          report(e, others(e, r.id), '1.0.0');
          await e.engine.tick();
        }
        assert.equal(e.store.rollouts.get(r.id).state, 'completed', JSON.stringify(e.engine.view(r.id).waves.map((w) => w.gates)));
        assert.equal(sentVersion(e, waiting), '1.0.0', 'never told: it keeps the version it ran');
      } finally {
        await e.close();
      }
    });
  });
});
