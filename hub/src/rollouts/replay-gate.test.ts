// The replay check's stage on the hub (replay-gate.ts, decision 0045) with a real store, broker and
// engine and a manual clock: the ring's devices are sent the candidate as a shadow with `replay`; the
// replay_agreement gate waits for every ring device's report made since the stage began, then fails a
// candidate that disagrees (rolled back, no device switched) or passes one that agrees (the ring is told
// to switch); a replay check needs a ring first.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutCreate, type ReplayReport, type ReportedState } from '@edgefleet/shared';
import { cleanup, notified, prepare, setup, v1Everywhere, type Env } from './testing.js';
import { renderRollout } from '../cli/commands/remote-rollout.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('replay-gate', () => {
  before(prepare);
  after(cleanup);

  const WAVES = [{ name: 'staging', tags: { ring: 'a' }, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 60 }];
  const SHADOW = { replay: 50, sampleRate: 1, bakeSec: 0, minSamples: 20, minAgreement: 0.9, tolerance: 0.01 };

  function reportReplay(e: Env, ids: readonly string[], rep: Partial<ReplayReport>): void {
    for (const id of ids) {
      const replay: ReplayReport = { version: '2.0.0', against: ['1.0.0'], samples: 10, agree: 10, errors: 0, maxAbsDiff: 0, done: true, at: e.clock.now().toISOString(), ...rep };
      const state = {
        schema: 'edgefleet.state/v1', deviceId: id, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1, capabilities: [],
        models: [{ name: 'audio-energy', active: '1.0.0', previous: null, installed: ['1.0.0', '2.0.0'], status: 'active', target: null, replay }],
      } satisfies ReportedState;
      e.store.devices.setReported(id, state);
    }
  }

  describe('replay check stage', () => {
    it('waits for every ring device, then fails a candidate that disagrees, switching no device', async () => {
      const e = await setup(4);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, shadow: { ...SHADOW }, gates: { minPredictions: 10 }, advance: 'auto', onFailure: 'rollback', reason: 'try' }, { name: 'op' });
        const ring = notified(e, r.id);
        assert.equal(ring.length, 4);
        assert.equal(e.store.desired.latest(ring[0]!)?.signed.models[0]?.shadow?.replay, 50, 'the candidate is sent with replay');
        await e.engine.tick();
        const gate = () => e.engine.view(r.id).waves[0]?.gates.find((g) => g.name === 'replay_agreement');
        assert.equal(gate()?.verdict, 'pending');
        reportReplay(e, ring.slice(0, 3), { agree: 2 });
        await e.engine.tick();
        assert.equal(gate()?.verdict, 'pending', 'one ring device has not reported');
        assert.match(gate()?.note ?? '', /waiting for/);
        reportReplay(e, ring.slice(3), { agree: 2, errors: 1, maxAbsDiff: 0.7 });
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'rolled_back', JSON.stringify(v.waves[0]?.gates));
        assert.equal(v.waves[0]?.gates[0]?.value, 0.2);
        assert.match(v.waves[0]?.gates[0]?.note ?? '', /40 requests replayed \(1 failed on the candidate\) on 4 of 4 ring devices; max abs diff 0\.7/);
        // `edgefleet rollout show`: agreement must reach its threshold, as shadow_agreement's.
        assert.match(renderRollout(v), /replay_agreement +0\.2 +>= 0\.9 +40 \/ 0 +absolute +fail/);
        assert.equal(e.store.deployments.list().deployments.filter((d) => d.version === '2.0.0').length, 0, 'no device was told to switch');
      } finally {
        await e.close();
      }
    });

    it('passes a candidate that agrees (reports from before the stage do not count); the ring is then told to switch', async () => {
      const e = await setup(3);
      try {
        await v1Everywhere(e);
        const old = new Date(e.clock.now().getTime() - 3_600_000).toISOString();
        reportReplay(e, e.store.devices.list().map((d) => d.id), { at: old });
        const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, shadow: { ...SHADOW }, gates: { minPredictions: 10 }, advance: 'auto', onFailure: 'rollback', reason: 'try' }, { name: 'op' });
        await e.engine.tick();
        assert.equal(e.engine.view(r.id).waves[0]?.gates[0]?.verdict, 'pending', 'an old report is no answer');
        reportReplay(e, notified(e, r.id), { agree: 10 });
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.waves[0]?.state, 'passed', JSON.stringify(v.waves[0]?.gates));
        assert.equal(v.currentWave, 1);
        await e.engine.tick();
        assert.equal(e.store.desired.latest(notified(e, r.id)[0]!)?.signed.models[0]?.version, '2.0.0', 'the ring switches');
      } finally {
        await e.close();
      }
    });

    it('leaves out a ring device whose backend cannot load the candidate (named; not waited for), and judges the others', async () => {
      const e = await setup(4);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, shadow: { ...SHADOW }, gates: { minPredictions: 10 }, advance: 'manual', onFailure: 'rollback', reason: 'try' }, { name: 'op' });
        const [box, ...rest] = notified(e, r.id);
        assert.ok(box && rest.length === 3);
        // 2.0.0 refused on wasm (docs/decisions/0129-model-backends-checked.md), and the box reports running wasm.
        e.store.db.prepare("UPDATE model_versions SET backends = ? WHERE name = 'audio-energy' AND version = '2.0.0'")
          .run(JSON.stringify({ loads: ['native'], refused: { wasm: '[ShapeInferenceError] merging shape' } }));
        reportReplay(e, rest, {});
        e.store.devices.setReported(box, {
          schema: 'edgefleet.state/v1', deviceId: box, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1, capabilities: ['backend-wasm'],
          models: [{ name: 'audio-energy', active: '1.0.0', previous: null, installed: ['1.0.0'], status: 'active', target: null }],
        });
        await e.engine.tick();
        const gate = e.engine.view(r.id).waves[0]?.gates.find((g) => g.name === 'replay_agreement');
        assert.equal(gate?.verdict, 'pass', JSON.stringify(gate));
        assert.match(gate?.note ?? '', new RegExp(`on 3 of 3 ring devices; max abs diff 0; 1 held back, left out: their backend cannot load the version \\(BACKEND_UNSUPPORTED\\): ${box}$`));
      } finally {
        await e.close();
      }
    });

    it('a replay check needs a staging ring first', () => {
      const bad = RolloutCreate.safeParse({ model: 'm', version: '2.0.0', target: { all: true }, shadow: { replay: 10 }, reason: 'x' });
      assert.equal(bad.success, false);
      assert.match(JSON.stringify(bad.error?.issues), /a replay check runs on a staging ring/);
    });
  });
});
