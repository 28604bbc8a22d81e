// Rollouts of a version the hub's trust no longer accepts (a release key rotated out): create, preview and
// POST /rollouts are refused (VERSION_NOT_TRUSTED); a rollout already running when trust rotates pauses
// at its next wave start with that reason instead of telling devices that would refuse the bundle, and a
// shadow stage does the same (decision 0065); so does one whose version was deprecated since (decision 0153).
// Real Store, real bundles, the embedded broker (testing.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutCreate } from '@edgefleet/shared';
import { GATES, WAVES, actOverRest, actions, appOf, bake, cleanup, notified, prepare, rotatedTrust, running, setup, v1Everywhere, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('trust-rotation', () => {
  before(prepare);
  after(cleanup);

  const req = (over: Partial<RolloutCreate> = {}) => ({
    model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2', ...over,
  }) as RolloutCreate;
  const untrusted = (err: { code?: string; message?: string }) => err.code === 'VERSION_NOT_TRUSTED' && /^audio-energy@2\.0\.0 is signed by release key\(s\) /.test(err.message ?? '');

  describe('rollouts and trust rotation', () => {
    it('create, preview and POST /rollouts of a version no current release key signed are refused; nothing is stored', async () => {
      const e = await setup(6);
      try {
        await v1Everywhere(e);
        e.trust = rotatedTrust();
        await assert.rejects(e.engine.create(req(), { name: 'op' }), untrusted);
        await assert.rejects(e.engine.preview(req(), { name: 'op' }), untrusted);
        const token = e.store.tokens.create('op', 'operator', 'test', e.clock.now()).token;
        const res = await appOf(e).request('/api/v1/rollouts', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(req()) });
        assert.equal(res.status, 422);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'VERSION_NOT_TRUSTED');
        assert.deepEqual(e.store.rollouts.list().rollouts, []);
        assert.equal(running(e, '2.0.0'), 0);
      } finally {
        await e.close();
      }
    });

    it('a running rollout pauses at its next wave start when trust rotates, telling no more devices; resume checks again', async () => {
      const e = await setup(20);
      const v1 = e.trust;
      try {
        await v1Everywhere(e);
        const r = await e.engine.create(req(), { name: 'op' });
        const canary = notified(e, r.id);
        assert.ok(canary.length >= 2 && canary.length < 20, `canary of ${canary.length}`);
        e.trust = rotatedTrust(); // the hub restarted with trust version 2
        await bake(e, r.id, canary);
        const paused = e.store.rollouts.get(r.id);
        assert.equal(paused.progress[0]?.state, 'passed', 'the canary, told before the rotation, is judged as before');
        await e.engine.tick();
        const p = e.engine.view(r.id);
        assert.equal(p.state, 'paused');
        assert.match(p.stateReason ?? '', /^VERSION_NOT_TRUSTED: audio-energy@2\.0\.0 is signed by release key\(s\) .*every device would refuse the bundle/);
        assert.equal(p.waves[1]?.state, 'pending', 'the next wave did not start');
        assert.deepEqual(notified(e, r.id).sort(), [...canary].sort(), 'no device told after the rotation');
        assert.equal(running(e, '2.0.0'), canary.length);
        const entry = e.store.audit.query({}).find((a) => a.target === r.id && a.action === 'rollout.paused');
        assert.equal((entry?.details as { code?: string }).code, 'VERSION_NOT_TRUSTED');
        // Resumed under the same trust it pauses again; with a trust that accepts the version it goes on.
        assert.equal((await actOverRest(e, r.id, 'resume', 'try again')).body.state, 'paused');
        e.trust = v1;
        assert.equal((await actOverRest(e, r.id, 'resume', 'key back in trust')).body.state, 'running');
        assert.equal(notified(e, r.id).length, 20);
        assert.deepEqual(actions(e, r.id).filter((a) => a === 'rollout.paused' || a === 'rollout.resumed'), ['rollout.paused', 'rollout.resumed', 'rollout.paused', 'rollout.resumed']);
      } finally {
        await e.close();
      }
    });

    it('a shadow stage pauses before more of its devices are told to run the version in shadow', async () => {
      // About one document per step: the first step tells one device, the others are due after the rotation.
      const e = await setup(6, { desiredPerMinute: 0.01 });
      try {
        await v1Everywhere(e);
        const shadow = { sampleRate: 0.2, bakeSec: 60, minAgreement: 0.9, minSamples: 50, tolerance: 0.01, threshold: 0.5 };
        const r = await e.engine.create(req({ shadow } as Partial<RolloutCreate>), { name: 'op' });
        const told = notified(e, r.id);
        assert.equal(e.engine.view(r.id).waves[0]?.shadow !== undefined, true, 'the first wave is the shadow stage');
        assert.ok(told.length >= 1 && told.length < 6, `told ${told.length}`);
        e.trust = rotatedTrust();
        e.clock.advance(3_600_000);
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'paused');
        assert.match(v.stateReason ?? '', /^VERSION_NOT_TRUSTED: /);
        assert.deepEqual(notified(e, r.id), told, 'no device told after the rotation');
        assert.equal(e.store.shadows.byRollout(r.id).length, told.length);
      } finally {
        await e.close();
      }
    });
  });

  /** `POST /models/audio-energy/versions/V/deprecate` through the REST app as an operator. */
  async function deprecate(e: Env, version: string, reason: string): Promise<void> {
    const token = e.store.tokens.create(`dep-${version}`, 'operator', 'test', e.clock.now()).token;
    const res = await appOf(e).request(`/api/v1/models/audio-energy/versions/${version}/deprecate`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason }) });
    assert.equal(res.status, 200, await res.text());
  }

  // A version deprecated while its rollout runs is no longer sent to more devices: the rollout pauses at the
  // next step that would tell one, saying so (decision 0153). Before, later waves told every device the
  // deprecated version (its deployment was checked only at its first batch), and a shadow stage failed every
  // step with a logged CONFLICT, running for ever.
  describe('rollouts of a version deprecated while they run', () => {
    let e: Env;
    before(async () => { e = await setup(20); await v1Everywhere(e); });
    after(() => e.close());
    const deprecatedReason = /^VERSION_DEPRECATED: audio-energy (2|3)\.0\.0 is deprecated \(canary looked wrong\) and cannot be assigned: no more devices are told; the \d+ device\(s\) told so far keep it \(rollback sends them back, abort leaves it on them; resume checks again\)$/;

    it('pauses before the next wave instead of telling every device; resume checks again, abort ends it', async () => {
      const r = await e.engine.create(req(), { name: 'op' });
      const canary = notified(e, r.id);
      assert.ok(canary.length >= 2 && canary.length < 20, `canary of ${canary.length}`);
      await deprecate(e, '2.0.0', 'canary looked wrong');
      await bake(e, r.id, canary);
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'passed', 'the canary, told before, is judged as before');
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused');
      assert.match(v.stateReason ?? '', deprecatedReason);
      assert.equal(v.stateBy, 'hub');
      assert.equal(v.waves[1]?.state, 'pending', 'the next wave did not start');
      assert.deepEqual(notified(e, r.id).sort(), [...canary].sort(), 'no device told after the deprecation');
      assert.equal(running(e, '2.0.0'), canary.length);
      const entry = e.store.audit.query({}).find((a) => a.target === r.id && a.action === 'rollout.paused');
      assert.deepEqual(entry?.details, { model: 'audio-energy', version: '2.0.0', wave: 'all', code: 'VERSION_DEPRECATED', deprecatedReason: 'canary looked wrong' });
      const resumed = await actOverRest(e, r.id, 'resume', 'try again');
      assert.equal(resumed.body.state, 'paused', 'still deprecated: paused again');
      assert.equal(notified(e, r.id).length, canary.length);
      assert.equal((await actOverRest(e, r.id, 'abort', 'deprecated')).body.state, 'aborted');
      assert.deepEqual(actions(e, r.id).filter((a) => a.startsWith('rollout.') && !a.startsWith('rollout.wave')), ['rollout.create', 'rollout.paused', 'rollout.resumed', 'rollout.paused', 'rollout.aborted']);
    });

    it('a shadow stage pauses instead of failing every step when a device joins it after the deprecation', async () => {
      const shadow = { sampleRate: 0.2, bakeSec: 60, minAgreement: 0.9, minSamples: 50, tolerance: 0.01, threshold: 0.5 };
      const r = await e.engine.create(req({ version: '3.0.0', waves: [{ name: 'all', percent: 100, bakeSec: 60 }], shadow } as Partial<RolloutCreate>), { name: 'op' });
      assert.equal(e.store.shadows.byRollout(r.id).length, 20, 'every device runs 3.0.0 in shadow');
      await deprecate(e, '3.0.0', 'canary looked wrong');
      e.store.devices.create('late-1', 's', { ring: 'a' }, null, e.clock.now());
      await e.engine.tick(); // threw CONFLICT (logged, the rollout left running) before
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused');
      assert.match(v.stateReason ?? '', deprecatedReason);
      assert.equal(e.store.shadows.byRollout(r.id).length, 20, 'the joining device was not told');
      assert.equal((await actOverRest(e, r.id, 'rollback', 'deprecated')).body.state, 'rolled_back');
      assert.equal(e.store.shadows.byRollout(r.id).length, 0, 'the rollback ended the shadow stage');
    });
  });
});
