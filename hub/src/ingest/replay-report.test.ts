// One enrolled box of a staging ring reports its replay check (docs/rollouts.md "Replay check") over the
// embedded broker (127.0.0.1:0) as a compromised box could: `agree` above its `samples`, or more replayed
// requests than the stage asked for. The replay_agreement gate sums the ring's reports, so before, either
// passed a candidate the ring's three honest boxes disagreed with (agree 1e12 over 50 requests: agreement
// 5e9; 1,000 agreeing requests beside their 150: 0.92 >= 0.9). Now the first is refused at ingest as an
// invalid state report naming the field, and the second is left out of the gate's numbers and named in its
// note, so the honest boxes' disagreement fails the candidate (docs/decisions/0131-a-replay-report-weighs-what-was-asked.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { ReplayReport, type ReportedState } from '@edgefleet/shared';
import { cleanup, notified, prepare, publishState, setup, v1Everywhere, type Env } from '../rollouts/testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('replay-report', () => {
  before(prepare);
  after(cleanup);

  const WAVES = [{ name: 'staging', tags: { ring: 'a' }, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 60 }];
  const SHADOW = { replay: 50, sampleRate: 1, bakeSec: 0, minSamples: 20, minAgreement: 0.9, tolerance: 0.01 };

  /** State reports of `id` the hub refused as invalid (counted by the broker's ingress). */
  const invalidStates = (e: Env, id: string) => e.link.invalidCounts().find((c) => c.deviceId === id && c.kind === 'state')?.count ?? 0;

  /** `id` reports, over the broker, its replay of 2.0.0 done now, and the hub has it (or counted it invalid). */
  async function reportReplay(e: Env, id: string, rep: Partial<ReplayReport>): Promise<void> {
    const at = e.clock.now().toISOString();
    const invalid = invalidStates(e, id);
    const replay = { version: '2.0.0', against: ['1.0.0'], samples: 50, agree: 20, errors: 0, maxAbsDiff: 0, done: true, at, ...rep };
    await publishState(e, id, { active: '1.0.0', installed: ['1.0.0', '2.0.0'], status: 'active', target: null, replay });
    await waitFor(`the hub handling ${id}'s state report`, () => {
      const models = (e.store.devices.reportedState(id) as ReportedState | undefined)?.models;
      return models?.[0]?.replay?.at === at || (invalidStates(e, id)) > invalid || undefined;
    });
  }

  describe('replay check: one ring box cannot decide replay_agreement', () => {
    const start = async (e: Env) => {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, shadow: { ...SHADOW }, gates: { minPredictions: 10 }, advance: 'auto', onFailure: 'pause', reason: 'try' }, { name: 'op' });
      const ring = notified(e, r.id);
      assert.equal(ring.length, 4);
      // Three honest boxes: 20 of their 50 replayed requests agree (0.4).
      for (const id of ring.slice(0, 3)) await reportReplay(e, id, {});
      return { id: r.id, rogue: ring[3]! };
    };
    const gate = (e: Env, id: string) => e.engine.view(id).waves[0]?.gates.find((g) => g.name === 'replay_agreement');

    it('agree above samples is refused at ingest, naming the field; the ring waits for the box, never passes on it', async () => {
      const e = await setup(4);
      try {
        const r = await start(e);
        await reportReplay(e, r.rogue, { agree: 1e12 });
        assert.equal(invalidStates(e, r.rogue), 1, 'the state report was refused as invalid');
        assert.ok(!JSON.stringify(e.store.devices.reportedState(r.rogue) ?? {}).includes('1000000000000'), 'nothing of it was stored');
        await e.engine.tick();
        assert.deepEqual([gate(e, r.id)?.verdict, gate(e, r.id)?.value], ['pending', 0.4]);
        assert.match(gate(e, r.id)?.note ?? '', new RegExp(`waiting for ${r.rogue}`));
      } finally {
        await e.close();
      }
      const refused = ReplayReport.safeParse({ version: '2.0.0', against: [], samples: 50, agree: 1e12, errors: 1, maxAbsDiff: null, done: true, at: '2026-03-01T12:00:00.000Z' });
      assert.equal(refused.error?.issues[0]?.message, 'expected agree + errors <= samples (each replayed request agrees, disagrees or fails once), got 1000000000000 + 1 > 50');
      const many = ReplayReport.safeParse({ version: '2.0.0', against: [], samples: 1001, agree: 0, errors: 0, maxAbsDiff: null, done: true, at: '2026-03-01T12:00:00.000Z' });
      assert.match(many.error?.issues[0]?.message ?? '', /^expected at most 1000 replayed requests/);
    });

    it('more replayed requests than the stage asked are left out and named; the honest boxes fail the candidate', async () => {
      const e = await setup(4);
      try {
        const r = await start(e);
        await reportReplay(e, r.rogue, { samples: 1000, agree: 1000 });
        await e.engine.tick();
        const v = e.engine.view(r.id);
        const g = v.waves[0]?.gates.find((x) => x.name === 'replay_agreement');
        assert.deepEqual([g?.verdict, g?.value, g?.samples.wave], ['fail', 0.4, 150], JSON.stringify(g));
        assert.match(g?.note ?? '', new RegExp(`; left out: ${r.rogue} reported more than the 50 replayed requests asked$`));
        assert.equal(v.state, 'paused');
      } finally {
        await e.close();
      }
    });
  });
});
