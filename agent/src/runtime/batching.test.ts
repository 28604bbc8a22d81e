// Dynamic batching on real onnxruntime sessions (runtime.ts, batcher.ts, batching.ts): batched
// requests get the same outputs as run alone, each recorded on its own; one request's bad values
// fail only that request; a model whose first dimension is not a batch stops being batched; a
// batch stays on the version its requests pinned across a swap; the queue is bounded.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMlp } from '@edgefleet/examples';
import type { AppError } from '@edgefleet/shared/core';
import type { RuntimeOverrides } from '../config.js';
import { batchPolicy } from './batching.js';
import { fp32, int64, modelFile, pickModel, seenRecorder, sumRowsModel } from './testing/fixtures.js';
import { ModelRuntime } from './runtime.js';
import type { RecordedTensor } from './recorder.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('batching', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-batching-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const mlp = randomMlp({ inputDim: 4, hidden: [16], outputDim: 3, seed: 2 });
  const rows = (n: number, k: number) => Array.from({ length: n }, (_, i) => [i + k, -i, 0.5 * i, k - i]);

  async function runtimeWith(overrides: RuntimeOverrides, o: { perModel?: number; queue?: number } = {}) {
    const recorder = seenRecorder();
    const rt = new ModelRuntime({ overrides: { backend: 'native', ...overrides }, perModel: o.perModel ?? 2, queue: o.queue ?? 64, recorder });
    return { rt, seen: recorder.seen };
  }

  describe('batchPolicy', () => {
    const m = (runtime = {}, io = mlp.io) => modelFile(dir, { name: 'p', version: '1.0.0', onnx: mlp.onnx, io, runtime }).manifest;
    it('is auto by default for a model whose inputs and outputs all have a free first dimension', () => {
      assert.deepEqual(batchPolicy(m()), { mode: 'auto', maxBatchSize: 32, maxQueueDelayUs: 500 });
    });
    it('takes the manifest values, then the agent config over them', () => {
      assert.deepEqual(batchPolicy(m({ maxBatchSize: 8, maxQueueDelayUs: 100 })), { mode: 'auto', maxBatchSize: 8, maxQueueDelayUs: 100 });
      assert.deepEqual(batchPolicy(m({ maxBatchSize: 8 }), { batching: 'on', maxBatchSize: 4, maxQueueDelayUs: 0 }), { mode: 'on', maxBatchSize: 4, maxQueueDelayUs: 0 });
    });
    it('is off when configured off, when the manifest says 1 (even if the agent config says more), or for fixed first dimensions', () => {
      assert.equal(batchPolicy(m(), { batching: 'off' }), undefined);
      assert.equal(batchPolicy(m({ maxBatchSize: 1 }), { batching: 'on', maxBatchSize: 16 }), undefined);
      assert.equal(batchPolicy(m(), { maxBatchSize: 1 }), undefined);
      assert.equal(batchPolicy(m({}, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], outputs: mlp.io.outputs })), undefined);
      assert.equal(batchPolicy(m({}, { inputs: mlp.io.inputs, outputs: [{ name: 'output', datatype: 'FP32', shape: [] }] })), undefined);
    });
  });

  describe('dynamic batching', () => {
    it('combines concurrent requests into one run; each gets its own rows, recorded on its own', async () => {
      const { rt, seen } = await runtimeWith({ batching: 'on', maxQueueDelayUs: 20_000, maxBatchSize: 16 });
      const f = modelFile(dir, { name: 'mlp', version: '1.0.0', onnx: mlp.onnx, io: mlp.io });
      try {
        await rt.switchTo(f.manifest, f.path);
        const inputs = [1, 2, 3, 1, 2].map((n, k) => rows(n, k));
        const alone: RecordedTensor[] = [];
        for (const x of inputs) alone.push((await rt.infer(rt.pin('mlp'), [fp32('input', x)])).outputs[0]!);
        seen.ok.length = 0;
        const before = rt.batchStats('mlp')!.runs;
        const together = await Promise.all(inputs.map((x) => rt.infer(rt.pin('mlp'), [fp32('input', x)])));
        assert.equal(rt.batchStats('mlp')!.runs, before + 1, 'one session run for the five requests');
        together.forEach((r, i) => {
          const o = r.outputs[0]!;
          assert.deepEqual(o.shape, [inputs[i]!.length, 3]);
          const want = alone[i]!.data as Float32Array;
          (o.data as Float32Array).forEach((x, j) => assert.ok(Math.abs(x - want[j]!) < 1e-5, `request ${i} value ${j}: ${x} vs ${want[j]}`));
        });
        assert.deepEqual(seen.ok.map((s) => s.rows), [1, 2, 3, 1, 2], 'one record per request with its own rows');
        // Each record says how much of its latency came before its run (the policy guard judges the rest):
        // the batch waited its 20 ms queue delay before running.
        for (const s of seen.ok) assert.ok(s.waitMs !== undefined && s.waitMs >= 0 && s.waitMs <= s.latencyMs, JSON.stringify([s.waitMs, s.latencyMs]));
        assert.ok(Math.max(...seen.ok.map((s) => s.waitMs ?? 0)) >= 15, 'the queue delay is wait, not run');
        assert.equal(rt.active('mlp')!.pins, 0);
      } finally {
        await rt.stop();
      }
    });

    it('auto runs a lone request alone, the requests of one event-loop turn together (also with nothing running), and queued ones together', async () => {
      const { rt } = await runtimeWith({});
      const f = modelFile(dir, { name: 'mlp', version: '1.0.1', onnx: mlp.onnx, io: mlp.io });
      try {
        await rt.switchTo(f.manifest, f.path);
        for (let i = 0; i < 3; i++) await rt.infer(rt.pin('mlp'), [fp32('input', rows(1, i))]);
        assert.equal(rt.batchStats('mlp')!.requests, 0);
        // Nothing runs; three requests in one turn share one run (decision 0044: none runs ahead alone).
        const burst = await Promise.all([0, 1, 2].map((k) => rt.infer(rt.pin('mlp'), [fp32('input', rows(1, k))])));
        assert.equal(burst.length, 3);
        assert.deepEqual(rt.batchStats('mlp'), { runs: 1, requests: 3, retried: 0 });
        assert.equal(rt.limiterFor('mlp')!.active, 0);
        // Slots held: requests queue, and leave together when one frees.
        const limiter = rt.limiterFor('mlp')!;
        assert.equal(limiter.acquire(), undefined);
        assert.equal(limiter.acquire(), undefined);
        const queued = [0, 1, 2, 3].map((k) => rt.infer(rt.pin('mlp'), [fp32('input', rows(1, k))]));
        assert.equal(rt.queueDepth('mlp'), 4);
        limiter.release();
        await Promise.all(queued);
        limiter.release();
        assert.deepEqual(rt.batchStats('mlp'), { runs: 2, requests: 7, retried: 0 });
      } finally {
        await rt.stop();
      }
    });

    it("one request's bad values fail only that request: the batch is retried member by member", async () => {
      const { rt, seen } = await runtimeWith({ batching: 'on', maxQueueDelayUs: 20_000 });
      const pick = pickModel();
      const f = modelFile(dir, { name: 'pick', version: '1.0.0', onnx: pick.onnx, io: pick.io });
      try {
        await rt.switchTo(f.manifest, f.path);
        const idx = [[0], [3], [7], [1]]; // 7 is outside the row of 4
        const results = await Promise.allSettled(idx.map((i, k) => rt.infer(rt.pin('pick'), [fp32('x', [[10 + k, 20 + k, 30 + k, 40 + k]]), int64('idx', [i])])));
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
        const values = results.map((r) => (r.status === 'fulfilled' ? Array.from(r.value.outputs[0]!.data as Float32Array) : undefined));
        assert.deepEqual(values, [[10], [41], undefined, [23]]);
        const err = (results[2] as PromiseRejectedResult).reason as AppError;
        assert.equal(err.code, 'INFERENCE_FAILED');
        assert.match(err.message, /model "pick" version "1.0.0" failed to run/);
        assert.deepEqual(rt.batchStats('pick'), { runs: 1, requests: 4, retried: 4 });
        assert.deepEqual(seen.errors.filter((e) => e.model === 'pick'), [{ model: 'pick', version: '1.0.0', code: 'INFERENCE_FAILED' }]);
        assert.equal(seen.ok.filter((s) => s.model === 'pick').length, 3);
        assert.equal(rt.active('pick')!.pins, 0);
        assert.equal(rt.limiterFor('pick')!.active, 0, 'the slot is free again');
      } finally {
        await rt.stop();
      }
    });

    it('a model whose outputs do not keep the batch rows runs its requests alone, and is not batched again', async () => {
      const { rt } = await runtimeWith({ batching: 'on', maxQueueDelayUs: 20_000 });
      const sum = sumRowsModel();
      const f = modelFile(dir, { name: 'sum', version: '1.0.0', onnx: sum.onnx, io: sum.io });
      try {
        const v = await rt.switchTo(f.manifest, f.path);
        const got = await Promise.all([[[1, 2, 3, 4]], [[10, 20, 30, 40], [1, 1, 1, 1]]].map((x) => rt.infer(rt.pin('sum'), [fp32('x', x)])));
        assert.deepEqual(got.map((r) => Array.from(r.outputs[0]!.data as Float32Array)), [[1, 2, 3, 4], [11, 21, 31, 41]]);
        assert.equal(v.batch, undefined);
      } finally {
        await rt.stop();
      }
    });

    it('a batch runs on the version its requests pinned, across a swap', async () => {
      const { rt } = await runtimeWith({ batching: 'on', maxQueueDelayUs: 200_000 });
      const other = randomMlp({ inputDim: 4, hidden: [16], outputDim: 3, seed: 9 });
      const f1 = modelFile(dir, { name: 'swap', version: '1.0.0', onnx: mlp.onnx, io: mlp.io });
      const f2 = modelFile(dir, { name: 'swap', version: '2.0.0', onnx: other.onnx, io: other.io });
      const released: string[] = [];
      try {
        const v1 = await rt.switchTo(f1.manifest, f1.path);
        const waiting = [0, 1, 2].map((k) => rt.infer(rt.pin('swap'), [fp32('input', rows(1, k))]));
        await rt.switchTo(f2.manifest, f2.path);
        assert.equal(v1.retired, true);
        assert.equal(v1.pins, 3, 'the old version is held by the waiting batch');
        const after = await rt.infer(rt.pin('swap'), [fp32('input', rows(1, 0))]);
        assert.equal(after.version, '2.0.0');
        assert.deepEqual((await Promise.all(waiting)).map((r) => r.version), ['1.0.0', '1.0.0', '1.0.0']);
        assert.equal(v1.pins, 0);
        released.push(...(v1.pins === 0 ? ['1.0.0'] : []));
      } finally {
        await rt.stop();
      }
      assert.deepEqual(released, ['1.0.0']);
    });

    it('requests waiting for a batched run are bounded as without batching: past concurrency.queue, OVERLOADED', async () => {
      const { rt, seen } = await runtimeWith({ batching: 'auto', maxBatchSize: 4 }, { perModel: 1, queue: 5 });
      const f = modelFile(dir, { name: 'mlp', version: '1.1.0', onnx: mlp.onnx, io: mlp.io });
      try {
        await rt.switchTo(f.manifest, f.path);
        const limiter = rt.limiterFor('mlp')!;
        assert.equal(limiter.acquire(), undefined); // the only slot, held
        // Five wait (a full batch of 4, then one), the sixth is refused.
        const waiting = Array.from({ length: 5 }, (_, k) => rt.infer(rt.pin('mlp'), [fp32('input', rows(1, k))]));
        assert.equal(rt.queueDepth('mlp'), 5);
        await assert.rejects(rt.infer(rt.pin('mlp'), [fp32('input', rows(1, 9))]), (e: AppError) => e.code === 'OVERLOADED' && /5 requests waiting for a run \(queue 5\)/.test(e.message));
        assert.equal(seen.errors.at(-1)?.code, 'OVERLOADED');
        limiter.release();
        assert.equal((await Promise.all(waiting)).length, 5);
        assert.deepEqual(rt.batchStats('mlp'), { runs: 1, requests: 4, retried: 0 }, 'a batch of 4, then the fifth alone');
        assert.equal(rt.active('mlp')!.pins, 0);
        assert.equal(rt.queueDepth('mlp'), 0);
      } finally {
        await rt.stop();
      }
    });
  });
});
