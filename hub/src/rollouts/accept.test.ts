// Accepting a held gate for the current wave (docs/rollouts.md "Accepting a gate", decision on accepting a
// gate for a wave): `rollout promote --accept latency_p95` and POST /rollouts/{id}/promote {acceptGates},
// against the real REST app, on the latency_p95 gate held by a changed load (latency-load.test.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actOverRest, cleanup, cliAgainst, prepare, type Env } from './testing.js';
import { bakeAt, CANARY, GATES, ONE_WAVE, start, withHub } from './latency-testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('accept', () => {
  before(prepare);
  after(cleanup);

  const gatesOf = (e: Env, id: string, wave: number) => e.engine.view(id).waves[wave]?.gates ?? [];

  describe('accepting a gate of the current wave', () => {
    it('a held latency_p95 on the canary, accepted through the CLI: the canary passes at once, shown as accepted by the operator, audited', () => withHub(async (e) => {
      const r = await start(e, CANARY);
      assert.equal((await bakeAt(e, r.id, 200, 8))?.verdict, 'pending');
      const cli = await cliAgainst(e);
      try {
        const a = await cli.run('rollout', 'promote', r.id, '--accept', 'latency_p95', '--reason', 'busier canary, p95 fine per box');
        assert.equal(a.code, 0, a.err);
        assert.match(a.out, new RegExp(`rollout ${r.id}: running, wave all`));
        const canary = gatesOf(e, r.id, 0);
        const lat = canary.find((g) => g.name === 'latency_p95');
        assert.deepEqual([lat?.verdict, lat?.accepted?.by, lat?.accepted?.reason], ['pending', 'ops', 'busier canary, p95 fine per box'], 'its numbers stay what they were');
        assert.deepEqual(canary.filter((g) => g.accepted).map((g) => g.name), ['latency_p95'], 'no other gate accepted');
        const show = await cli.run('rollout', 'show', r.id);
        assert.match(show.out, /latency_p95 +8\.611 ms +<= 6\.144 ms .* accepted by ops +not compared at a matched load/);
        const audit = e.store.audit.query({}).filter((x) => x.target === r.id && x.action === 'rollout.promote');
        assert.equal(audit.length, 1);
        assert.equal(audit[0]?.reason, 'busier canary, p95 fine per box');
        assert.deepEqual((audit[0]?.details as { acceptedGates: string[] }).acceptedGates, ['latency_p95']);
        // The next wave's gates are not judged yet: nothing to accept there.
        const again = await cli.run('rollout', 'promote', r.id, '--accept', 'latency_p95', '--reason', 'again');
        assert.equal(again.code, 1);
        assert.match(again.err, /GATE_NOT_ACCEPTABLE\]: hub: rollout ro-\w+: wave all is pending: accepting a gate expects its gates judged \(wave evaluating, or failed on a paused rollout\)/);
      } finally {
        cli.close();
      }
    }));

    it('held past stuckSec, the rollout paused: accepting runs it again and the last wave completes; the other gates still judge', () => withHub(async (e) => {
      const r = await start(e, ONE_WAVE);
      await bakeAt(e, r.id, 200, 8);
      e.clock.advance(GATES.stuckSec * 1000);
      await e.engine.tick();
      assert.equal(e.engine.view(r.id).state, 'paused');
      // A gate that passed, one shown only, an unknown name: refused, naming the gate and what may be accepted.
      const passed = await actOverRest(e, r.id, 'promote', 'x', { acceptGates: ['install_success'] });
      assert.equal(passed.status, 409);
      assert.equal(passed.body.error?.code, 'GATE_NOT_ACCEPTABLE');
      assert.match(passed.body.error?.message ?? '', /gate install_success is pass on wave all: expected a blocking gate pending or failed there \(latency_p95\)/);
      const shown = await actOverRest(e, r.id, 'promote', 'x', { acceptGates: ['latency_p95', 'input_drift'] });
      assert.match(shown.body.error?.message ?? '', /gate input_drift is shown only, it blocks nothing/);
      assert.equal(gatesOf(e, r.id, 0).filter((g) => g.accepted).length, 0, 'a refused list accepts none of its gates');
      const unknown = await actOverRest(e, r.id, 'promote', 'x', { acceptGates: ['latency_p99'] });
      assert.deepEqual([unknown.status, unknown.body.error?.code], [400, 'SCHEMA_INVALID'], JSON.stringify(unknown.body));
      assert.match(unknown.body.error?.message ?? '', /invalid promote request: acceptGates\[0\]: .*expected one of .*latency_p95/);
      const noReason = await actOverRest(e, r.id, 'promote', '', { acceptGates: ['latency_p95'] });
      assert.equal(noReason.status, 400);
      const onPause = await actOverRest(e, r.id, 'resume', 'x', { acceptGates: ['latency_p95'] });
      assert.equal(onPause.status, 400, 'only promote accepts gates');
      const ok = await actOverRest(e, r.id, 'promote', 'load test traffic, not the version', { acceptGates: ['latency_p95'] });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.state, 'completed');
    }));

    it('on failure pause: a failed latency_p95, its rollout paused, may be accepted', () => withHub(async (e) => {
      const r = await start(e, ONE_WAVE, 'pause');
      assert.equal((await bakeAt(e, r.id, 100, 10))?.verdict, 'fail');
      const v = e.engine.view(r.id);
      assert.deepEqual([v.state, v.waves[0]?.state], ['paused', 'failed']);
      // The pause names the failure and the ways on, as a stuck wave's does.
      assert.match(v.stateReason ?? '', /^wave all failed its gates: latency_p95 [\d.]+ \(threshold [\d.]+\); resume judges it again, promote --accept GATE accepts a gate for the wave, abort or roll back ends it$/);
      // A plain promote is refused with the way on: resume, or accept the failed gate (named).
      const plain = await actOverRest(e, r.id, 'promote', 'go');
      assert.deepEqual([plain.status, plain.body.error?.code], [409, 'CONFLICT']);
      assert.match(plain.body.error?.message ?? '', new RegExp(`is paused: promote expects a running rollout; edgefleet rollout resume ${r.id} --reason "\\.\\.\\." runs it again; edgefleet rollout promote ${r.id} --accept latency_p95 --reason "\\.\\.\\." accepts a gate it waits for \\(latency_p95\\); abort or rollback ends it`));
      const ok = await actOverRest(e, r.id, 'promote', 'known slower, accepted by product', { acceptGates: ['latency_p95'] });
      assert.deepEqual([ok.status, ok.body.state], [200, 'completed'], JSON.stringify(ok.body));

    }));

    it('accepting on a paused canary runs the rollout again: show says who ran it and when, not the pause by the hub', () => withHub(async (e) => {
      const r = await start(e, CANARY, 'pause');
      assert.equal((await bakeAt(e, r.id, 100, 10))?.verdict, 'fail');
      assert.deepEqual([e.engine.view(r.id).state, e.engine.view(r.id).stateBy], ['paused', 'hub']);
      e.clock.advance(5_000);
      const cli = await cliAgainst(e);
      try {
        const a = await cli.run('rollout', 'promote', r.id, '--accept', 'latency_p95', '--reason', 'known slower');
        assert.equal(a.code, 0, a.err);
        const v = e.engine.view(r.id);
        assert.deepEqual([v.state, v.stateBy, v.stateAt, v.stateReason], ['running', 'ops', e.clock.now().toISOString(), 'accepted latency_p95: known slower']);
        const show = await cli.run('rollout', 'show', r.id);
        assert.match(show.out, /^running by ops at \S+ \(accepted latency_p95: known slower\); advance auto/m, show.out);
      } finally {
        cli.close();
      }
    }));

    it('a rolled back rollout has no gate to accept', () => withHub(async (e) => {
      const r = await start(e, ONE_WAVE);
      await bakeAt(e, r.id, 100, 10);
      assert.equal(e.engine.view(r.id).state, 'rolled_back');
      const late = await actOverRest(e, r.id, 'promote', 'too late', { acceptGates: ['latency_p95'] });
      assert.deepEqual([late.status, late.body.error?.code], [409, 'GATE_NOT_ACCEPTABLE']);
      assert.match(late.body.error?.message ?? '', /^rollout ro-[0-9a-f]{10} is rolled_back: accepting a gate expects a running or paused rollout/);
    }));
  });
});
