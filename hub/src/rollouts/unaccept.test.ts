// Taking back an accepted gate (docs/rollouts.md "Accepting a gate"): `rollout unaccept ID --gate latency_p95`
// and POST /rollouts/{id}/unaccept {reason, gates}, against the real REST app, on the latency_p95 gate held by a
// changed load (latency-testing.ts) while another gate (install_success, a told device still downloading) keeps
// the wave judged: taken back, the gate blocks the wave again; nothing to take back is NOTHING_TO_UNDO.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actOverRest, cleanup, cliAgainst, notified, prepare, type Env } from './testing.js';
import { bakeAt, CANARY, start, withHub } from './latency-testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('unaccept', () => {
  before(prepare);
  after(cleanup);

  const gate = (e: Env, id: string, wave: number, name: string) => e.engine.view(id).waves[wave]?.gates.find((g) => g.name === name);
  const setStatus = (e: Env, id: string, status: 'downloading' | 'active') => e.store.deployments.setStatus(id, 'audio-energy', '2.0.0', status, e.clock.now(), { progress: status === 'active' ? 1 : 0.5 });

  describe('taking back an accepted gate', () => {
    it('accepted by mistake while the canary waits for a device: taken back through the CLI, the canary does not pass without it; audited', () => withHub(async (e) => {
      const r = await start(e, CANARY);
      assert.equal((await bakeAt(e, r.id, 200, 8))?.verdict, 'pending');
      // One canary device is still downloading: install_success keeps the wave judged after the acceptance.
      const [slow] = notified(e, r.id);
      assert.ok(slow);
      setStatus(e, slow, 'downloading');
      await e.engine.tick();
      assert.equal(gate(e, r.id, 0, 'install_success')?.verdict, 'pending');
      const cli = await cliAgainst(e);
      try {
        const none = await cli.run('rollout', 'unaccept', r.id, '--gate', 'latency_p95', '--reason', 'x');
        assert.equal(none.code, 1);
        assert.match(none.err, /NOTHING_TO_UNDO\]: hub: rollout ro-\w+: gate latency_p95 is not accepted on wave canary: expected a gate accepted there \(none is\)/);
        assert.equal((await cli.run('rollout', 'promote', r.id, '--accept', 'latency_p95', '--reason', 'looks like load')).code, 0);
        assert.equal(gate(e, r.id, 0, 'latency_p95')?.accepted?.by, 'ops');
        assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating', 'install_success still pending');
        const other = await actOverRest(e, r.id, 'unaccept', 'x', { gates: ['output_shift'] });
        assert.deepEqual([other.status, other.body.error?.code], [409, 'NOTHING_TO_UNDO']);
        assert.match(other.body.error?.message ?? '', /gate output_shift is not accepted on wave canary: expected a gate accepted there \(latency_p95\)/);
        assert.deepEqual((other.body.error?.details as { accepted: string[] }).accepted, ['latency_p95']);
        const noGates = await actOverRest(e, r.id, 'unaccept', 'x');
        assert.deepEqual([noGates.status, noGates.body.error?.code], [400, 'SCHEMA_INVALID']);

        const back = await cli.run('rollout', 'unaccept', r.id, '--gate', 'latency_p95', '--reason', 'the load test ended: p95 is the version');
        assert.equal(back.code, 0, back.err);
        assert.match(back.out, new RegExp(`rollout ${r.id}: running, wave canary evaluating`));
        const lat = gate(e, r.id, 0, 'latency_p95');
        assert.deepEqual([lat?.verdict, lat?.accepted], ['pending', undefined]);
        const audit = e.store.audit.query({}).filter((x) => x.target === r.id && x.action === 'rollout.unaccept');
        assert.equal(audit.length, 1);
        assert.equal(audit[0]?.reason, 'the load test ended: p95 is the version');
        const d = audit[0]?.details as { unacceptedGates: string[]; was: Array<{ name: string; by: string; reason: string }> };
        assert.deepEqual([d.unacceptedGates, d.was.map((a) => [a.name, a.by, a.reason])], [['latency_p95'], [['latency_p95', 'ops', 'looks like load']]]);

        // The device installs: install_success passes, and the canary still waits for latency_p95 (accepted, it would pass now).
        setStatus(e, slow, 'active');
        await e.engine.tick();
        assert.equal(gate(e, r.id, 0, 'install_success')?.verdict, 'pass');
        assert.deepEqual([e.engine.view(r.id).state, e.engine.view(r.id).waves[0]?.state], ['running', 'evaluating']);
        const show = await cli.run('rollout', 'show', r.id);
        assert.doesNotMatch(show.out, /accepted by/);

        // Accepted again, the canary passes: that acceptance has done its work, nothing left to take back.
        assert.equal((await cli.run('rollout', 'promote', r.id, '--accept', 'latency_p95', '--reason', 'checked per box')).code, 0);
        assert.equal(e.engine.view(r.id).waves[0]?.state, 'passed');
        const late = await actOverRest(e, r.id, 'unaccept', 'too late', { gates: ['latency_p95'] });
        assert.deepEqual([late.status, late.body.error?.code], [409, 'NOTHING_TO_UNDO']);
        assert.match(late.body.error?.message ?? '', /wave all is \w+: un-accepting a gate expected a running or paused rollout whose current wave is still judged .* \(latency_p95 was accepted on wave canary, which passed: that acceptance has done its work; pause, abort or roll back the rollout instead\)/);
        // An ended rollout: its state is named after its id (`rollout ro-… is aborted: …`).
        assert.equal((await actOverRest(e, r.id, 'abort', 'done')).status, 200);
        const ended = await cli.run('rollout', 'unaccept', r.id, '--gate', 'latency_p95', '--reason', 'x');
        assert.equal(ended.code, 1, ended.err);
        assert.match(ended.err, new RegExp(`^error \\[NOTHING_TO_UNDO\\]: hub: rollout ${r.id} is aborted: un-accepting a gate expected a running or paused rollout`));
      } finally {
        cli.close();
      }
    }));
  });
});
