// The shadow queue's byte bound at its edge (docs/agent.md "Shadow evaluation", ./runner.ts): with a
// real agent, the example model 1.0.0 answering and an identical candidate (real ONNX sessions), the
// candidate's first run is held so the samples after it wait. Samples whose tensors come to exactly
// `queueBytes` all wait (the last a single row that fills it exactly); one request more, even of one
// row, is dropped and counted, its answer given all the same. /metrics and the window
// count them as the docs say, and every sample kept runs once the candidate is free. The entry bound
// (`queue`) likewise: exactly that many wait, one more is dropped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EXAMPLE_MODEL_NAME, VIBRATION_IO, buildExampleBundle, bundleFromOnnx, datasetRows, waitFor } from '@edgefleet/examples';
import { SummaryWindow } from '@edgefleet/shared';
import type { Agent } from '../agent.js';
import { makeKit, req, startAgent, type Kit } from '../testing.js';
import type { ShadowLimits } from './runner.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('queue-bound', () => {
  const NAME = EXAMPLE_MODEL_NAME;
  /** Rows of a request; a row's tensors are 12 FP32 features and 1 FP32 probability: 52 bytes. */
  const BATCH = 10;
  const ROW_BYTES = (12 + 1) * 4;
  /** Three requests of BATCH rows and one of a single row: the bound exactly. */
  const QUEUE_BYTES = 3 * BATCH * ROW_BYTES + ROW_BYTES;

  let kit: Kit;
  let rows: number[][];
  let paths: { v1: string; same: string };

  before(async () => {
    kit = makeKit('ef-shadow-bound-');
    const dir = join(kit.dir, 'bundles');
    const v1 = await buildExampleBundle({ dir, version: '1.0.0', keys: kit.keys });
    const same = await bundleFromOnnx({ dir, onnx: v1.model.onnx, name: NAME, version: '1.0.1', io: VIBRATION_IO, keys: kit.keys });
    rows = datasetRows(v1.model.holdout).slice(0, BATCH);
    paths = { v1: v1.path, same: same.path };
  });
  after(() => kit.cleanup());

  async function infer(agent: Agent, n: number): Promise<void> {
    const r = await req(agent.url, 'POST', `/v2/models/${NAME}/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [n, 12], data: rows.slice(0, n).flat() }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model_version, '1.0.0');
  }

  async function metric(agent: Agent, name: string): Promise<number> {
    const m = new RegExp(`^edgefleet_agent_shadow_${name} (\\d+)$`, 'm').exec((await req(agent.url, 'GET', '/metrics')).text);
    assert.ok(m, `edgefleet_agent_shadow_${name} in /metrics`);
    return Number(m[1]);
  }

  /**
   * An agent with 1.0.0 serving and 1.0.1 in shadow at rate 1 whose first run is held at the candidate's
   * session until `open()`: the samples after it wait. `offer(n, kept)` sends a request of `n` rows and
   * checks its sample waited (`kept`) or was dropped, counted at once.
   */
  async function heldShadow(dir: string, limits: Partial<ShadowLimits>, clock?: { now(): number }) {
    const agent = await startAgent(join(kit.dir, dir), {}, { ...(clock ? { clock } : {}), shadowLimits: limits });
    try {
      return await hold(agent);
    } catch (err) {
      await agent.stop();
      throw err;
    }
  }

  async function hold(agent: Agent) {
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(paths.v1);
    await agent.manager.install(paths.same, { activate: false });
    // The candidate's runs wait for `open` before they reach onnxruntime: the first holds the runner.
    const runtime = agent.runtime;
    const real = runtime.runSession.bind(runtime);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let held = 0;
    runtime.runSession = async (v, feeds, wanted) => {
      if (v.version === '1.0.1') {
        held++;
        await gate;
      }
      return real(v, feeds, wanted);
    };
    await agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '1.0.1'), { sampleRate: 1 });
    await infer(agent, BATCH);
    await waitFor('the first sample running', () => held === 1);
    assert.equal(agent.shadow.queued, 0, 'the sample running waits no more');
    const offer = async (n: number, kept: boolean) => {
      const before = { ...agent.shadow.stats };
      await infer(agent, n);
      assert.deepEqual([agent.shadow.stats.sampled - before.sampled, agent.shadow.stats.dropped - before.dropped], kept ? [1, 0] : [0, 1], `${n} rows ${kept ? 'kept' : 'dropped'}`);
    };
    return { agent, open, offer };
  }

  describe('shadow queue bounds', () => {
    it(`keeps samples of exactly queueBytes (${QUEUE_BYTES}) waiting and drops one request more, counted in /metrics and the window`, async () => {
      const clock = { t: Date.parse('2026-03-01T12:00:01.000Z'), now() { return this.t; } };
      const { agent, open, offer } = await heldShadow('a', { queue: 32, queueBytes: QUEUE_BYTES }, clock);
      try {
        for (let i = 0; i < 3; i++) await offer(BATCH, true); // 3 × 520 bytes wait
        await offer(1, true); // 52 bytes more: exactly the bound
        await offer(1, false); // one row past it
        await offer(BATCH, false);
        assert.deepEqual({ ...agent.shadow.stats }, { sampled: 5, dropped: 2, runs: 0, agree: 0, errors: 0, late: 0 });
        assert.equal(agent.shadow.queued, 4);
        assert.equal(await metric(agent, 'queued'), 4);
        assert.equal(await metric(agent, 'sampled_total'), 5);
        assert.equal(await metric(agent, 'dropped_total'), 2);

        open();
        await waitFor('every sample kept ran', () => agent.shadow.stats.runs === 5);
        assert.deepEqual({ ...agent.shadow.stats }, { sampled: 5, dropped: 2, runs: 5, agree: 5, errors: 0, late: 0 });
        assert.equal(await metric(agent, 'queued'), 0);
        // The queue is free again: a request of the bound's size waits and runs.
        await infer(agent, BATCH);
        await waitFor('the next sample ran', () => agent.shadow.stats.runs === 6);

        clock.t += 60_000;
        const ws = await waitFor('the window written', () => {
          const list = agent.summaries.listWindows({ model: NAME });
          return list.length ? list : undefined;
        });
        const w = SummaryWindow.parse(ws[0]!.window);
        assert.equal(w.count, 6 * BATCH + 2, 'every row of the 8 requests answered');
        assert.deepEqual({ ...w.shadow?.[0], latency: undefined }, { version: '1.0.1', sampled: 6, dropped: 2, runs: 6, agree: 6, errors: 0, latency: undefined });
      } finally {
        await agent.stop();
      }
    });

    it('keeps exactly `queue` samples waiting and drops one more', async () => {
      const { agent, open, offer } = await heldShadow('b', { queue: 3 });
      try {
        for (let i = 0; i < 3; i++) await offer(1, true);
        assert.equal(agent.shadow.queued, 3);
        await offer(1, false);
        assert.equal(await metric(agent, 'queued'), 3);
        assert.equal(await metric(agent, 'dropped_total'), 1);
        open();
        await waitFor('every sample kept ran', () => agent.shadow.stats.runs === 4);
        assert.deepEqual({ ...agent.shadow.stats }, { sampled: 4, dropped: 1, runs: 4, agree: 4, errors: 0, late: 0 });
      } finally {
        await agent.stop();
      }
    });
  });
});
