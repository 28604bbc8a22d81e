import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchingGoal } from './batch-goal.js';

test('batchingGoal: >= 1.5x where a row\'s run is at least half the floor\'s request, >= 1.0x below', () => {
  // The figures of decision 0054: mlp-wide and the example MLP on this machine.
  const wide = batchingGoal(291.6, 425.6);
  assert.ok(Math.abs(wide.share - 0.685) < 1e-3);
  assert.deepEqual({ d: wide.inferenceDominates, t: wide.throughput, p: wide.p99 }, { d: true, t: 1.5, p: 1.5 });
  const example = batchingGoal(65, 183.2);
  assert.deepEqual({ d: example.inferenceDominates, t: example.throughput, p: example.p99 }, { d: false, t: 1.0, p: 1.5 });
  // The boundary belongs to "inference dominates".
  assert.equal(batchingGoal(100, 200).throughput, 1.5);
  assert.equal(batchingGoal(99.9, 200).throughput, 1.0);
});

test('batchingGoal refuses readings that cannot be a CPU time', () => {
  assert.throws(() => batchingGoal(0, 100), /expected positive finite CPU times, got a run of 0 µs/);
  assert.throws(() => batchingGoal(50, Number.NaN), /floor request of NaN µs/);
  assert.throws(() => batchingGoal(Infinity, 100), /expected positive finite/);
});
