// awaitFlag: how the hub's thread waits for the PostgreSQL worker's answer (worker-link.ts). A notify that
// is not this statement's answer (the previous answer's notify, late because the worker thread was
// preempted between its store and its notify) must not end the wait: CI once read "the PostgreSQL
// worker woke the hub without an answer" that way. Real threads, no fakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { awaitFlag } from './facade.js';

// Wakes the waiter without setting the flag (the stale notify), then sets the flag and notifies.
const STALE_THEN_ANSWER = `
  const { workerData: { flag, woken } } = require('node:worker_threads');
  const s = new Int32Array(flag), w = new Int32Array(woken), nap = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(nap, 0, 0, 100);
  Atomics.store(w, 0, Atomics.notify(s, 0));
  Atomics.wait(nap, 0, 0, 100);
  Atomics.store(s, 0, 1);
  Atomics.notify(s, 0);
`;

test('awaitFlag: a wake without the flag set is not an answer; it returns once the flag is set', async () => {
  const flag = new SharedArrayBuffer(4);
  const woken = new SharedArrayBuffer(4);
  const signal = new Int32Array(flag);
  const worker = new Worker(STALE_THEN_ANSWER, { eval: true, workerData: { flag, woken } });
  try {
    const started = performance.now();
    assert.equal(awaitFlag(signal, 10_000), true);
    assert.equal(Atomics.load(signal, 0), 1, 'returned with the flag set');
    assert.equal(new Int32Array(woken)[0], 1, 'the stale notify did wake this thread once (the case under test)');
    assert.ok(performance.now() - started >= 150, 'waited past the stale notify for the answer');
  } finally {
    await worker.terminate();
  }
});

test('awaitFlag: false when nothing answers within the deadline; true at once when the flag is already set', () => {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const started = performance.now();
  assert.equal(awaitFlag(signal, 50), false);
  assert.ok(performance.now() - started >= 49);
  Atomics.store(signal, 0, 1);
  assert.equal(awaitFlag(signal, 10_000), true);
});
