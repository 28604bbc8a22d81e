// latency_p95 when a box's load changes during the bake (docs/rollouts.md "Gates",
// docs/decisions/0098-latency-judged-at-a-matched-load.md): a good version whose answers are slower only
// because its devices answer more requests a window than the control did is held for the operator, not
// rolled back; a version that really doubles the model's cost still fails, with and without control.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, cliAgainst, others, prepare } from './testing.js';
import { bakeAt, CANARY, GATES, ONE_WAVE, start, withHub } from './latency-testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('latency-load', () => {
  before(prepare);
  after(cleanup);

  describe('latency_p95 under a changed load', () => {
    it('last wave (control: the target before it): a good version at twice the requests is held, then paused, never rolled back', () => withHub(async (e) => {
      const r = await start(e, ONE_WAVE);
      const g = await bakeAt(e, r.id, 200, 8);
      assert.equal(e.engine.view(r.id).state, 'running', `not rolled back: ${JSON.stringify(g)}`);
      assert.equal(g?.verdict, 'pending', JSON.stringify(e.engine.view(r.id).waves[0]?.gates));
      assert.match(g?.note ?? '', /200 requests a window against the control's 100 \(2x, more than 1.25x\)/);
      e.clock.advance(GATES.stuckSec * 1000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused');
      assert.match(v.stateReason ?? '', /latency_p95 .*200 requests a window against the control's 100/);
      assert.equal((v.devices ?? []).filter((d) => d.status === 'rolled_back').length, 0);
      // What the operator reads.
      const cli = await cliAgainst(e);
      try {
        const show = await cli.run('rollout', 'show', r.id);
        assert.match(show.out, /latency_p95 +8\.611 ms +<= 6\.144 ms +4000 \/ 1000 +control +pending +not compared at a matched load: .*\(2x, more than 1\.25x\), which may be why, not the version: held, not failed\n/);
      } finally {
        cli.close();
      }
    }));

    it('last wave: a version twice as slow at the same load still fails and is rolled back', () => withHub(async (e) => {
      const r = await start(e, ONE_WAVE);
      const g = await bakeAt(e, r.id, 100, 10);
      assert.deepEqual([g?.verdict, g?.against], ['fail', 'control']);
      assert.equal(e.engine.view(r.id).state, 'rolled_back');
    }));

    it('canary busier than its control devices: held, not failed', () => withHub(async (e) => {
      const r = await start(e, CANARY);
      const g = await bakeAt(e, r.id, 200, 8);
      assert.deepEqual([g?.verdict, e.engine.view(r.id).state], ['pending', 'running'], JSON.stringify(g));
    }));

    it('canary twice as slow at its control devices\' load: fails and is rolled back', () => withHub(async (e) => {
      const r = await start(e, CANARY);
      const g = await bakeAt(e, r.id, 100, 10);
      assert.deepEqual([g?.verdict, g?.samples.control, e.engine.view(r.id).state], ['fail', 2 * 100 * others(e, r.id).length, 'rolled_back']);
    }));

    it('the same load on both sides is judged as before: a good version passes', () => withHub(async (e) => {
      const r = await start(e, ONE_WAVE);
      const g = await bakeAt(e, r.id, 100, 5);
      assert.deepEqual([g?.verdict, e.engine.view(r.id).state], ['pass', 'completed']);
    }));
  });
});
