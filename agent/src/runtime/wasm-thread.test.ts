// The wasm backend's worker thread (wasm-thread.ts, decision 0121): a worker that dies fails the call
// waiting on it and every later one naming itself and what to do, instead of leaving them waiting forever.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { WasmThread } from './wasm-thread.js';

it('a worker that dies fails what waits and every later call, naming itself', async () => {
  const thread = new WasmThread(import.meta.resolve('onnxruntime-web'));
  try {
    assert.match(await thread.ready, /^\d+\.\d+\.\d+/);
    // An op the worker does not know throws outside any call: the worker dies of it.
    await assert.rejects(thread.call('no-such-op', {}), /^Error: the wasm backend's worker thread stopped \(.*\): restart the agent$/);
    await assert.rejects(thread.call('release', { session: 1 }), /the wasm backend's worker thread stopped/);
  } finally {
    await thread.close();
  }
});
