// A rollout's shadow stage on the hub side (docs/rollouts.md "Shadow stage", testing.ts): the first wave's
// devices get the new version as a shadow beside the one they run; the shadow_agreement gate judges the
// shadow runs their windows report. A regressed version fails the gate and the rollout ends before any
// device switched; a good one passes and the canary then switches as usual.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutCreate, STATE_SCHEMA, addLatency, emptyLatency, type ShadowSummary } from '@edgefleet/shared';
import { GATES, WAVES, actions, cleanup, notified, others, prepare, report, setup, v1Everywhere, win, type Env } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('shadow', () => {
  before(prepare);
  after(cleanup);

  const SHADOW = { sampleRate: 0.2, bakeSec: 60, minAgreement: 0.9, minSamples: 50, tolerance: 0.01, threshold: 0.5 };

  /** Windows of 1.0.0 from `ids`, each with `runs` shadow runs of `candidate` of which `agree` agreed. */
  function reportShadow(e: Env, ids: readonly string[], candidate: string, runs: number, agree: number): void {
    const now = e.clock.now();
    for (const id of ids) {
      const s = (e.seq.get(id) ?? 0) + 1;
      e.seq.set(id, s);
      const latency = emptyLatency();
      for (let i = 0; i < runs; i++) addLatency(latency, 7);
      const shadow: ShadowSummary = { version: candidate, sampled: runs + 2, dropped: 1, runs, agree, errors: 0, latency };
      e.store.telemetry.putWindows(id, [{ ...win(s, '1.0.0', new Date(now.getTime() - 30_000), 100), shadow: [shadow] }], now);
    }
  }

  const desired = (e: Env, id: string) => e.store.desired.latest(id)?.signed.models[0];

  /** A rollout of the good 2.0.0 with a shadow stage, v1 everywhere before; with the stage's devices. */
  async function goodShadowRollout(e: Env, advance: 'auto' | 'manual') {
    await v1Everywhere(e);
    const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, shadow: SHADOW, advance, onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
    return { r, told: notified(e, r.id) };
  }

  /** A shadow rollout of 2.0.0, v1 everywhere before, 2.0.0 stored as refused on wasm (docs/decisions/0129-model-backends-checked.md). */
  async function wasmRefusedShadowRollout(e: Env) {
    await v1Everywhere(e);
    e.store.db.prepare("UPDATE model_versions SET backends = ? WHERE name = 'audio-energy' AND version = '2.0.0'")
      .run(JSON.stringify({ loads: ['native'], refused: { wasm: '[ShapeInferenceError] merging shape' } }));
    return e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: GATES, shadow: SHADOW, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
  }

  /** The box reports running the `backend` backend (its capabilities), as after a restart on it. */
  const onBackend = (e: Env, box: string, backend: string) => e.parts.ingest.handleState(box, {
    schema: STATE_SCHEMA, deviceId: box, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, models: [], capabilities: [`backend-${backend}`],
  });

  /** The canary (the shadow stage's devices) is told again, now to switch; no shadow remains. */
  function assertCanarySwitching(e: Env, rolloutId: string, told: readonly string[]): void {
    assert.deepEqual(notified(e, rolloutId).sort(), [...told].sort());
    for (const id of told) assert.deepEqual([desired(e, id)?.version, desired(e, id)?.shadow], ['2.0.0', undefined], `${id} told to switch`);
  }

  describe('rollout shadow stage', () => {
    it('a regressed version fails shadow_agreement and the rollout ends before any device switched', async () => {
      const e = await setup(20);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: WAVES, gates: GATES, shadow: SHADOW, advance: 'auto', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
        const v0 = e.engine.view(r.id);
        assert.deepEqual(v0.waves.map((w) => w.name), ['shadow', 'canary', 'all']);
        assert.equal(v0.waves[0]?.state, 'baking');
        const told = notified(e, r.id);
        assert.ok(told.length >= 2 && told.length < 10, `shadow wave of ${told.length}`);
        for (const id of told) assert.deepEqual({ ...desired(e, id), manifestSha256: undefined, bundle: undefined, shadow: { ...desired(e, id)?.shadow, manifestSha256: undefined, bundle: undefined } }, {
          name: 'audio-energy', version: '1.0.0', manifestSha256: undefined, bundle: undefined,
          shadow: { version: '3.0.0', sampleRate: 0.2, tolerance: 0.01, threshold: 0.5, manifestSha256: undefined, bundle: undefined },
        }, `${id} runs 3.0.0 in shadow beside 1.0.0`);
        for (const id of others(e, r.id)) assert.equal(desired(e, id)?.shadow, undefined);

        e.clock.advance(61_000);
        reportShadow(e, told, '3.0.0', 30, 15);
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.state, 'rolled_back', JSON.stringify(v.waves[0]?.gates));
        const gate = v.waves[0]?.gates.find((g) => g.name === 'shadow_agreement');
        assert.equal(gate?.verdict, 'fail');
        assert.equal(gate?.value, 0.5);
        assert.deepEqual(gate?.samples, { wave: 30 * told.length, control: 0 });
        assert.match(gate?.note ?? '', new RegExp(`${30 * told.length} shadow runs \\(0 failed, ${told.length} samples dropped\\) from ${told.length} of ${told.length} devices; candidate p95`));
        // No device was ever told to switch: every document names 1.0.0 and no shadow any more.
        for (const d of e.store.devices.list()) {
          assert.equal(desired(e, d.id)?.version, '1.0.0');
          assert.equal(desired(e, d.id)?.shadow, undefined, `${d.id} stopped the shadow`);
        }
        assert.equal(e.store.rollouts.get(r.id).deploymentId, null, 'no deployment of 3.0.0 was made');
        assert.deepEqual(e.store.shadows.byRollout(r.id), []);
        assert.deepEqual(actions(e, r.id), ['rollout.create', 'rollout.wave_deploying', 'rollout.wave_baking', 'rollout.wave_evaluating', 'rollout.wave_failed', 'rollout.rolled_back']);
        assert.match(e.store.audit.query({}).find((a) => a.action === 'rollout.wave_failed')?.reason ?? '', /wave shadow failed its gates: shadow_agreement 0.5 \(threshold 0.9\)/);
      } finally {
        await e.close();
      }
    });

    it('too few shadow runs keep the gate pending; a good version passes, then the canary switches', async () => {
      const e = await setup(20);
      try {
        const { r, told } = await goodShadowRollout(e, 'auto');
        e.clock.advance(61_000);
        reportShadow(e, told, '2.0.0', 1, 1);
        reportShadow(e, told, '1.9.9', 500, 0); // another candidate's numbers are not this one's
        await e.engine.tick();
        assert.equal(e.engine.view(r.id).waves[0]?.gates[0]?.verdict, 'pending');
        reportShadow(e, told, '2.0.0', 40, 39);
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.waves[0]?.state, 'passed', JSON.stringify(v.waves[0]?.gates));
        assert.equal(v.currentWave, 1);
        await e.engine.tick();
        assertCanarySwitching(e, r.id, told);
        report(e, told, '2.0.0');
        report(e, others(e, r.id), '1.0.0');
        assert.equal(e.engine.view(r.id).waves[1]?.state, 'baking');
      } finally {
        await e.close();
      }
    });

    it('under manual advance a passed stage waits for promote without shadowing again; promote switches the canary', async () => {
      const e = await setup(20);
      try {
        const { r, told } = await goodShadowRollout(e, 'manual');
        e.clock.advance(61_000);
        reportShadow(e, told, '2.0.0', 40, 40);
        await e.engine.tick();
        assert.deepEqual([e.engine.view(r.id).currentWave, e.engine.view(r.id).waves[0]?.state], [0, 'passed']);
        // Steps while it waits for promote tell nobody: the stage's devices stay not told, with no shadow.
        await e.engine.tick();
        await e.engine.tick();
        assert.deepEqual(notified(e, r.id), []);
        assert.deepEqual(e.store.shadows.byRollout(r.id), []);
        for (const id of told) assert.deepEqual([desired(e, id)?.version, desired(e, id)?.shadow], ['1.0.0', undefined]);

        await e.engine.act(r.id, 'promote', 'shadow agreed', { name: 'op' });
        assertCanarySwitching(e, r.id, told);
        e.clock.advance(61_000);
        report(e, told, '2.0.0');
        report(e, others(e, r.id), '1.0.0');
        await e.engine.tick();
        const v = e.engine.view(r.id);
        assert.equal(v.waves[1]?.state, 'passed', JSON.stringify(v.waves[1]?.gates));
        assert.equal(v.waves[1]?.gates.find((g) => g.name === 'install_success')?.value, 1);
      } finally {
        await e.close();
      }
    });

    it('a candidate a box\'s backend cannot load is held back from it: no shadow sent, the gate leaves it out (named), not disagreeing', async () => {
      const e = await setup(20);
      try {
        const r = await wasmRefusedShadowRollout(e);
        const [box, ...rest] = notified(e, r.id);
        assert.ok(box && rest.length >= 1);
        // The told box restarts on the wasm backend: its next document keeps 1.0.0 and names no shadow.
        await onBackend(e, box, 'wasm');
        assert.deepEqual([desired(e, box)?.version, desired(e, box)?.shadow], ['1.0.0', undefined], 'no 2.0.0 shadow for a wasm box');
        for (const id of rest) assert.equal(desired(e, id)?.shadow?.version, '2.0.0');
        assert.equal(e.store.shadows.byRollout(r.id).length, rest.length + 1, 'still one of the stage');

        e.clock.advance(61_000);
        reportShadow(e, rest, '2.0.0', 60, 60);
        await e.engine.tick();
        const gate = e.engine.view(r.id).waves[0]?.gates.find((g) => g.name === 'shadow_agreement');
        assert.equal(gate?.verdict, 'pass', JSON.stringify(gate));
        assert.match(gate?.note ?? '', new RegExp(`from ${rest.length} of ${rest.length} devices.*; 1 held back, left out: their backend cannot load the version \\(BACKEND_UNSUPPORTED\\): ${box}$`));
        assert.notEqual(e.engine.view(r.id).state, 'rolled_back');
      } finally {
        await e.close();
      }
    });

    it('a box back on a backend that loads the candidate is sent the shadow again', async () => {
      const e = await setup(6);
      try {
        const r = await wasmRefusedShadowRollout(e);
        const [box] = notified(e, r.id);
        assert.ok(box);
        await onBackend(e, box, 'wasm');
        assert.equal(desired(e, box)?.shadow, undefined);
        await onBackend(e, box, 'native');
        assert.equal(desired(e, box)?.shadow?.version, '2.0.0', 'sent again');
      } finally {
        await e.close();
      }
    });

    it('aborting during the shadow stage drops the shadow from every device; a rollback and a pause at once: the rollback wins whole', async () => {
      const e = await setup(6);
      try {
        await v1Everywhere(e);
        const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: WAVES, gates: GATES, shadow: SHADOW, advance: 'auto', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
        const told = notified(e, r.id);
        assert.equal(e.store.shadows.byRollout(r.id).length, told.length);
        await e.engine.act(r.id, 'abort', 'changed our mind', { name: 'op' });
        assert.equal(e.engine.view(r.id).state, 'aborted');
        assert.deepEqual(e.store.shadows.byRollout(r.id), []);
        for (const id of told) assert.deepEqual([desired(e, id)?.version, desired(e, id)?.shadow], ['1.0.0', undefined]);
        // Two operators at once: a rollback and a pause of the next one. The rollback, first, is stored with the
        // shadow dropped in one transaction, and the pause is refused on the rolled back rollout. Before, the
        // rollback dropped every shadow and published before it saved; the pause saved meanwhile, the rollback
        // answered 409 and the rollout sat paused in its shadow stage with no device running the candidate.
        const next = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: WAVES, gates: GATES, shadow: SHADOW, advance: 'auto', onFailure: 'rollback', reason: 'v3 again' }, { name: 'op' });
        const shadowed = e.store.shadows.byRollout(next.id).length;
        assert.ok(shadowed > 0);
        const [back, pause] = await Promise.allSettled([
          e.engine.act(next.id, 'rollback', 'wrong build', { name: 'alice' }), e.engine.act(next.id, 'pause', 'look first', { name: 'bob' }),
        ]);
        assert.equal(back.status, 'fulfilled', back.status === 'rejected' ? String(back.reason) : '');
        assert.equal(pause.status === 'rejected' && (pause.reason as { code?: string }).code, 'CONFLICT');
        assert.match((pause as PromiseRejectedResult).reason.message as string, new RegExp(`^rollout ${next.id} is rolled_back: pause expects a running rollout; `));
        const v = e.engine.view(next.id);
        assert.deepEqual([v.state, v.stateBy], ['rolled_back', 'alice']);
        assert.deepEqual(e.store.shadows.byRollout(next.id), []);
        assert.deepEqual(actions(e, next.id).filter((a) => !a.startsWith('rollout.wave')), ['rollout.create', 'rollout.rolled_back']);
      } finally {
        await e.close();
      }
    });

    it('refuses a shadow stage with nothing to shadow, and a wave named like it', async () => {
      const e = await setup(3);
      try {
        await assert.rejects(e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, shadow: SHADOW, advance: 'auto', onFailure: 'rollback', reason: 'first' }, { name: 'op' }), { code: 'INVALID_INPUT', message: /shadow: no device of the target runs a version of audio-energy/ });
        const bad = RolloutCreate.safeParse({ model: 'audio-energy', version: '2.0.0', target: { all: true }, shadow: {}, waves: [{ name: 'shadow', percent: 100, bakeSec: 0 }], reason: 'x' });
        assert.equal(bad.success, false);
        assert.match(JSON.stringify(bad.error?.issues), /wave name \\"shadow\\" is the shadow stage's/);
        assert.equal(RolloutCreate.safeParse({ model: 'audio-energy', version: '2.0.0', target: { all: true }, shadow: { sampleRate: 0 }, reason: 'x' }).success, false);
      } finally {
        await e.close();
      }
    });
  });
});
