// Shadow evaluation with real ONNX sessions (docs/agent.md "Shadow evaluation"): the example model 1.0.0
// answers while a candidate runs beside it on sampled requests. An identical candidate agrees on every
// run; the deliberately regressed 3.0.0 agrees exactly where its outputs are within the tolerance of
// 1.0.0's, or with a threshold where both put a row in the same class (computed here from the two
// models directly); the answers always come from 1.0.0; a slow
// candidate drops samples (counted) instead of holding answers, a failing one counts errors; the windows
// carry it all; a shadow past the session limit is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EXAMPLE_MODEL_NAME, VIBRATION_IO, buildExampleBundle, bundleFromOnnx, datasetRows, randomMlp, runOrt, type BundleResult, type ExampleModel } from '@edgefleet/examples';
import { SummaryWindow } from '@edgefleet/shared';
import type { Agent } from '../agent.js';
import { makeKit, mlpBundle, req, startAgent, type Kit } from '../testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('shadow', () => {
  const NAME = EXAMPLE_MODEL_NAME;
  const ROWS = 200;
  let kit: Kit;
  let v1: BundleResult & { model: ExampleModel };
  let same: BundleResult;
  let v3: BundleResult & { model: ExampleModel };
  let slow: BundleResult;
  let broken: BundleResult;
  let rows: number[][];
  /** 1.0.0's and 3.0.0's P(anomalous) on `rows`, from onnxruntime directly. */
  let p1: Float32Array;
  let p3: Float32Array;

  before(async () => {
    kit = makeKit('ef-shadow-');
    const dir = join(kit.dir, 'bundles');
    v1 = await buildExampleBundle({ dir, version: '1.0.0', keys: kit.keys });
    v3 = await buildExampleBundle({ dir, version: '3.0.0', shift: true, keys: kit.keys, example: { regress: true } });
    same = await bundleFromOnnx({ dir, onnx: v1.model.onnx, name: NAME, version: '1.0.1', io: VIBRATION_IO, keys: kit.keys });
    // Same inputs and outputs, ~8 M multiply-adds a row (~1.7 G for a request of 200 rows): far slower than the answers it shadows.
    const big = randomMlp({ inputDim: 12, hidden: [2048, 2048, 2048], outputDim: 1, inputName: 'features', outputName: 'anomaly_probability', output: 'sigmoid', seed: 4 });
    slow = await bundleFromOnnx({ dir, onnx: big.onnx, name: NAME, version: '4.0.0', io: big.io, keys: kit.keys });
    // Another input name: every shadow run fails in onnxruntime.
    const other = randomMlp({ inputDim: 12, hidden: [4], outputDim: 1, inputName: 'other', outputName: 'anomaly_probability', output: 'sigmoid' });
    broken = await bundleFromOnnx({ dir, onnx: other.onnx, name: NAME, version: '5.0.0', io: other.io, keys: kit.keys });
    rows = datasetRows(v1.model.holdout).slice(0, ROWS);
    const holdout = { ...v1.model.holdout, rows: ROWS, x: v1.model.holdout.x.subarray(0, ROWS * 12) };
    p1 = await runOrt(v1.model.onnx, holdout);
    p3 = await runOrt(v3.model.onnx, holdout);
  });
  after(() => kit.cleanup());

  async function install(agent: Agent, ...candidates: BundleResult[]): Promise<void> {
    agent.trust.put(kit.trust.doc, 1);
    await agent.manager.install(v1.path);
    for (const c of candidates) await agent.manager.install(c.path, { activate: false });
  }

  /** `n` requests of `batch` rows, `loops` at a time; each answer must be 1.0.0's. */
  async function send(agent: Agent, n: number, batch = 1, loops = 1): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: loops }, () => one()));
    async function one(): Promise<void> {
      for (let i = next++; i < n; i = next++) {
      const at = Array.from({ length: batch }, (_, k) => (i * batch + k) % ROWS);
      const r = await req(agent.url, 'POST', `/v2/models/${NAME}/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [batch, 12], data: at.flatMap((j) => rows[j]!) }] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.model_version, '1.0.0');
      at.forEach((j, k) => assert.ok(Math.abs((r.json.outputs[0].data[k] as number) - (p1[j] as number)) < 1e-5, `answer ${i} row ${k} is 1.0.0's`));
      }
    }
  }

  async function drained(agent: Agent): Promise<void> {
    const s = agent.shadow.stats;
    for (let i = 0; i < 600 && s.runs + s.errors + s.late < s.sampled; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.runs + s.errors + s.late, s.sampled, 'every sample ran');
  }

  describe('shadow evaluation on the device', () => {
    it('counts agreement exactly: an identical candidate agrees on every run, the regressed 3.0.0 where its outputs are within tolerance', async () => {
      const clock = { t: Date.parse('2026-03-01T12:00:01.000Z'), now() { return this.t; } };
      const agent = await startAgent(join(kit.dir, 'a'), {}, { clock });
      try {
        await install(agent, same, v3);
        await agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '1.0.1'), { sampleRate: 1 });
        await send(agent, ROWS);
        await drained(agent);
        assert.deepEqual({ ...agent.shadow.stats }, { sampled: ROWS, dropped: 0, runs: ROWS, agree: ROWS, errors: 0, late: 0 });
        const metrics = (await req(agent.url, 'GET', '/metrics')).text;
        assert.match(metrics, new RegExp(`^edgefleet_agent_shadow_agree_total ${ROWS}$`, 'm'));
        assert.match(metrics, /^edgefleet_agent_shadow_candidate\{model="vibration-anomaly",version="1.0.1"\} 1$/m);

        // Half the requests (every second one) on the regressed version; tolerance 0.01 on the probability.
        await agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '3.0.0'), { sampleRate: 0.5, tolerance: 0.01 });
        assert.deepEqual(agent.shadow.current(NAME), { version: '3.0.0', sampleRate: 0.5, tolerance: 0.01 });
        await send(agent, ROWS);
        await drained(agent);
        let expected = 0;
        for (let i = 1; i < ROWS; i += 2) if (Math.abs(p1[i]! - p3[i]!) <= 0.01) expected++;
        assert.ok(expected > 0 && expected < ROWS / 2, `3.0.0 agrees on ${expected} of ${ROWS / 2}: regressed on part of the input space`);
        assert.equal(agent.shadow.stats.runs, ROWS + ROWS / 2);
        assert.equal(agent.shadow.stats.agree, ROWS + expected);

        // As a class at 0.5 (threshold): 3.0.0 disagrees exactly where it puts a row on the other side.
        await agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '3.0.0'), { sampleRate: 1, threshold: 0.5 });
        const runs0 = agent.shadow.stats.runs;
        const agree0 = agent.shadow.stats.agree;
        await send(agent, ROWS);
        await drained(agent);
        let sameClass = 0;
        for (let i = 0; i < ROWS; i++) if ((p1[i]! >= 0.5) === (p3[i]! >= 0.5)) sameClass++;
        assert.ok(sameClass < ROWS, 'the regressed version changes the class of some rows');
        assert.equal(agent.shadow.stats.runs - runs0, ROWS);
        assert.equal(agent.shadow.stats.agree - agree0, sameClass);

        // The window of 1.0.0 carries both candidates once it closes.
        clock.t += 60_000;
        let ws: SummaryWindow[] = [];
        for (let i = 0; i < 100 && ws.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          ws = agent.summaries.listWindows({ model: NAME }).map((w) => w.window);
        }
        assert.equal(ws.length, 1);
        const w = SummaryWindow.parse(ws[0]);
        assert.equal(w.version, '1.0.0');
        assert.equal(w.count, 3 * ROWS);
        const byVersion = Object.fromEntries((w.shadow ?? []).map((s) => [s.version, s]));
        assert.deepEqual(Object.keys(byVersion).sort(), ['1.0.1', '3.0.0']);
        assert.deepEqual({ ...byVersion['1.0.1'], latency: undefined }, { version: '1.0.1', sampled: ROWS, dropped: 0, runs: ROWS, agree: ROWS, errors: 0, latency: undefined });
        const n3 = ROWS / 2 + ROWS;
        assert.deepEqual({ ...byVersion['3.0.0'], latency: undefined }, { version: '3.0.0', sampled: n3, dropped: 0, runs: n3, agree: expected + sameClass, errors: 0, latency: undefined });
        assert.equal(byVersion['3.0.0']!.latency.counts.reduce((a, b) => a + b, 0), n3, 'one latency sample per run');
      } finally {
        await agent.stop();
      }
    });

    it('a slow candidate drops samples (counted) instead of holding answers; a failing one counts errors; the session limit holds', async () => {
      const agent = await startAgent(join(kit.dir, 'b'), {}, { shadowLimits: { queue: 4, sessions: 1 } });
      try {
        await install(agent, slow, broken);
        await agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '4.0.0'), { sampleRate: 1 });
        await send(agent, 100, ROWS, 4);
        const s = agent.shadow.stats;
        // Every answer went out while the shadow was behind: samples still waiting or running, the rest dropped.
        assert.equal(s.sampled + s.dropped, 100);
        assert.ok(s.dropped > 0, `dropped ${JSON.stringify(s)} ${agent.shadow.queued}`);
        assert.ok(agent.shadow.queued <= 4, `queue ${agent.shadow.queued} within its bound`);
        assert.ok(s.runs + s.errors < s.sampled, `answers did not wait for the shadow (${s.runs} of ${s.sampled} run)`);
        await drained(agent);

        await agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '5.0.0'), { sampleRate: 1 });
        const before = { ...s };
        await send(agent, 20);
        await drained(agent);
        assert.equal(s.errors - before.errors, 20 - (s.dropped - before.dropped), 'every run of the broken candidate failed');
        assert.equal(s.runs, before.runs);

        // A second model's shadow would be a second candidate session: over the limit, refused, nothing kept.
        const mlp = await mlpBundle(kit, '1.0.0');
        await agent.manager.install(mlp.path);
        const mlp2 = await mlpBundle(kit, '1.0.1', { seed: 2 });
        await agent.manager.install(mlp2.path, { activate: false });
        const loaded = await agent.manager.loadInstalled('mlp', '1.0.1');
        await assert.rejects(agent.shadow.set('mlp', loaded, { sampleRate: 1 }), { code: 'OVERLOADED', message: /1 shadow sessions are loaded \(vibration-anomaly\), the limit is 1/ });
        assert.deepEqual(agent.shadow.names(), [NAME]);
        await assert.rejects(agent.shadow.set(NAME, await agent.manager.loadInstalled(NAME, '4.0.0'), { sampleRate: 0 }), { code: 'INVALID_INPUT' });
      } finally {
        await agent.stop();
      }
      assert.deepEqual(agent.shadow.names(), [], 'stop released the candidate');
    });
  });
});
