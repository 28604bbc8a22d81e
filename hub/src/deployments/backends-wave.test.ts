// A rollout wave's told device whose backend changed to one the version is known not to load on
// (docs/decisions/0129-model-backends-checked.md, addendum): the hub holds the version back from it (its row
// `refused` BACKEND_UNSUPPORTED) and the wave leaves it out of install_success, naming it, instead of failing by it.
// The rollout test environment (real store, real embedded broker on 127.0.0.1:0, manual clock).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STATE_SCHEMA } from '@edgefleet/shared';
import { GATES, cleanup, notified, others, prepare, report, setup, v1Everywhere } from '../rollouts/testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('backends-wave', () => {
  before(prepare);
  after(cleanup);

  describe('a rollout wave and a box held back for its backend', () => {
    it('leaves the held box out of install_success (named on its note); the wave passes on the others', async () => {
      const e = await setup(8);
      try {
        await v1Everywhere(e);
        // 3.0.0 as a push that found it refused on wasm stores it (the check itself: backends.test.ts).
        e.store.db.prepare("UPDATE model_versions SET backends = ? WHERE name = 'audio-energy' AND version = '3.0.0'")
          .run(JSON.stringify({ loads: ['native'], refused: { wasm: '[ShapeInferenceError] merging shape' } }));
        const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: [{ name: 'canary', percent: 30, minDevices: 3, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }], gates: GATES, advance: 'manual', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
        const [box, ...rest] = notified(e, r.id);
        assert.ok(box && rest.length >= 2);
        // The told box restarts on the wasm backend: its state says so, the hub re-issues its document without 3.0.0.
        await e.parts.ingest.handleState(box, { schema: STATE_SCHEMA, deviceId: box, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [], capabilities: ['backend-wasm'] });
        assert.deepEqual(e.store.desired.latest(box)?.signed.models.map((m) => m.version), [], 'not sent 3.0.0 (the box keeps 1.0.0)');
        const row = e.store.deployments.get(e.store.rollouts.get(r.id).deploymentId!).devices.find((d) => d.deviceId === box);
        assert.equal(row?.status, 'refused');
        assert.match(row?.reason ?? '', /^BACKEND_UNSUPPORTED: the box runs the wasm backend/);
        e.clock.advance(61_000);
        report(e, rest, '3.0.0');
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
        const v = e.engine.view(r.id);
        const gate = v.waves[0]?.gates.find((g) => g.name === 'install_success');
        assert.equal(gate?.verdict, 'pass', JSON.stringify(gate));
        assert.match(gate?.note ?? '', new RegExp(`1 held back, left out: their backend cannot load the version \\(BACKEND_UNSUPPORTED\\): ${box}`));
        assert.equal(v.waves[0]?.notInstalled, undefined);
        assert.notEqual(v.state, 'rolled_back');
      } finally {
        await e.close();
      }
    });
  });
});
